// The engine's ABI: configuration calls, the run loop in bounded slices, and
// pointers to the sample and trace buffers. Only numbers cross this boundary; the
// SDK (sdk/engine.ts) is the one caller. One instance simulates one shard.

import { CtTimeout, HostParam, NatStat, RunStatus, Stat, WlParam } from "./abi";
import {
  applyVerdicts as apply, hookDue, hookPtr as hPtr, hooksReset, pendingHooks, setHookEpoch as setEpoch, verdictPtr as vPtr,
  setWorkloadEpoch as setWlEpoch, workloadBatchDone as wlDone, workloadDue, workloadHooked,
} from "./hooks";
import {
  addArrivals as fileArrivals, appsReset, holdEnds, appsStart, arrival, arrivalDue, arrivalsBuffer, addWorkload as newWorkload, outcomesPtr as outcomesTable,
  setWorkloadParam as setWp, nWorkloads, wp, addDestination as newDestination, destinationCount, destinationDir, destinationPort,
} from "./apps";
import { alloc as allocBytes, DEBUG, heapBytes, memoryBytes, releasedBytes, setMemoryLimit as setLimit } from "./mem";
import { brokenAt, checkInvariants as check, expected, found } from "./invariants";
import {
  drainSamples as drainS, drainTrace as drainT, metricsReset, setExtraColumns, samplesPtr as sPtr, samplesRows, setStat,
  setTraceFirst, stat as readStat, takeSample, traceCount as tCount, tracePtr as tPtr, rowWords, handling, keyed, keyTrace as keyT, traceKeysPtr as tkPtr,
} from "./metrics";
import {
  addHost as newHost, addIp as newIp, addLink as newLink, addListener as newListener, addRule as newRule,
  dirForwards, freeSegment, netReset, takeSegment, sgDir, portTwTable, portUseTable, setListenerUdp as setUdp, reservePorts as reserve, setHostParam as setHp, setListenerLife as setLife, setListenerAccept as setAccept,
  setLoss as setLossKernel, setDuplicate as setDup, sgFate, hostParam, nDirs, nHosts, nIps, nListeners, ipHost, dirSrc, dirDst,
  setRemote as markRemote, outboxPtr as outPtr, outboxCount as outCount, outboxClear as outClear, receive as receiveSegment, sgAt, sgOrder,
  SEGMENT_RECORD_BYTES, MAX_PARTS, outboxEarliest as outEarliestAt,
} from "./net";
import { ipIdx as sockIp, capacity, hashBytes, live, setDackEvent, setTimerEvent, SLOT_BYTES, socketsReset, socketTableBytes, timeWaitTableBytes, twLive, whyBooksOn } from "./sockets";
import {
  dackFires, EV_ARRIVAL, EV_CLOSE, EV_HOLD, EV_LISTENER, EV_SEGMENT, EV_TIMER, listenerEvent, listenersStart, segmentArrives, setArrivingCopy, timerFires, twDue,
  whyFinish as whyEnd,
} from "./tcp";
import { EV_DACK } from "./delack";
import { closeDue, workloadHost } from "./apps";
import { ARRIVAL_LANES, FLIGHT_LANES, firstAt, firstLane, firstOrder, lanesReset, lanesStart, TIME_WAIT_LANES } from "./lanes";
import { addNat as newNat, setNatTakeover as setTakeover, setNatReset as setReset, setNatScan as setScan, setNatBlock as setBlock, addPublic, addRoute as newRoute, natReset, natArrives, natSampleWords, writeNatSample } from "./nat/nat";
import { conntrackReset, conntrackStart, ctExpire, EV_CONNTRACK, natStat as readNatStat, nNats, setCtTimeout, setNatHz, setNatMax } from "./nat/conntrack";
import {
  actAs, advance, cascade, dueSeq, evGen, evHost, evKind, evSeq, evTarget, findNext, horizon, isFound, nextDeadline, nextLevel, now, popDue, release, scheduleNumbered,
  setDropHook, setHorizon, wheelHosts, wheelReset, eventBytes, timeWaitQueueBytes,
} from "./wheel";

/** A cancelled timer was dropped: its socket has no event filed any more. */
function timerDropped(kind: u32, target: u32): void {
  if (kind == EV_DACK) setDackEvent(target, 0);
  else if (kind == EV_TIMER) setTimerEvent(target, 0);
}

let durationUs: u64 = 0;
/** A run split over workers: run() stops before any event at or after this time (u64.MAX_VALUE: never). */
let windowEnd: u64 = u64.MAX_VALUE;
let sampleUs: u64 = 0;
let sampleIndex: u32 = 0;
let started = false;

export function reset(seedHi: u32, seedLo: u32, socketCapacity: u32): void {
  const seed = (<u64>seedHi << 32) | <u64>seedLo;
  lanesReset();
  wheelReset(max(socketCapacity, 1024));
  setDropHook(timerDropped);
  socketsReset(max(socketCapacity, 1024));
  netReset(seed, 1024);
  metricsReset();
  hooksReset();
  appsReset();
  conntrackReset();
  natReset();
  sampleIndex = 0;
  started = false;
  windowEnd = u64.MAX_VALUE;
}

// Configuration checks every index it is given against its table, and ends before the
// run starts (the lanes' heap is sized then): no call writes outside a table.
function configuring(): void { if (started) abort("engine configuration: the run has started"); }
function hostIndex(h: u32): void { if (h >= nHosts) abort("engine configuration: no such host"); }
function listenerIndex(l: u32): void { if (l >= nListeners) abort("engine configuration: no such listener"); }
function dirIndex(d: u32): void { if (d >= nDirs) abort("engine configuration: no such link direction"); }

export function addHost(stream: u32): u32 { configuring(); return newHost(stream); }
export function setHostParam(h: u32, k: i32, v: f64): void {
  hostIndex(h);
  if (<u32>k >= <u32>HostParam.COUNT) abort("engine configuration: no such host parameter");
  setHp(h, k, <u32>v);
}
export function addIp(h: u32, addr: u32): u32 { configuring(); hostIndex(h); return newIp(h, addr); }
export function addListener(ip: u32, port: u32, backlog: u32): u32 {
  configuring();
  if (ip >= nIps) abort("engine configuration: no such address");
  if (port > 65535) abort("engine configuration: a port above 65535");
  return newListener(ip, port, backlog);
}
/** The application accept()s every `interval` us (0: at once); the accept queue holds `entries`. */
export function setListenerAccept(l: u32, interval: f64, entries: u32): void {
  configuring(); listenerIndex(l);
  if (entries < 1) abort("engine configuration: an accept queue of no entries");
  setAccept(l, <u32>interval, entries);
}
export function setListenerUdp(l: u32): void { configuring(); listenerIndex(l); setUdp(l); }
export function reservePorts(h: u32, lo: u32, hi: u32): void { hostIndex(h); reserve(h, lo, hi); }
export function setListenerLife(l: u32, start: f64, stop: f64, retry: f64, reuseAddr: u32): void {
  configuring(); listenerIndex(l);
  setLife(l, <u64>start, <u64>stop, <u32>retry, reuseAddr != 0);
}
export function addLink(a: u32, b: u32, latAB: f64, latBA: f64, stream: u32): u32 {
  configuring(); hostIndex(a); hostIndex(b);
  return newLink(a, b, <u32>latAB, <u32>latBA, stream);
}
export function setLoss(dir: u32, kind: u32, p0: f64, p1: f64, p2: f64, p3: f64): void { dirIndex(dir); setLossKernel(dir, kind, p0, p1, p2, p3); }
/** Direction `dir` copies a segment whose flags & mask == value with probability p, the copy `shape`'s delay (a, b us: net.ts DUP_*) later. */
export function setDuplicate(dir: u32, p: f64, shape: u32, a: f64, b: f64, mask: u32, value: u32, stream: u32): void {
  configuring(); dirIndex(dir);
  setDup(dir, p, shape, a, b, mask, value, <u64>stream);
}
/** Keeps the "why" books (unwanted sockets' hold times, deadlocks counted once): before the run. */
export function setWhyBooks(): void { configuring(); whyBooksOn(); }
/** Counts what the run leaves behind (Stat.NeverClosed, unwanted sockets still held): once, after the last slice. */
export function whyFinish(): void { whyEnd(durationUs); }
export function addRule(dir: u32, mask: u32, value: u32, senderState: i32, conn: i32, nth: u32, action: u32, delay: f64): u32 {
  configuring(); dirIndex(dir);
  return newRule(dir, mask, value, senderState, conn, nth, action, <u32>delay);
}
/** Host h forwards as a NAT (after its links are added): SNAT to ports lo-hi, at most `most` conntrack entries (0: no limit). */
export function setNatTakeover(k: u32, on: u32): void {
  configuring();
  if (k >= nNats) abort("engine configuration: no such NAT");
  setTakeover(k, on != 0);
}
/** NAT k answers an inside host's TCP packet for a flow it has no entry for with an RST (on != 0), or drops it (Linux). */
export function setNatReset(k: u32, on: u32): void {
  configuring();
  if (k >= nNats) abort("engine configuration: no such NAT");
  setReset(k, on != 0);
}
/** NAT k's port search tries its whole range (on != 0), or Linux's rounds of random runs. */
export function setNatScan(k: u32, on: u32): void {
  configuring();
  if (k >= nNats) abort("engine configuration: no such NAT");
  setScan(k, on != 0);
}
/** Inside host h of NAT k takes its public ports from n ports from `first` on the NAT's j-th public address (a cloud gateway's per-VM block). */
export function setNatBlock(k: u32, h: u32, j: u32, first: u32, n: u32): void {
  configuring(); hostIndex(h);
  if (k >= nNats) abort("engine configuration: no such NAT");
  setBlock(k, h, j, first, n);
}
export function addNat(h: u32, lo: u32, hi: u32, most: u32, stream: u32): u32 {
  configuring(); hostIndex(h);
  if (lo > hi || hi > 65535) abort("engine configuration: a NAT's port range is not within 0-65535");
  const k = newNat(h, lo, hi, stream);
  setNatMax(k, most);
  setNatHz(k, hostParam(h, HostParam.Hz));
  setExtraColumns(natSampleWords(), writeNatSample);
  return k;
}
export function addNatAddress(k: u32, addr: u32): void {
  configuring();
  if (k >= nNats) abort("engine configuration: no such NAT");
  addPublic(k, addr);
  setExtraColumns(natSampleWords(), writeNatSample);
}
/** A conntrack timeout of NAT k (CtTimeout index), us. */
export function setNatTimeout(k: u32, i: u32, us: f64): void {
  if (k >= nNats) abort("engine configuration: no such NAT");
  if (i >= <u32>CtTimeout.COUNT) abort("engine configuration: no such conntrack timeout");
  setCtTimeout(k, i, <u64>us);
}
/** Forwarding host h sends packets for address `addr` over direction d. */
export function addRoute(h: u32, addr: u32, d: u32): void {
  configuring(); hostIndex(h); dirIndex(d);
  newRoute(h, addr, d);
}
export function natStat(k: u32, i: u32): f64 { return k < nNats && i < <u32>NatStat.COUNT ? readNatStat(k, i) : 0; }
export function addWorkload(stream: u32): u32 { configuring(); return newWorkload(stream); }
export function setWorkloadParam(w: u32, k: i32, v: f64): void {
  if (w >= nWorkloads) abort("engine configuration: no such workload");
  if (<u32>k >= <u32>WlParam.COUNT) abort("engine configuration: no such workload parameter");
  setWp(w, k, v);
}

/** A destination a workload takes in turn with others (WlParam.DstFirst, Dests): its index. */
export function addDestination(addr: u32, port: u32, dir: u32): u32 { configuring(); dirIndex(dir); return newDestination(addr, port, dir); }

/** As the run starts: what hosts and workloads point at is in the tables; the lanes' heap takes every lane. */
function start(): void {
  for (let w: u32 = 0; w < nWorkloads; w++) {
    if (wp(w, WlParam.SrcIp) >= <f64>nIps || wp(w, WlParam.Dir) >= <f64>nDirs || wp(w, WlParam.DstPort) > 65535 || wp(w, WlParam.LocalPort) > 65535) {
      abort("engine configuration: a workload's address, direction or port is not in the tables");
    }
    const sources = max(<u32>wp(w, WlParam.Sources), 1);
    const first = <u32>wp(w, WlParam.DstFirst), dests = <u32>wp(w, WlParam.Dests);
    if (<u32>wp(w, WlParam.SrcIp) + sources > nIps || <u64>first + <u64>dests > <u64>destinationCount()) {
      abort("engine configuration: a workload's sources or destinations are not in the tables");
    }
    for (let i: u32 = 0; i < sources; i++) {
      if (ipHost(<u32>wp(w, WlParam.SrcIp) + i) != <u32>wp(w, WlParam.SrcHost)) abort("engine configuration: a workload's source address is another host's");
    }
    for (let i = first; i < first + dests; i++) {
      if (destinationPort(i) > 65535 || dirSrc(destinationDir(i)) != <u32>wp(w, WlParam.SrcHost)) abort("engine configuration: a workload's destination is not reached from its host");
    }
  }
  for (let h: u32 = 0; h < nHosts; h++) { // (ports index the port tables)
    if (hostParam(h, HostParam.PortLo) > hostParam(h, HostParam.PortHi) || hostParam(h, HostParam.PortHi) > 65535) {
      abort("engine configuration: a host's port range is not within 0-65535");
    }
  }
  lanesStart(nDirs + nHosts + nWorkloads);
  wheelHosts(nHosts);
  conntrackStart();
  setExtraColumns(natSampleWords(), writeNatSample); // (with the hosts' count, now final)
  started = true;
  listenersStart();
  appsStart();
}

export function setRun(duration: f64, sample: f64, traceFirst: u32): void {
  durationUs = <u64>duration;
  sampleUs = <u64>sample;
  setTraceFirst(traceFirst);
}

/** Segments a hook dropped and stale TIME_WAIT entries during this run() call: they took budget but are no events. */
let dropped: u32 = 0;

/** A segment arrives (or, dropped by a hook, is freed without being an event). */
@inline function deliver(g: u32): void {
  if (sgFate(g) != 0) {
    if (DEBUG) assert(sgFate(g) == 2, "a segment arrived before its hook decided");
    freeSegment(g); // a hook dropped it
    dropped++;
    return;
  }
  const k = dirForwards(sgDir(g));
  if (k != 0) { natArrives(g, k - 1); return; }
  segmentArrives(g);
}

/**
 * Counts a run() call's events in the stats as it returns. Every event takes one of the
 * budget, and so does a segment a hook dropped or a stale TIME_WAIT entry: only those and
 * the events that are not segment arrivals are counted as they happen, none of the arrivals.
 */
@inline function counted(fired: u32, others: u32, status: i32): i32 {
  const events = <f64>(fired - dropped);
  setStat(Stat.Events, readStat(Stat.Events) + events);
  setStat(Stat.SegmentEvents, readStat(Stat.SegmentEvents) + events - <f64>others);
  return status;
}

/**
 * When the next sample is taken: on the grid (index x sample) up to the end, and one
 * more at the end itself when it is off the grid, so the last interval is never lost
 * (its row keeps the next grid index; the SDK reads its time as min(index x sample,
 * duration)). u64.MAX_VALUE when every sample is taken.
 */
function nextSampleAt(): u64 {
  const at = <u64>sampleIndex * sampleUs;
  if (at <= durationUs) return at;
  if (sampleIndex > 0 && at - sampleUs < durationUs) return durationUs;
  return u64.MAX_VALUE;
}

/** The time from which run() must look at more than the next event: a sample, a hook or workload batch, the end. */
function stopAt(): u64 {
  let t = min(durationUs, windowEnd);
  const sampleAt = nextSampleAt();
  if (sampleAt < t) t = sampleAt;
  if (workloadHooked() && workloadDue < t) t = workloadDue;
  return t;
}

/**
 * Runs until `maxEvents` events have fired or the run is over; returns 1 while there
 * is more to do, 0 when finished. A sample at time T sees every event before T.
 *
 * Two sources are merged: the wheel's events and the lanes' items (lanes.ts: segments
 * in flight, TIME_WAIT expiries, workload arrivals), by time and, at one time, by filing
 * number, so events fire exactly as if every one had been a wheel event. A wheel slot
 * above level 0 that starts at the time of the lanes' first item is cascaded first (it
 * may hold events filed before that item). Only when the next event is not before
 * `stop` (or hooks are pending) are samples, batches and the end looked at.
 */
export function run(maxEvents: u32): i32 {
  if (!started) start();
  let budget = maxEvents;
  let others: u32 = 0; // events other than segment arrivals
  dropped = 0;
  let stop = stopAt();
  while (true) {
    findNext();
    // The lanes' first item before the wheel's next event? (With nothing filed,
    // nextDeadline is u64.MAX_VALUE and nextLevel -1; the tests as branches, not && / ||
    // chains: binaryen folds those into selects computed in full, and V8 spills the bools.)
    let lane = false;
    if (firstAt < nextDeadline) lane = true;
    else if (firstAt == nextDeadline) {
      if (nextLevel == 0) lane = firstOrder < dueSeq();
    }
    const at = lane ? firstAt : nextDeadline; // u64.MAX_VALUE when nothing is pending
    if (at >= stop || pendingHooks > 0) {
      const any = at != u64.MAX_VALUE;
      // Hooked workloads' arrivals are filed a window ahead of the clock: a due window is pending work.
      const windowDue = workloadHooked() && workloadDue < durationUs;
      const sampleAt = nextSampleAt();
      if (sampleAt != u64.MAX_VALUE && sampleAt <= windowEnd && (!any || at >= sampleAt) && (!windowDue || workloadDue >= sampleAt)) {
        takeSample(sampleIndex++);
        stop = stopAt();
        continue;
      }
      // Undecided segments are decided before any of them could arrive (hooks.ts).
      if (pendingHooks > 0 && (!any || at >= durationUs || at >= hookDue())) return counted(maxEvents - budget, others, RunStatus.HookBatch);
      if (windowDue && (!any || at >= workloadDue)) return counted(maxEvents - budget, others, RunStatus.WorkloadBatch);
      // Split over workers: segments from other parts may still come, at the window's end or later.
      if (windowEnd < durationUs && (!any || at >= windowEnd)) return counted(maxEvents - budget, others, RunStatus.Window);
      if (!any || at >= durationUs) return counted(maxEvents - budget, others, RunStatus.Done);
    }
    if (!lane) { if (nextLevel > 0) { cascade(); continue; } }
    if (budget == 0) return counted(maxEvents - budget, others, RunStatus.More);
    if (lane) {
      // Items in a row: while the next one still comes before the horizon (the wheel's
      // next event and `stop`, lowered by whatever is filed before it meanwhile) and no
      // hook is pending, it is taken without going round the checks again.
      setHorizon(isFound() ? min(stop, nextDeadline) : 0);
      let t = firstAt;
      while (true) {
        budget--;
        advance(t);
        const l = firstLane();
        if (keyed) handling(firstOrder);
        if (l < FLIGHT_LANES) {
          actAs(dirDst(l));
          deliver(takeSegment());
        } else if (l < ARRIVAL_LANES) {
          const h = l - TIME_WAIT_LANES;
          actAs(h);
          if (twDue(h)) others++; else dropped++; // a stale entry is no event
        } else {
          others++;
          actAs(workloadHost(l - ARRIVAL_LANES));
          arrivalDue();
        }
        t = firstAt;
        if (budget == 0) break;
        if (t >= horizon) break;
        if (pendingHooks != 0) break;
      }
      continue;
    }
    while (budget > 0) {
      const e = popDue();
      if (e == 0) break;
      budget--;
      const kind = evKind(e); const target = evTarget(e); const g = evGen(e);
      // The host it happens on: a segment's receiver, else the host that filed it (its own).
      actAs(kind == EV_SEGMENT ? dirDst(sgDir(target)) : evHost(e));
      if (keyed) handling(evSeq(e));
      if (DEBUG) { if (kind == EV_TIMER || kind == EV_DACK) assert(ipHost(sockIp(target)) == evHost(e), "a socket's timer filed by another host"); }
      release(e);
      if (kind == EV_SEGMENT) {
        setArrivingCopy(true); // a delayed duplicate
        deliver(target);
        setArrivingCopy(false);
      } else {
        others++;
        if (kind == EV_TIMER) {
          timerFires(target);
        } else if (kind == EV_ARRIVAL) {
          arrival(target, g);
        } else if (kind == EV_LISTENER) {
          listenerEvent(target, g);
        } else if (kind == EV_DACK) {
          dackFires(target);
        } else if (kind == EV_CLOSE) {
          closeDue(target);
        } else if (kind == EV_CONNTRACK) {
          ctExpire(target);
        } else if (kind == EV_HOLD) {
          holdEnds(target, g);
        }
      }
      // A lane's item now: which comes first is decided above. A slot popDue emptied
      // is not looked at again (nothing filed meanwhile can be in it but at `now`, which
      // findNext finds as well).
      if (firstAt == now) break;
      if (!isFound()) break;
    }
  }
  return 0;
}

export function nowUs(): f64 { return <f64>now; }
export function setHookEpoch(us: f64): void { setEpoch(<u64>us); }
export function setWorkloadEpoch(us: f64): void { setWlEpoch(<u64>us); }
/** The start of the window whose arrivals RunStatus.WorkloadBatch asks for, us. */
export function workloadWindow(): f64 { return <f64>workloadDue; }
export function arrivalsPtr(n: u32): usize { return arrivalsBuffer(n); }
export function addArrivals(w: u32, n: u32): void {
  if (w >= nWorkloads) abort("engine configuration: no such workload");
  fileArrivals(w, n);
}
export function workloadBatchDone(): void { wlDone(); }
/** u32 [workload][Outcome]: what each workload's connections came to so far. */
export function outcomesPtr(): usize { return outcomesTable(); }
export function hookCount(): u32 { return pendingHooks; }
export function hookPtr(): usize { return hPtr(); }
export function verdictPtr(): usize { return vPtr(); }
export function applyVerdicts(): void { apply(); }
export function setMemoryLimit(bytes: f64): void { setLimit(<usize>min(bytes, 4294967295.0)); }
/** 0, or the number of the first broken invariant (invariants.ts); invariantDetail(0..2) says where and what. */
export function checkInvariants(): i32 { return check(); }
export function invariantDetail(k: i32): u32 { return k == 0 ? brokenAt : k == 1 ? expected : found; }
export function stat(k: i32): f64 {
  if (k == Stat.LiveSockets) return <f64>(live + twLive);
  if (k == Stat.SocketCapacity) return <f64>capacity();
  if (k == Stat.MemoryBytes) return memoryBytes();
  return readStat(k);
}
export function socketSlotBytes(): u32 { return SLOT_BYTES; }
/**
 * Where the engine's memory goes, bytes: 0 socket slots' columns, 1 the 4-tuple hash (and
 * its arrival cache), 2 the compact TIME_WAIT table, 3 the TIME_WAIT FIFO, 4 the timer
 * events, 5 all blocks handed out, 6 of those, given back and not yet used again.
 */
export function tableBytes(k: i32): f64 {
  if (k == 0) return socketTableBytes();
  if (k == 1) return hashBytes();
  if (k == 2) return timeWaitTableBytes();
  if (k == 3) return timeWaitQueueBytes();
  if (k == 4) return eventBytes();
  if (k == 5) return heapBytes();
  if (k == 6) return releasedBytes();
  return 0;
}
export function sampleRowWords(): u32 { return rowWords(); }
export function samplesPtr(): usize { return sPtr(); }
export function samplesCount(): u32 { return samplesRows(); }
export function drainSamples(): void { drainS(); }
/** Per address, sockets holding each port (bit 15: a listener) and those in TIME_WAIT. */
export function portsPtr(ip: u32): usize { return ip < nIps ? portUseTable(ip) : 0; }
export function portsTwPtr(ip: u32): usize { return ip < nIps ? portTwTable(ip) : 0; }
export function tracePtr(): usize { return tPtr(); }
export function traceCount(): u32 { return tCount(); }
export function drainTrace(): void { drainT(); }

// ---- a run split over workers (sdk/pdes.ts; net.ts says how segments cross) -------------
/** Trace records keep the time and filing number of the event that wrote them (traceKeysPtr): a part's records merge with the others'. */
export function keyTrace(): void { keyT(); }
export function traceKeysPtr(): usize { return tkPtr(); }
/** Host h is simulated by another instance, part `part` (configuration, after the links and hosts). */
export function setRemote(h: u32, part: u32): void {
  configuring(); hostIndex(h);
  if (part >= MAX_PARTS) abort("engine configuration: at most 64 parts");
  markRemote(h, part);
}
/** run() stops before any event at or after `us` (a window's end), unless that is past the run's end. */
export function setWindowEnd(us: f64): void { windowEnd = <u64>us; }
/** The time of the earliest pending event here, us (the end of the run when none is): where the next window may start. */
export function nextEventAt(): f64 {
  if (!started) start();
  findNext();
  const t = min(firstAt, nextDeadline);
  return <f64>min(t, durationUs);
}
export function outboxPtr(p: u32): usize { return outPtr(p); }
/** The earliest arrival in the outboxes, us (the run's end when none). */
export function outboxEarliest(): f64 { return <f64>min(outEarliestAt(), durationUs); }
export function outboxCount(p: u32): u32 { return outCount(p); }
export function outboxClear(): void { outClear(); }
/** Room for n posted records, where the SDK copies those for this instance's hosts. */
let INBOX: usize = 0; let inboxCap: u32 = 0;
export function inboxPtr(n: u32): usize {
  if (n > inboxCap) { inboxCap = max(n, inboxCap * 2); INBOX = allocBytes(<usize>inboxCap * SEGMENT_RECORD_BYTES); }
  return INBOX;
}
/** Takes in the n records written at inboxPtr(): each goes in flight on its direction, or (a delayed copy) into the wheel. */
export function receive(n: u32): void {
  if (!started) start();
  for (let i: u32 = 0; i < n; i++) {
    const g = receiveSegment(INBOX + <usize>i * SEGMENT_RECORD_BYTES);
    if (g != 0xFFFFFFFF) scheduleNumbered(sgAt(g), EV_SEGMENT, g, 0, sgOrder(g));
  }
}


// The TypeScript kernel: a port of the WebAssembly engine (assembly/*.ts) to plain
// TypeScript over typed arrays, for the "engine core" benchmark. It has the
// engine's ABI (assembly/index.ts), so sdk/engine.ts `configure(e, plan)` loads a
// plan into it exactly as into the WASM instance; only the sample and trace
// buffers are read differently (views instead of pointers into linear memory).
// Like the engine, the state is module-global: one kernel per module instance.

import { Stat, WlParam } from "../../assembly/abi.js";
import { appsBytes, appsReset, appsStart, arrival, arrivalDue, addWorkload as newWorkload, setWorkloadParam as setWp, wp } from "./apps.js";
import {
  drainSamples as drainS, drainTrace as drainT, metricsBytes, metricsReset, samplesRows, samplesView as sView, setStat,
  setTraceFirst, stat as readStat, takeSample, traceCount as tCount, traceView as tView, rowWords,
} from "./metrics.js";
import {
  addHost as newHost, addIp as newIp, addLink as newLink, addListener as newListener, addRule as newRule,
  setListenerLife as setLife, reservePorts as reserve,
  freeSegment, netBytes, sgFate, takeSegment, netReset, setHostParam as setHp, setLoss as setLossKernel, dirDst, nHosts, sgDir,
} from "./net.js";
import { capacity, live, setDackEvent, setTimerEvent, peakLive as peak, SLOT_BYTES, socketBytes, socketsReset } from "./sockets.js";
import { dackFires, EV_ARRIVAL, EV_LISTENER, EV_SEGMENT, EV_TIMER, listenerEvent, listenersStart, segmentArrives, timerFires, twDue } from "./tcp.js";
import { EV_DACK } from "./delack.js";
import { ARRIVAL_LANES, FLIGHT_LANES, firstAt, firstLane, firstOrder, lanesBytes, lanesReset, TIME_WAIT_LANES } from "./lanes.js";
import {
  actAs, advance, cascade, dueSeq, evGen, evHost, evKind, evTarget, findNext, horizon, isFound, nextDeadline, nextLevel, now, popDue, release, setDropHook, setHorizon,
  wheelBytes, wheelHosts, wheelReset,
} from "./wheel.js";

/** A cancelled timer was dropped: its socket has no event filed any more. */
function timerDropped(kind: number, target: number): void {
  if (kind === EV_DACK) setDackEvent(target, 0);
  else setTimerEvent(target, 0);
}

let durationUs = 0;
let sampleUs = 0;
let sampleIndex = 0;
let started = false;

/** f64 -> u32 as the engine's `<u32>v` (truncating, saturating). */
function u32(v: number): number { return v >= 4294967295 ? 4294967295 : v > 0 ? Math.trunc(v) : 0; }
/** f64 -> u64 kept as a number (exact up to 2^53, far beyond the wheel's 2^42 horizon). */
function u64(v: number): number { return v > 0 ? Math.trunc(v) : 0; }

export function reset(seedHi: number, seedLo: number, socketCapacity: number): void {
  const seed = (BigInt(seedHi >>> 0) << 32n) | BigInt(seedLo >>> 0);
  const c = Math.max(socketCapacity >>> 0, 1024);
  lanesReset();
  wheelReset(c);
  setDropHook(timerDropped);
  socketsReset(c);
  netReset(seed, 1024);
  metricsReset();
  appsReset();
  sampleIndex = 0;
  started = false;
}

export function addHost(stream: number): number { return newHost(stream >>> 0); }
export function setHostParam(h: number, k: number, v: number): void { setHp(h, k, u32(v)); }
export function addIp(h: number, addr: number): number { return newIp(h, addr >>> 0); }
export function addListener(ip: number, port: number, backlog: number): number { return newListener(ip, port, backlog); }
export function reservePorts(h: number, lo: number, hi: number): void { reserve(h, lo >>> 0, hi >>> 0); }
export function setListenerLife(l: number, start: number, stop: number, retry: number, reuseAddr: number): void {
  setLife(l, u64(start), u64(stop), u32(retry), reuseAddr !== 0);
}
export function addLink(a: number, b: number, latAB: number, latBA: number, stream: number): number { return newLink(a, b, u32(latAB), u32(latBA), stream >>> 0); }
export function setLoss(dir: number, kind: number, p0: number, p1: number, p2: number, p3: number): void { setLossKernel(dir, kind, p0, p1, p2, p3); }
export function addRule(dir: number, mask: number, value: number, senderState: number, conn: number, nth: number, action: number, delay: number): number {
  return newRule(dir, mask, value, senderState, conn, nth, action, u32(delay));
}
export function addWorkload(stream: number): number { return newWorkload(stream >>> 0); }
export function setWorkloadParam(w: number, k: number, v: number): void { setWp(w, k, v); }

export function setRun(duration: number, sample: number, traceFirst: number): void {
  durationUs = u64(duration);
  sampleUs = u64(sample);
  setTraceFirst(traceFirst >>> 0);
}

/** Stale TIME_WAIT entries during this run() call (and segments a hook dropped: none here, hooks are not ported). */
let dropped = 0;

/** A segment arrives. */
function deliver(g: number): void {
  if (sgFate(g) !== 0) { freeSegment(g); dropped++; return; }
  segmentArrives(g);
}

/** Counts a run() call's events as it returns: the budget it took, less dropped segments; less other events for the segment events. */
function counted(fired: number, others: number, status: number): number {
  const events = fired - dropped;
  setStat(Stat.Events, readStat(Stat.Events) + events);
  setStat(Stat.SegmentEvents, readStat(Stat.SegmentEvents) + events - others);
  return status;
}

/** The time from which run() must look at more than the next event: a sample, the end. */
function stopAt(): number {
  const sampleAt = nextSampleAt();
  return sampleAt < durationUs ? sampleAt : durationUs;
}
/** The next sample's time: on the grid up to the end, then once at the end when it is off the grid (as the engine). */
function nextSampleAt(): number {
  const at = sampleIndex * sampleUs;
  if (at <= durationUs) return at;
  if (sampleIndex > 0 && at - sampleUs < durationUs) return durationUs;
  return Infinity;
}

/**
 * Runs until `maxEvents` events have fired or the run is over; returns 1 while there
 * is more to do, 0 when finished. A sample at time T sees every event before T.
 * The wheel's events and the lanes' items (segments in flight, TIME_WAIT expiries,
 * workload arrivals) are merged by time, then filing number; samples and the end are
 * looked at only from `stop` on.
 */
export function run(maxEvents: number): number {
  if (!started) { wheelHosts(nHosts); started = true; listenersStart(); appsStart(); }
  let budget = maxEvents >>> 0;
  let others = 0;
  dropped = 0;
  let stop = stopAt();
  while (true) {
    const has = findNext();
    // The lanes' first item before the wheel's next event?
    const lane = has
      ? firstAt < nextDeadline || (firstAt === nextDeadline && nextLevel === 0 && firstOrder < dueSeq())
      : firstAt !== Infinity;
    const at = lane ? firstAt : nextDeadline;
    if (at >= stop) {
      const any = has || lane;
      const sampleAt = nextSampleAt();
      if (sampleAt !== Infinity && (!any || at >= sampleAt)) {
        takeSample(sampleIndex++);
        stop = stopAt();
        continue;
      }
      if (!any || at >= durationUs) return counted(maxEvents - budget, others, 0);
    }
    if (!lane && nextLevel > 0) { cascade(); continue; }
    if (budget === 0) return counted(maxEvents - budget, others, 1);
    if (lane) {
      // Items in a row, while the next still comes before the horizon (the wheel's next
      // event and `stop`, lowered by whatever is filed before it).
      setHorizon(isFound() ? Math.min(stop, nextDeadline) : 0);
      let t = firstAt;
      while (true) {
        budget--;
        advance(t);
        const l = firstLane();
        if (l < FLIGHT_LANES) {
          actAs(dirDst(l));
          deliver(takeSegment());
        } else if (l < ARRIVAL_LANES) {
          const h = l - TIME_WAIT_LANES;
          actAs(h);
          if (twDue(h)) others++; else dropped++; // a stale entry is no event
        } else {
          others++;
          actAs(wp(l - ARRIVAL_LANES, WlParam.SrcHost));
          arrivalDue();
        }
        t = firstAt;
        if (budget === 0) break;
        if (t >= horizon) break;
      }
      continue;
    }
    while (budget > 0) {
      const e = popDue();
      if (e === 0) break;
      budget--;
      const kind = evKind(e); const target = evTarget(e); const g = evGen(e);
      // The host it happens on: a segment's receiver, else the host that filed it (its own).
      actAs(kind === EV_SEGMENT ? dirDst(sgDir(target)) : evHost(e));
      release(e);
      if (kind === EV_SEGMENT) {
        deliver(target); // a delayed duplicate
      } else {
        others++;
        if (kind === EV_TIMER) {
          timerFires(target);
        } else if (kind === EV_ARRIVAL) {
          arrival(target, g);
        } else if (kind === EV_LISTENER) {
          listenerEvent(target, g);
        } else if (kind === EV_DACK) {
          dackFires(target);
        }
      }
      if (firstAt === now || !isFound()) break; // a lane's item now, or the slot emptied: back to the merge above
    }
  }
}

export function nowUs(): number { return now; }
/** Bytes of the kernel's tables right now (the engine reports its linear memory instead). */
export function tableBytes(): number { return wheelBytes() + lanesBytes() + socketBytes() + netBytes() + metricsBytes() + appsBytes(); }
export function stat(k: number): number {
  if (k === Stat.LiveSockets) return live;
  if (k === Stat.SocketCapacity) return capacity();
  if (k === Stat.MemoryBytes) return tableBytes();
  return readStat(k);
}
export function peakLiveSockets(): number { return peak; }
export function socketSlotBytes(): number { return SLOT_BYTES; }
export function sampleRowWords(): number { return rowWords(); }
export function samplesCount(): number { return samplesRows(); }
/** The sample rows since the last drain, u32 words (what samplesPtr() points at in the engine). */
export function samplesView(): Uint32Array { return sView(); }
export function drainSamples(): void { drainS(); }
export function traceCount(): number { return tCount(); }
/** The trace records since the last drain, TraceField layout (what tracePtr() points at). */
export function traceView(): Uint8Array { return tView(); }
export function drainTrace(): void { drainT(); }

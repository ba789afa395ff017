// The engine's invariants, recomputed from scratch and compared with its books: called
// by tests (RunOptions.checkInvariants) between slices, never on the hot path. Returns
// 0 or the number of the first broken invariant; `brokenAt` says where (a socket, host,
// address or port) and `expected`/`found` the two numbers that disagree.
//
//   1  the hash table holds exactly `live` sockets
//   2  each socket is found by its own 4-tuple (a tuple is held by one socket only)
//   3  per host and state, the live sockets equal the counts samples report
//   4  per address and port, holders (bit 15: a bound listener) equal the port table
//   5  per address and port, TIME_WAIT holders equal the TIME_WAIT port table
//   6  per address, ports with a holder equal the ports-in-use count and the held bits; its TCP sockets, and
//      those not to the destination it books (net.ts countDest), equal its destination book
//   7  per host, TIME_WAIT sockets equal the host's TIME_WAIT count
//   8  a socket in a state only a timer can end (SYN_SENT, SYN_RCVD, TIME_WAIT, an
//      orphan's FIN_WAIT_2 with a fin timeout, or anything unacknowledged in flight) has
//      exactly one timer filed that is not cancelled (in the wheel or the TIME_WAIT FIFO);
//      a delayed-ACK timer filed and not cancelled is its socket's, and a socket owes an
//      ACK exactly while its delayed-ACK timer runs (delack.ts; without delayed ACKs it never does)
//   9  a listener's half-open count equals its SYN_RCVD children; its accept queue holds
//      at least its children waiting for accept() (freed ones stay counted until
//      accept() takes them, as Linux's), at most min(backlog, somaxconn) + 1, and none
//      when the application accepts at once
//  10  per address, each UDP port is held by one UDP socket or bound UDP listener at
//      most, exactly when the UDP port table says so; per host, UDP sockets equal
//      the count samples report
//  11  the lanes (lanes.ts): each latency's queue of segments in flight arrives in
//      order; the heap is ordered and holds one entry per queue with segments, keyed by
//      its first, one for the TIME_WAIT FIFO while it has entries, keyed by its first,
//      and at most one per workload; firstAt is its first entry's time
//  12  conntrack (nat/conntrack.ts): each live entry is found by both its tuples, the
//      tuple hash holds two per live entry, and each NAT's entries by state equal its counts

import { State, STATE_COUNT } from "./abi";
import { alloc } from "./mem";
import {
  FLIGHT_END, flightArrival, flightHead, flightNext, flightOrder, nDirs,
  hostParam, hostTw, ipHost, ipPortsUsed, LISTENER_BIT, listenerBacklogUsed, listenerBound, listenerIp,
  listenerPort, listenerUdp, hostUdp, nHosts, nIps, nListeners, portTwTable, portUseTable, stateCount, udpPortHeld,
  acceptInterval, acceptQueued, heldBits, ipDest, ipParam, listenerBacklog,
} from "./net";
import { HostParam } from "./abi";
import { F_SERVER, F_SHUT_WR, F_UDP, hasFlag, tries, timerEvent, htDistanceOk, htEntry, htSize, ipIdx, irs, laddr, live, udpLive, lookup, lport, raddr, rport, sndNxt, sndUna, state } from "./sockets";
import * as sockets from "./sockets";
import { EV_TIMER } from "./tcp";
import { dackArmed, EV_DACK } from "./delack";
import { ctCheck, ctGot, ctWant } from "./nat/conntrack";
import { evDue, evKind, evTarget, listHead, NEVER, nextEvent, twCount, twCursor, twCursorDue, twCursorTag, twCursorTarget, twNextCursor, WHEEL_LISTS } from "./wheel";
import { ARRIVAL_LANES, FLIGHT_LANES, firstAt, laneCount, laneEntry, laneEntryAt, laneEntryOrder, TIME_WAIT_LANES } from "./lanes";
import { nWorkloads } from "./apps";

export let brokenAt: u32 = 0;
export let expected: u32 = 0;
export let found: u32 = 0;

// Scratch tables, allocated once and grown as needed (the bump allocator never frees).
let PORTS: usize = 0;       // u32 [65536] holders of one address's ports
let TWS: usize = 0;         // u32 [65536] TIME_WAIT holders of one address's ports
let COUNTS: usize = 0;      // u32 [host][state]
let countsCap: u32 = 0;
let TIMERS: usize = 0;      // u8 [slot] live timers filed
let timersCap: u32 = 0;

function fail(code: i32, at: u32, want: u32, got: u32): i32 {
  brokenAt = at; expected = want; found = got;
  return code;
}

export function checkInvariants(): i32 {
  if (PORTS == 0) { PORTS = alloc(65536 * 4); TWS = alloc(65536 * 4); }
  if (countsCap < nHosts) { countsCap = nHosts * 2; COUNTS = alloc(<usize>countsCap * STATE_COUNT * 4); }
  const slots = sockets.slotsUsed();
  if (timersCap < slots) { timersCap = max(slots, 1024) * 2; TIMERS = alloc(<usize>timersCap); }

  // 1, 2: the hash table against `live`, each socket reached by its own tuple.
  let n: u32 = 0;
  const size = htSize();
  for (let i: u32 = 0; i < size; i++) {
    const v = htEntry(i);
    if (v == 0) continue;
    n++;
    if (sockets.htIsCompact(v)) { // a compact TIME_WAIT entry: holding its connection, found by its tuple
      const t = sockets.htCompact(v);
      if (!sockets.twHere(t)) return fail(2, t, 1, 0);
      const at = sockets.findEntry(sockets.twLaddr(t), sockets.twLport(t), sockets.twRaddr(t), sockets.twRport(t));
      if (at != <i32>i) return fail(2, t, i, <u32>at);
      if (!htDistanceOk(i)) return fail(2, t, t, i);
      continue;
    }
    const s = v - 1;
    const at = lookup(laddr(s), lport(s), raddr(s), rport(s));
    if (at != <i32>s) return fail(2, s, s, <u32>at);
    if (!htDistanceOk(i)) return fail(2, s, s, i); // the entry's recorded distance from its home
  }
  if (n != live - udpLive + sockets.twLive) return fail(1, 0, live - udpLive + sockets.twLive, n); // UDP sockets are not in the hash

  // 3, 7: state counts per host.
  memory.fill(COUNTS, 0, <usize>nHosts * STATE_COUNT * 4);
  forEachLive((s: u32): void => {
    const p = COUNTS + ((<usize>ipHost(ipIdx(s)) * STATE_COUNT + state(s)) << 2);
    store<u32>(p, load<u32>(p) + 1);
  });
  const compact = sockets.twEntriesUsed();
  for (let t: u32 = 0; t < compact; t++) {
    if (!sockets.twHere(t)) continue;
    const p = COUNTS + ((<usize>ipHost(sockets.twIpIdx(t)) * STATE_COUNT + State.TIME_WAIT) << 2);
    store<u32>(p, load<u32>(p) + 1);
  }
  for (let l: u32 = 0; l < nListeners; l++) {
    if (!listenerBound(l) || listenerUdp(l)) continue; // a UDP listener is no TCP socket
    const p = COUNTS + ((<usize>ipHost(listenerIp(l)) * STATE_COUNT + State.LISTEN) << 2);
    store<u32>(p, load<u32>(p) + 1);
  }
  for (let h: u32 = 0; h < nHosts; h++) {
    for (let st: u32 = 1; st < <u32>STATE_COUNT; st++) {
      const c = load<u32>(COUNTS + ((<usize>h * STATE_COUNT + st) << 2));
      if (c != stateCount(h, st)) return fail(3, h * 16 + st, c, stateCount(h, st));
    }
    const tw = load<u32>(COUNTS + ((<usize>h * STATE_COUNT + State.TIME_WAIT) << 2));
    if (tw != hostTw(h)) return fail(7, h, tw, hostTw(h));
  }

  // 4, 5, 6: port tables, one address at a time.
  for (let ip: u32 = 0; ip < nIps; ip++) {
    memory.fill(PORTS, 0, 65536 * 4);
    memory.fill(TWS, 0, 65536 * 4);
    scanIp = ip;
    scanDests = 0; scanElsewhere = 0;
    forEachLive((s: u32): void => {
      if (ipIdx(s) != scanIp) return;
      scanDests++;
      if (raddr(s) != ipDest(scanIp, 0) || rport(s) != ipDest(scanIp, 1)) scanElsewhere++;
      const p = PORTS + (<usize>lport(s) << 2);
      store<u32>(p, load<u32>(p) + 1);
      if (state(s) == State.TIME_WAIT) { const q = TWS + (<usize>lport(s) << 2); store<u32>(q, load<u32>(q) + 1); }
    });
    for (let t: u32 = 0; t < compact; t++) { // compact TIME_WAIT entries hold their ports too
      if (!sockets.twHere(t) || sockets.twIpIdx(t) != ip) continue;
      scanDests++;
      if (sockets.twRaddr(t) != ipDest(ip, 0) || sockets.twRport(t) != ipDest(ip, 1)) scanElsewhere++;
      const port = <usize>sockets.twLport(t);
      const p = PORTS + (port << 2); store<u32>(p, load<u32>(p) + 1);
      const q = TWS + (port << 2); store<u32>(q, load<u32>(q) + 1);
    }
    for (let l: u32 = 0; l < nListeners; l++) {
      if (listenerBound(l) && !listenerUdp(l) && listenerIp(l) == ip) {
        const p = PORTS + (<usize>listenerPort(l) << 2);
        store<u32>(p, load<u32>(p) + LISTENER_BIT);
      }
    }
    let used: u32 = 0;
    const use = portUseTable(ip);
    const tws = portTwTable(ip);
    for (let port: u32 = 0; port < 65536; port++) {
      const holders = load<u32>(PORTS + (<usize>port << 2));
      if (holders != 0) used++;
      const bit = <u32>load<u8>(heldBits(ip) + (<usize>port >> 3)) >> (port & 7) & 1;
      if (bit != (holders != 0 ? 1 : 0)) return fail(6, ip << 16 | port, holders != 0 ? 1 : 0, bit);
      if (holders != <u32>load<u16>(use + (<usize>port << 1))) return fail(4, ip << 16 | port, holders, load<u16>(use + (<usize>port << 1)));
      const tw = load<u32>(TWS + (<usize>port << 2));
      if (tw != <u32>load<u16>(tws + (<usize>port << 1))) return fail(5, ip << 16 | port, tw, load<u16>(tws + (<usize>port << 1)));
    }
    if (used != ipPortsUsed(ip)) return fail(6, ip, used, ipPortsUsed(ip));
    if (scanDests != ipDest(ip, 2)) return fail(6, ip, scanDests, ipDest(ip, 2));
    if (scanElsewhere != ipDest(ip, 3)) return fail(6, ip, scanElsewhere, ipDest(ip, 3));
  }

  // 8: live timers per socket.
  memory.fill(TIMERS, 0, <usize>slots);
  for (let i: u32 = 0; i < WHEEL_LISTS; i++) {
    for (let e = listHead(i); e != 0; e = nextEvent(e)) {
      if (evKind(e) == EV_DACK) {
        if (evDue(e) != NEVER && sockets.dackEvent(evTarget(e)) != e) return fail(8, evTarget(e), sockets.dackEvent(evTarget(e)), e);
        continue;
      }
      if (evKind(e) != EV_TIMER) continue;
      const s = evTarget(e);
      if (evDue(e) == NEVER) continue; // cancelled: dropped when reached
      if (timerEvent(s) != e) return fail(8, s, timerEvent(s), e); // a socket knows its timer event
      store<u8>(TIMERS + <usize>s, load<u8>(TIMERS + <usize>s) + 1);
    }
  }
  // TIME_WAIT timers in the FIFO beside the wheel: an entry is its socket's while its tag is the socket's.
  // A compact entry's: it holds its connection with the entry's tag, or forwards to the slot it went back to.
  let compactTimed: u32 = 0;
  for (let h: u32 = 0; h < nHosts; h++) {
    const nTw = twCount(h);
    let c = twCursor(h);
    for (let i: u32 = 0; i < nTw; i++, c = twNextCursor(c)) {
      let s = twCursorTarget(c);
      const tag = twCursorTag(c);
      if (s & 0x80000000) {
        const t = s & 0x7FFFFFFF;
        if (sockets.twHere(t)) {
          if (sockets.twTag(t) != tag) return fail(8, t, sockets.twTag(t), tag);
          compactTimed++;
          continue;
        }
        s = sockets.twForward(t);
      }
      // Stale (skipped when first): the socket left TIME_WAIT, or restarted it, or its slot went to another host's connection.
      if (state(s) != State.TIME_WAIT || irs(s) != tag || ipHost(ipIdx(s)) != h) continue;
      store<u8>(TIMERS + <usize>s, load<u8>(TIMERS + <usize>s) + 1);
    }
  }
  if (compactTimed != sockets.twLive) return fail(8, 0xFFFFFFFF, sockets.twLive, compactTimed); // each compact entry has its FIFO entry
  badSocket = -1;
  forEachLive((s: u32): void => {
    if (badSocket >= 0) return;
    const timers = <u32>load<u8>(TIMERS + <usize>s);
    if (timers > 1 || (timers == 0 && needsTimer(s))) { badSocket = <i32>s; badTimers = timers; }
    if (hasFlag(s, sockets.F_ACK_NOW) != dackArmed(s)) { badSocket = <i32>s; badTimers = 100 + timers; }
  });
  if (badSocket >= 0) return fail(8, <u32>badSocket, needsTimer(<u32>badSocket) ? 1 : 0, badTimers);

  // 9: each listener's half-open children.
  for (let l: u32 = 0; l < nListeners; l++) {
    if (!listenerBound(l) || listenerUdp(l)) continue; // a UDP listener is no TCP socket
    halfOpen = 0; scanListener = l;
    forEachLive((s: u32): void => {
      if (state(s) == State.SYN_RCVD && hasFlag(s, F_SERVER) && ipIdx(s) == listenerIp(scanListener) && lport(s) == listenerPort(scanListener)) halfOpen++;
    });
    if (halfOpen != listenerBacklogUsed(l)) return fail(9, l, halfOpen, listenerBacklogUsed(l));
    halfOpen = 0;
    forEachLive((s: u32): void => {
      if (tries(s) != 0 && hasFlag(s, F_SERVER) && ipIdx(s) == listenerIp(scanListener) && lport(s) == listenerPort(scanListener)) halfOpen++;
    });
    const most: u32 = acceptInterval(l) == 0 ? 0 : min(listenerBacklog(l), ipParam(listenerIp(l), HostParam.Somaxconn)) + 1;
    if (halfOpen > acceptQueued(l) || acceptQueued(l) > most) return fail(9, l, halfOpen, acceptQueued(l));
  }

  // 10: UDP sockets are not in the hash: find them by their flag in the slots.
  memory.fill(COUNTS, 0, <usize>nHosts * 4);
  for (let ip: u32 = 0; ip < nIps; ip++) {
    memory.fill(PORTS, 0, 65536 * 4);
    for (let s: u32 = 0; s < slots; s++) {
      if (!hasFlag(s, F_UDP) || ipIdx(s) != ip) continue;
      const p = PORTS + (<usize>lport(s) << 2);
      store<u32>(p, load<u32>(p) + 1);
      const c = COUNTS + (<usize>ipHost(ip) << 2);
      store<u32>(c, load<u32>(c) + 1);
    }
    for (let l: u32 = 0; l < nListeners; l++) {
      if (listenerBound(l) && listenerUdp(l) && listenerIp(l) == ip) {
        const p = PORTS + (<usize>listenerPort(l) << 2);
        store<u32>(p, load<u32>(p) + 1);
      }
    }
    for (let port: u32 = 0; port < 65536; port++) {
      const holders = load<u32>(PORTS + (<usize>port << 2));
      if (holders > 1 || (holders == 1) != udpPortHeld(ip, port)) return fail(10, ip << 16 | port, holders, udpPortHeld(ip, port) ? 1 : 0);
    }
  }
  for (let h: u32 = 0; h < nHosts; h++) {
    const n = load<u32>(COUNTS + (<usize>h << 2));
    if (n != hostUdp(h)) return fail(10, h, n, hostUdp(h));
  }

  // 11: the lanes.
  let busy: u32 = 0;
  for (let d: u32 = 0; d < nDirs; d++) {
    let g = flightHead(d);
    if (g == FLIGHT_END) continue;
    busy++;
    let last = flightArrival(g);
    for (g = flightNext(g); g != FLIGHT_END; g = flightNext(g)) {
      if (flightArrival(g) < last) return fail(11, d, <u32>last, <u32>flightArrival(g));
      last = flightArrival(g);
    }
  }
  const nLanes = laneCount();
  let dirs: u32 = 0;
  let tws: u32 = 0;
  let twHosts: u32 = 0;
  for (let h: u32 = 0; h < nHosts; h++) if (twCount(h) > 0) twHosts++;
  memory.fill(PORTS, 0, <usize>nWorkloads); // (scratch) a workload's arrival lane seen
  for (let i: u32 = 0; i < nLanes; i++) {
    const lane = laneEntry(i); const at = laneEntryAt(i); const order = laneEntryOrder(i);
    if (i > 0) {
      const p = (i - 1) >> 1;
      if (laneEntryAt(p) > at || (laneEntryAt(p) == at && laneEntryOrder(p) > order)) return fail(11, 0xFFFFFFFD, p, i);
    }
    if (lane < FLIGHT_LANES) {
      dirs++;
      const g = lane < nDirs ? flightHead(lane) : FLIGHT_END;
      if (g == FLIGHT_END) return fail(11, lane, <u32>at, 0);
      if (flightArrival(g) != at || flightOrder(g) != order) return fail(11, lane, <u32>at, <u32>flightArrival(g));
    } else if (lane < ARRIVAL_LANES) {
      tws++;
      const h = lane - TIME_WAIT_LANES;
      if (h >= nHosts || twCount(h) == 0 || twCursorDue(twCursor(h)) != at) return fail(11, lane, <u32>at, h < nHosts ? twCount(h) : 0);
    } else {
      const w = lane - ARRIVAL_LANES;
      if (w >= nWorkloads || load<u8>(PORTS + <usize>w) != 0) return fail(11, lane, w, nWorkloads);
      store<u8>(PORTS + <usize>w, 1);
    }
  }
  if (dirs != busy) return fail(11, 0xFFFFFFFF, busy, dirs);
  if (tws != twHosts) return fail(11, TIME_WAIT_LANES, twHosts, tws);
  const first = nLanes > 0 ? laneEntryAt(0) : u64.MAX_VALUE;
  if (first != firstAt) return fail(11, 0xFFFFFFFE, <u32>first, <u32>firstAt);
  // 12: conntrack
  const ct = ctCheck();
  if (ct != 0) return fail(12, <u32>(ct < 0 ? -ct : ct), ctWant, ctGot);
  return 0;
}

// State for the scans above (AssemblyScript closures cannot capture locals).
let scanIp: u32 = 0;
let scanDests: u32 = 0, scanElsewhere: u32 = 0; // (closures capture no locals)
let scanListener: u32 = 0;
let halfOpen: u32 = 0;
let badSocket: i32 = -1;
let badTimers: u32 = 0;

function forEachLive(f: (s: u32) => void): void {
  const size = htSize();
  for (let i: u32 = 0; i < size; i++) {
    const v = htEntry(i);
    if (v != 0) { if (!sockets.htIsCompact(v)) f(v - 1); } // (compact TIME_WAIT entries: checked on their own)
  }
}

/** States that only a timer ends, or that wait on a retransmission timer. */
function needsTimer(s: u32): bool {
  const st = state(s);
  if (st == State.SYN_SENT || st == State.SYN_RCVD || st == State.TIME_WAIT) return true;
  // FIN_WAIT_2 times out only for an orphan (a half-closed socket still reading waits for its peer).
  if (st == State.FIN_WAIT_2) return sndUna(s) != sndNxt(s) || (hostParam(ipHost(ipIdx(s)), HostParam.FinTimeout) > 0 && !hasFlag(s, F_SHUT_WR));
  return sndUna(s) != sndNxt(s);
}

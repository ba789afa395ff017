// The applications on the hosts, as the built-in workload kernels drive them: a client
// connects at each arrival, writes its request, reads the response and closes; the
// server answers each request and closes as the workload says. Open loop (tcp-churn):
// arrivals at a rate. Closed loop: `Clients` clients, each connecting again `Think`
// after its previous exchange ended (completed, failed or cut short).
// Everything here is a reaction to a TCP event or an arrival: no JS is called.

import { Arrival, Closer, Errno, HostParam, Outcome, PortAllocator, SizeDist, Stat, State, WlParam } from "./abi";
import { actAs, now, schedule, takeSeq } from "./wheel";
import { ARRIVAL_LANES, firstLane, laneEnter, laneLeave, laneNext } from "./lanes";
import { bump } from "./metrics";
import { destBits, heldBits, hostParam, hostRemote, hostRng, hostSecret, ipAddr, ipOnlyTo, ipCursor, ipEpoch, ipHost, perturbPtr, PERTURB_SIZE, portReserved, portUse, runSeed, setIpCursor } from "./net";
import { mix4, nextUnit, seedStream } from "./rng";
import { alloc, DEBUG, regrowColumn as col } from "./mem";
import { conn, dir, F_DONE, F_FIN_QUEUED, F_SERVER, F_UDP, hasFlag, iss, lookup, setFlag, setSndEnd, sndEnd, state, tries, wl } from "./sockets";
import { activeOpen, appClose, appShutdown, closeNow, EV_ARRIVAL, EV_CLOSE, EV_HOLD, flush, failNoPort, takeOverTimeWait, twReusable, twReuseApplies } from "./tcp";
import { udpQuery } from "./udp";

// A workload's index is a u16 in sockets and segments; its table doubles as workloads are added.
export const MAX_WORKLOADS: u32 = 65536;
export let nWorkloads: u32 = 0;
/** A failed try of a closed-loop client is retried no sooner than this, us (see loopRetry). */
export const RETRY_MIN: u64 = 1000;
let wlCap: u32 = 0;

let WPARAM: usize = 0;   // f64 [workload][WlParam]
let WNEXT: usize = 0;    // f64 [workload] exact time of the next arrival, us
let WCOUNT: usize = 0;   // u32 [workload] arrivals so far
let WRNG: usize = 0;     // u64 [workload] random stream
let WFULL: usize = 0;    // u32 [workload] 1 + the address's epoch when a port search last failed, 0 = none
let WPICKS: usize = 0;   // u32 [workload] ports taken since then
let WOUT: usize = 0;     // u32 [workload][Outcome] what its connections came to (workload hooks read it)
let WCONN: usize = 0;    // u32 [workload] connections numbered so far by its counter (WlParam.ConnGroup)
let WGROUP: usize = 0;   // u32 [workload] the workload whose WCONN counter numbers its connections
let WSTRIDE: usize = 0;  // u32 [workload][2] ConnStride (at least 1), ConnOffset
let WHOST: usize = 0;    // u32 [workload] SrcHost
/** The host workload w runs on. */
@inline export function workloadHost(w: u32): u32 { return load<u32>(WHOST + (<usize>w << 2)); }
let WTURN: usize = 0;    // u32 [workload] connections it has made from its sources to its destinations (A_MULTI)
// Destinations of workloads with several (WlParam.DstFirst, Dests): u32 [entry][4] address, port, direction, 0.
let DEST: usize = 0;
let nDests: u32 = 0;
let destCap: u32 = 0;
// What the per-connection paths read of a workload, converted from its f64 parameters
// by setWorkloadParam (a conversion on each read is a checked truncation): u32 [workload][8]
//   0 fixed request size | 4 fixed response size (SIZE_DRAWN: drawn) | 8 Requests | 12 A_* bits
//   16 SrcIp | 20 DstAddr | 24 DstPort | 28 Dir
let WAPP: usize = 0;
const SIZE_DRAWN: u32 = 0xFFFFFFFF; // (a fixed size of this value takes the drawn path, which returns it too)
const A_LINGER0: u32 = 1;        // Linger0 != 0
const A_HALF_CLOSE: u32 = 2;     // HalfClose != 0
const A_LOOP: u32 = 4;           // Clients > 0: a closed loop
const A_CLIENT_CLOSES: u32 = 8;  // Closer != Server
const A_SERVER_CLOSES: u32 = 16; // Closer != Client
const A_HOOKED: u32 = 32;        // Hooked != 0
const A_UDP: u32 = 64;           // Udp != 0
const A_LOCAL_PORT: u32 = 128;   // LocalPort > 0
const A_POISSON: u32 = 256;      // Arrival == Poisson
const A_CONSTANT: u32 = 512;     // Arrival == Constant
const A_MULTI: u32 = 1024;       // Sources > 1 or Dests > 0: source and destination taken in turn
const A_BIND: u32 = 2048;        // BindPort != 0
@inline function app(w: u32): usize { return WAPP + (<usize>w << 5); }
@inline function appBits(w: u32): u32 { return load<u32>(app(w), 12); }

@inline export function wp(w: u32, k: i32): f64 { return load<f64>(WPARAM + ((<usize>w * WlParam.COUNT + k) << 3)); }
export function setWorkloadParam(w: u32, k: i32, v: f64): void {
  store<f64>(WPARAM + ((<usize>w * WlParam.COUNT + k) << 3), v);
  const p = app(w);
  store<u32>(p, <i32>wp(w, WlParam.ReqDist) == SizeDist.Fixed ? <u32>wp(w, WlParam.Request) : SIZE_DRAWN);
  store<u32>(p, <i32>wp(w, WlParam.RespDist) == SizeDist.Fixed ? <u32>wp(w, WlParam.Response) : SIZE_DRAWN, 4);
  store<u32>(p, <u32>wp(w, WlParam.Requests), 8);
  const closer = <i32>wp(w, WlParam.Closer);
  const arrival = <i32>wp(w, WlParam.Arrival);
  store<u32>(p, (wp(w, WlParam.Linger0) != 0 ? A_LINGER0 : 0) | (wp(w, WlParam.HalfClose) != 0 ? A_HALF_CLOSE : 0)
    | (wp(w, WlParam.Clients) > 0 ? A_LOOP : 0) | (closer != Closer.Server ? A_CLIENT_CLOSES : 0)
    | (closer != Closer.Client ? A_SERVER_CLOSES : 0) | (wp(w, WlParam.Hooked) != 0 ? A_HOOKED : 0)
    | (wp(w, WlParam.Udp) != 0 ? A_UDP : 0) | (<i32>wp(w, WlParam.LocalPort) > 0 ? A_LOCAL_PORT : 0)
    | (arrival == Arrival.Poisson ? A_POISSON : 0) | (arrival == Arrival.Constant ? A_CONSTANT : 0)
    | (wp(w, WlParam.Sources) > 1 || wp(w, WlParam.Dests) > 0 ? A_MULTI : 0) | (wp(w, WlParam.BindPort) != 0 ? A_BIND : 0), 12);
  store<u32>(p, <u32>wp(w, WlParam.SrcIp), 16);
  store<u32>(p, <u32>wp(w, WlParam.DstAddr), 20);
  store<u32>(p, <u32>wp(w, WlParam.DstPort), 24);
  store<u32>(p, <u32>wp(w, WlParam.Dir), 28);
  store<u32>(WGROUP + (<usize>w << 2), min(<u32>wp(w, WlParam.ConnGroup), wlCap - 1));
  store<u32>(WSTRIDE + (<usize>w << 3), max(<u32>wp(w, WlParam.ConnStride), 1));
  store<u32>(WSTRIDE + (<usize>w << 3), <u32>wp(w, WlParam.ConnOffset), 4);
  store<u32>(WHOST + (<usize>w << 2), <u32>wp(w, WlParam.SrcHost));
}

export function appsReset(): void {
  if (MAX_WORKLOADS > 65536) ERROR("a workload's arrival stream needs a lane (lanes.ts)");
  nWorkloads = 0;
  wlCap = 0; growWorkloads(16);
  arrivalsCap = 0;
  nDests = 0; destCap = 0; DEST = 0;
  closesCap = 0; closesTop = 0; closesFree = 0xFFFFFFFF;
}
function growWorkloads(n: u32): void {
  const c = wlCap;
  WPARAM = col(WPARAM, c, n, WlParam.COUNT * 8); WNEXT = col(WNEXT, c, n, 8); WCOUNT = col(WCOUNT, c, n, 4);
  WRNG = col(WRNG, c, n, 8); WFULL = col(WFULL, c, n, 4); WPICKS = col(WPICKS, c, n, 4);
  WOUT = col(WOUT, c, n, Outcome.COUNT * 4); WAPP = col(WAPP, c, n, 32);
  WCONN = col(WCONN, c, n, 4); WGROUP = col(WGROUP, c, n, 4); WTURN = col(WTURN, c, n, 4); WSTRIDE = col(WSTRIDE, c, n, 8); WHOST = col(WHOST, c, n, 4);
  wlCap = n;
  for (let w = c; w < n; w++) setWorkloadParam(w, 0, 0); // what parameters all 0 make
}

/** Counts an outcome of one of workload w's connections. */
@inline export function outcome(w: u32, k: i32): void {
  const p = WOUT + ((<usize>w * Outcome.COUNT + k) << 2);
  store<u32>(p, load<u32>(p) + 1);
}
export function outcomesPtr(): usize { return WOUT; }

/** connect() found no port: EADDRNOTAVAIL, and a closed-loop client tries again later. */
function noPort(w: u32, failed: u32): void {
  failNoPort();
  outcome(w, Outcome.Failed + Errno.EADDRNOTAVAIL);
  loopRetry(w, failed + 1);
}

/** `stream` numbers the workload's random stream: its index in the whole scenario, so a shard draws what a single run would. */
export function addWorkload(stream: u32): u32 {
  if (nWorkloads >= MAX_WORKLOADS) abort("engine table full: at most 65536 workloads");
  if (nWorkloads == wlCap) growWorkloads(wlCap * 2);
  const w = nWorkloads++;
  // (A rate step's stream can pass 0x10000, which would reach the hosts' range at 0x40000.)
  store<u64>(WRNG + (<usize>w << 3), seedStream(runSeed, (stream < 0x10000 ? 0x30000 : <u64>1 << 32) + <u64>stream));
  return w;
}

/** A destination for WlParam.DstFirst/Dests: its index in the destination table. */
export function addDestination(addr: u32, port: u32, dir: u32): u32 {
  if (nDests == destCap) { const m = max(destCap * 2, 16); DEST = col(DEST, destCap, m, 16); destCap = m; }
  const e = DEST + (<usize>nDests << 4);
  store<u32>(e, addr); store<u32>(e, port, 4); store<u32>(e, dir, 8);
  return nDests++;
}
export function destinationCount(): u32 { return nDests; }
@inline export function destinationDir(i: u32): u32 { return load<u32>(DEST + (<usize>i << 4), 8); }
@inline export function destinationPort(i: u32): u32 { return load<u32>(DEST + (<usize>i << 4), 4); }

/** Files every workload's first arrival. */
export function appsStart(): void {
  for (let w: u32 = 0; w < nWorkloads; w++) {
    const h = <u32>wp(w, WlParam.SrcHost);
    if (hostRemote(h)) continue; // another instance runs it
    actAs(h);
    store<f64>(WNEXT + (<usize>w << 3), wp(w, WlParam.Start));
    const clients = <u32>wp(w, WlParam.Clients);
    if (clients > 0) {
      for (let c: u32 = 0; c < clients; c++) schedule(<u64>wp(w, WlParam.Start), EV_ARRIVAL, w, 0);
    } else {
      scheduleArrival(w);
    }
  }
}

/** A closed-loop client's exchange ended: it connects again after its think time. */
@inline function loopNext(w: u32): void {
  if (appBits(w) & A_LOOP) schedule(now + <u64>wp(w, WlParam.Think), EV_ARRIVAL, w, 0);
}

/**
 * A closed-loop client's try failed (`failed` in a row now). With a backoff it waits a
 * random time up to min(max, backoff x 2^(failed-1)) ("full jitter"), so a restarted
 * server meets a spread-out storm; without one, its think time, as after a success.
 * Either way at least RETRY_MIN (1 ms): a connect() that fails at once (no free port)
 * is retried as a client's retry loop would, not again in the same microsecond, where
 * the clock would never move on. The count rides in the arrival event's generation,
 * then in the socket.
 */
function loopRetry(w: u32, failed: u32): void {
  if (wp(w, WlParam.Clients) == 0) return;
  const base = wp(w, WlParam.Backoff);
  if (base <= 0) { schedule(now + max(<u64>wp(w, WlParam.Think), RETRY_MIN), EV_ARRIVAL, w, 0); return; }
  const f = min(failed, 63);
  const ceiling = Math.min(wp(w, WlParam.BackoffMax), base * Math.pow(2.0, <f64>(f - 1)));
  const wait = nextUnit(WRNG + (<usize>w << 3)) * ceiling;
  schedule(now + max(<u64>Math.floor(wait), RETRY_MIN), EV_ARRIVAL, w, f);
}

function scheduleArrival(w: u32): void {
  const count = load<u32>(WCOUNT + (<usize>w << 2));
  const cap = wp(w, WlParam.Count);
  if (cap > 0 && <f64>count >= cap) return;
  const rate = wp(w, WlParam.Rate);
  if (rate <= 0) return;
  let t = load<f64>(WNEXT + (<usize>w << 3));
  // Poisson arrivals: exponential gaps. The first arrival of a constant stream is at start.
  if (appBits(w) & A_POISSON) {
    t += -Math.log(1.0 - nextUnit(WRNG + (<usize>w << 3))) * 1e6 / rate;
    store<f64>(WNEXT + (<usize>w << 3), t);
  }
  const stop = wp(w, WlParam.Stop);
  if (stop > 0 && t >= stop) return;
  // Its arrival stream is a lane (lanes.ts): one arrival pending, no wheel event.
  const at = <u64>Math.floor(t);
  if (DEBUG) assert(at >= now, "an arrival in the past");
  if (firing) { firing = false; laneNext(ARRIVAL_LANES + w, at, takeSeq()); }
  else laneEnter(ARRIVAL_LANES + w, at, takeSeq());
}

/**
 * While an arrival from a lane happens (arrivalDue), its lane is still first: whatever
 * the connection files meanwhile comes after it (at `now` or later, with a later
 * filing number). So the next arrival takes its place (laneNext) instead of the lane
 * leaving the heap and entering it again.
 */
let firing = false;
/** The first lane is a workload's arrival stream: its pending arrival is now. */
export function arrivalDue(): void {
  const w = firstLane() - ARRIVAL_LANES;
  firing = true;
  arrival(w, 0);
  if (firing) { firing = false; laneLeave(); } // no next arrival
}

// Arrival times a hook chose (WlParam.Hooked), written here by the SDK: f64 us.
let ARRIVALS: usize = 0;
let arrivalsCap: u32 = 0;

/** Room for n arrival times; where the SDK writes them. */
export function arrivalsBuffer(n: u32): usize {
  if (n > arrivalsCap) { arrivalsCap = max(n, arrivalsCap * 2); ARRIVALS = alloc(<usize>arrivalsCap << 3); }
  return ARRIVALS;
}

/** Files the n arrivals written at arrivalsBuffer() for workload w (times >= now, checked by the SDK). */
export function addArrivals(w: u32, n: u32): void {
  actAs(<u32>wp(w, WlParam.SrcHost));
  for (let i: u32 = 0; i < n; i++) schedule(max(<u64>load<f64>(ARRIVALS + (<usize>i << 3)), now), EV_ARRIVAL, w, 0);
}

export function arrival(w: u32, failed: u32): void {
  const bits = appBits(w);
  if (bits & A_HOOKED) {
    const cap = wp(w, WlParam.Count);
    const stop = wp(w, WlParam.Stop);
    if ((cap > 0 && <f64>load<u32>(WCOUNT + (<usize>w << 2)) >= cap) || (stop > 0 && <f64>now >= stop)) return;
    store<u32>(WCOUNT + (<usize>w << 2), load<u32>(WCOUNT + (<usize>w << 2)) + 1);
    connect(w, 0);
    return;
  }
  if (bits & A_LOOP) {
    // A closed-loop client stops at the workload's count or stop time.
    const cap = wp(w, WlParam.Count);
    const stop = wp(w, WlParam.Stop);
    if ((cap > 0 && <f64>load<u32>(WCOUNT + (<usize>w << 2)) >= cap) || (stop > 0 && <f64>now >= stop)) return;
    store<u32>(WCOUNT + (<usize>w << 2), load<u32>(WCOUNT + (<usize>w << 2)) + 1);
    connect(w, failed);
    return;
  }
  store<u32>(WCOUNT + (<usize>w << 2), load<u32>(WCOUNT + (<usize>w << 2)) + 1);
  if (bits & A_CONSTANT) {
    const count = <f64>load<u32>(WCOUNT + (<usize>w << 2));
    store<f64>(WNEXT + (<usize>w << 3), wp(w, WlParam.Start) + count * 1e6 / wp(w, WlParam.Rate));
  }
  connect(w, 0);
  scheduleArrival(w);
}

/** connect() from the workload's source address to its destination. */
function connect(w: u32, failed: u32): void {
  bump(Stat.Attempted);
  outcome(w, Outcome.Attempted);
  const counter = WCONN + (<usize>load<u32>(WGROUP + (<usize>w << 2)) << 2);
  const k = load<u32>(counter);
  store<u32>(counter, k + 1);
  const stride = load<u32>(WSTRIDE + (<usize>w << 3));
  const id64 = <u64>k * <u64>stride + <u64>load<u32>(WSTRIDE + (<usize>w << 3), 4);
  if (id64 > 0xFFFFFFFF) abort("engine table full: connection numbers past 2^32 (connections per client host x client hosts linked together)");
  const id = <u32>id64;
  const a = app(w);
  let ip = load<u32>(a, 16);
  let da = load<u32>(a, 20);
  let dp = load<u32>(a, 24);
  let dir = load<u32>(a, 28);
  const bits = load<u32>(a, 12);
  if (bits & A_MULTI) {
    // The k-th connection: destination k mod Dests, source (k div Dests) mod Sources, so
    // every (source, destination) pair comes up in turn.
    const turn = WTURN + (<usize>w << 2);
    const k = load<u32>(turn);
    store<u32>(turn, k + 1);
    const dests = <u32>wp(w, WlParam.Dests);
    if (dests > 0) {
      const e = DEST + (<usize>(<u32>wp(w, WlParam.DstFirst) + k % dests) << 4);
      da = load<u32>(e); dp = load<u32>(e, 4); dir = load<u32>(e, 8);
    }
    ip += (k / max(dests, 1)) % max(<u32>wp(w, WlParam.Sources), 1);
  }
  if (bits & A_UDP) {
    if (!udpQuery(ip, da, dp, dir, w, id, sizeOf(w, id, false), <u64>wp(w, WlParam.UdpTimeout))) noPort(w, failed);
    return;
  }
  const la = ipAddr(ip);
  let port: i32 = 0;
  if (bits & A_LOCAL_PORT) {
    port = <i32>wp(w, WlParam.LocalPort);
    // bind() to a fixed port first: connect fails when the 4-tuple is taken.
    const t = lookup(la, port, da, dp);
    if (t >= 0 && !(state(<u32>t) == State.TIME_WAIT && twReusable(<u32>t))) { noPort(w, failed); return; }
    if (t >= 0) { takeOverTimeWait(<u32>t); bump(Stat.TwReused); }
  } else {
    // After a search of the whole range failed, each port released on the address can
    // make at most one tuple usable, and each port this workload took since used one up:
    // while takes keep up with releases the range is still full, and connect() fails in
    // O(1) instead of scanning it again (tw_reuse frees tuples with time, so not then).
    // (Not for a workload taking sources and destinations in turn: its takes are not all this tuple's.)
    const full = WFULL + (<usize>w << 2);
    const picks = WPICKS + (<usize>w << 2);
    const known = bits & A_MULTI ? 0 : load<u32>(full);
    if (known != 0) { // (nested, not &&: binaryen folds those into selects)
      if (ipEpoch(ip) - (known - 1) <= load<u32>(picks)) {
        if (!twReuseApplies(ipHost(ip), la, da)) { noPort(w, failed); return; }
      }
    }
    port = bits & A_BIND ? pickBound(ip) : pickPort(ip, la, da, dp);
    if (port < 0) {
      store<u32>(full, ipEpoch(ip) + 1);
      store<u32>(picks, 0);
      noPort(w, failed);
      return;
    }
    store<u32>(picks, load<u32>(picks) + 1);
  }
  activeOpen(ip, <u32>port, da, dp, dir, w | min(failed, 63) << 16, id);
}

/**
 * Ephemeral port selection (RFC 6056), by the host's allocator:
 * - sequential: on from a per-address cursor, as ns-3 and INET do;
 * - random: RFC 6056 algorithm 1, a random start and then one port after another;
 * - linux: algorithm 3 as Linux's connect path does it (__inet_hash_connect): the
 *   start is a secret hash of (local address, remote address, remote port) plus a
 *   perturbation from a 256-entry table picked by another hash; ports of the range's
 *   own parity first, two at a time, then the others (bind() does the opposite, so the
 *   two rarely collide); after a success the table entry moves on by the ports tried
 *   plus two, or a random 0-14 when that is more, so the next connection to the same
 *   destination starts further on. Linux searches an even number of ports: an odd
 *   range loses its last port to connect().
 * A port already held is still usable for a destination it has no socket to (Linux
 * shares connect()-only ports across destinations); a listener's port never is. With
 * tw_reuse a TIME_WAIT tuple older than one second is taken over.
 */
function pickPort(ip: u32, la: u32, da: u32, dp: u32): i32 {
  const h = ipHost(ip);
  const lo = hostParam(h, HostParam.PortLo);
  const n = hostParam(h, HostParam.PortHi) - lo + 1;
  const kind = hostParam(h, HostParam.PortAllocator);
  if (kind == PortAllocator.Linux) return pickLinux(ip, h, lo, n, la, da, dp);
  let off = kind == PortAllocator.Random ? <u32>(nextUnit(hostRng(h)) * <f64>n) : ipCursor(ip) % n;
  for (let i: u32 = 0; i < n; i++) {
    const p = lo + off;
    off = off + 1 == n ? 0 : off + 1;
    if (portFree(ip, p, la, da, dp)) { setIpCursor(ip, off); return <i32>p; }
  }
  return -1;
}

function pickLinux(ip: u32, h: u32, lo: u32, n: u32, la: u32, da: u32, dp: u32): i32 {
  const remaining = n > 1 ? n & ~1 : n;
  const secret = hostSecret(h);
  const portOffset = mix4(la ^ <u32>(secret >> 32), da, dp, <u32>secret ^ 0x5BD1E995);
  const slot = perturbPtr(h, mix4(la, da ^ <u32>secret, dp, 0x27D4EB2F) & (PERTURB_SIZE - 1));
  let offset = (load<u32>(slot) + (portOffset >> 16)) % remaining;
  offset &= ~1;
  const step: u32 = remaining > 1 ? 2 : 1;
  // Every socket on the address goes to (da, dp) and tw_reuse is off: each held port has
  // a socket to it that cannot be taken over, so skip it without the 4-tuple lookup.
  const noReuse = !twReuseApplies(h, la, da);
  const skipHeld = noReuse && ipOnlyTo(ip, da, dp);
  // With several destinations: the ports with a socket to this one (net.ts destBits), skipped alike.
  const toDest = noReuse && !skipHeld ? destBits(ip, da, dp) : 0;
  for (let pass = 0; pass < 2; pass++) {
    let p = lo + offset;
    for (let i: u32 = 0; i < remaining; i += step, p += step) {
      if (p >= lo + remaining) p -= remaining;
      if (toDest != 0 && (load<u8>(toDest + <usize>((p - lo) >> 3)) & (1 << ((p - lo) & 7))) != 0) {
        const q = lo + nextClear(toDest, p - lo, remaining, step);
        if (DEBUG) { for (let x = p; x < q; x += step) assert(!portFree(ip, x, la, da, dp), "a port with a socket to the destination is never free"); }
        i += q - p - step; p = q - step;
        continue;
      }
      if (skipHeld && portUse(ip, p) != 0) {
        // On to the pass's next port not held (or past the range's end, to wrap), as if each were tried.
        const q = nextUnheld(ip, p, lo + remaining, step);
        if (DEBUG) { for (let x = p; x < q; x += step) assert(!portFree(ip, x, la, da, dp), "a held port to one destination is never free"); }
        i += q - p - step; p = q - step;
        continue;
      }
      if (portFree(ip, p, la, da, dp)) {
        const nudge = max(i, <u32>(nextUnit(hostRng(h)) * 8) * step);
        store<u32>(slot, load<u32>(slot) + nudge + step);
        return <i32>p;
      }
    }
    offset++;
    if (!(offset & 1) || remaining <= 1) break;
  }
  return -1;
}

/**
 * bind(addr, 0) before connect(), without IP_BIND_ADDRESS_NO_PORT: the port is chosen
 * before the destination is known, so it must be one no socket on the address holds
 * (TIME_WAIT included; inet_csk_bind_conflict without SO_REUSEADDR), and it is never
 * shared across destinations. Linux (inet_csk_find_open_port): a random start, ports of
 * the other parity than connect()'s first, two at a time, then the rest; the other
 * allocators walk the range as connect() does.
 */
function pickBound(ip: u32): i32 {
  const h = ipHost(ip);
  const lo = hostParam(h, HostParam.PortLo);
  const n = hostParam(h, HostParam.PortHi) - lo + 1;
  const kind = hostParam(h, HostParam.PortAllocator);
  if (kind == PortAllocator.Linux) {
    const remaining = n > 1 ? n & ~1 : n;
    let offset = <u32>(nextUnit(hostRng(h)) * <f64>remaining) | 1;
    while (true) {
      let p = lo + offset;
      for (let i: u32 = 0; i < remaining; i += 2, p += 2) {
        if (p >= lo + n) p -= remaining;
        if (portUse(ip, p) == 0 && !portReserved(h, p)) return <i32>p;
      }
      offset--;
      if (offset & 1) break; // both parities scanned
    }
    return -1;
  }
  let off = kind == PortAllocator.Random ? <u32>(nextUnit(hostRng(h)) * <f64>n) : ipCursor(ip) % n;
  for (let i: u32 = 0; i < n; i++) {
    const p = lo + off;
    off = off + 1 == n ? 0 : off + 1;
    if (portUse(ip, p) == 0 && !portReserved(h, p)) { setIpCursor(ip, off); return <i32>p; }
  }
  return -1;
}

/** The first port from p (p's parity when step is 2) not held on address ip; if none below end, the first at or past it. */
@inline function nextUnheld(ip: u32, p: u32, end: u32, step: u32): u32 { return nextClear(heldBits(ip), p, end, step); }
/** The first clear bit from p (p's parity when step is 2) of the bitmap at `bits`; if none below end, the first index at or past it of p's parity. */
function nextClear(bits: usize, p: u32, end: u32, step: u32): u32 {
  const mask: u64 = step == 2 ? <u64>0x5555555555555555 << (p & 1) : <u64>-1;
  const stop = end + ((end ^ p) & (step - 1)); // (p's parity: where the search wraps)
  let w = p >> 6;
  let free = ~load<u64>(bits + (<usize>w << 3)) & mask & (<u64>-1 << (p & 63));
  while (free == 0) {
    w++;
    if (w << 6 >= end) return stop;
    free = ~load<u64>(bits + (<usize>w << 3)) & mask;
  }
  const q = w << 6 | <u32>ctz(free);
  return q < end ? q : stop;
}

/** Can connect() from (la, p) reach (da, dp)? Takes over a reusable TIME_WAIT tuple. */
function portFree(ip: u32, p: u32, la: u32, da: u32, dp: u32): bool {
  if (portReserved(ipHost(ip), p)) return false;
  const use = portUse(ip, p);
  if (use == 0) return true;
  if (use >= 0x8000) return false; // a listener's port
  const t = lookup(la, p, da, dp);
  if (t < 0) return true;
  if (state(<u32>t) == State.TIME_WAIT && twReusable(<u32>t)) {
    takeOverTimeWait(<u32>t);
    bump(Stat.TwReused);
    return true;
  }
  return false;
}

// ---- reactions ---------------------------------------------------------------------

@inline function linger0(s: u32): bool { return (appBits(wl(s)) & A_LINGER0) != 0; }

/**
 * A connection's request or response size. Drawn sizes come from a hash of the
 * workload's stream and the connection's number in its host group (ConnGroup), so
 * both ends know it without storing it, and a shard draws what the whole run does.
 */
@inline function size(s: u32, response: bool): u32 { return sizeOf(wl(s), conn(s), response); }

/** A connection's request or response size, from its workload and number (both ends agree). */
@inline export function sizeOf(w: u32, c: u32, response: bool): u32 {
  const fixed = load<u32>(app(w) + (response ? 4 : 0));
  return fixed != SIZE_DRAWN ? fixed : drawSize(w, c, response);
}
function drawSize(w: u32, c: u32, response: bool): u32 {
  const dist = <i32>wp(w, response ? WlParam.RespDist : WlParam.ReqDist);
  if (dist == SizeDist.Fixed) return <u32>wp(w, response ? WlParam.Response : WlParam.Request);
  const a = wp(w, response ? WlParam.RespA : WlParam.ReqA);
  const b = wp(w, response ? WlParam.RespB : WlParam.ReqB);
  const key = <u32>wp(w, WlParam.Stream) * 2 + (response ? 1 : 0);
  const u = (<f64>mix4(c, key, <u32>runSeed, <u32>(runSeed >> 32)) + 0.5) / 4294967296.0;
  let x: f64;
  if (dist == SizeDist.Uniform) x = a + u * (b - a + 1.0);          // whole bytes a..b
  else if (dist == SizeDist.Exponential) x = -Math.log(1.0 - u) * a; // mean a
  else {
    // Lognormal with median a and shape b: the normal quantile by Box-Muller on two hashed uniforms.
    const u2 = (<f64>mix4(c, key ^ 0x9E3779B9, <u32>runSeed, 0x85EBCA6B) + 0.5) / 4294967296.0;
    x = a * Math.exp(b * Math.sqrt(-2.0 * Math.log(u)) * Math.cos(6.283185307179586 * u2));
  }
  return <u32>min(Math.floor(x), 1073741824.0);
}

/** The handshake completed: the client writes its request; a server with nothing to read answers. */
export function appEstablished(s: u32): void {
  const w = wl(s);
  const c = conn(s);
  if (hasFlag(s, F_SERVER)) {
    if (sizeOf(w, c, false) == 0) respond(s);
    return;
  }
  setSndEnd(s, sndEnd(s) + sizeOf(w, c, false));
  if (appBits(w) & A_HALF_CLOSE) appShutdown(s); // shutdown(SHUT_WR) after the request
  if (sizeOf(w, c, true) == 0) responseDone(s);
}

/** `total` bytes have arrived so far on this end. */
export function appReceived(s: u32, total: u32): void {
  if (hasFlag(s, F_DONE)) return;
  if (tries(s) != 0) { if (hasFlag(s, F_SERVER)) return; } // not accept()ed yet: read after accept (tcp.ts accepted)
  const w = wl(s);
  const k = load<u32>(app(w), 8);
  if (k > 1) { keepAlive(s, total, k); return; }
  if (hasFlag(s, F_SERVER)) {
    if (total >= sizeOf(w, conn(s), false)) respond(s);
  } else if (total >= sizeOf(w, conn(s), true)) {
    responseDone(s);
  }
}

/**
 * A kept-alive connection (a pool's) carries k exchanges of fixed sizes back to back.
 * How far each end is follows from its byte counts, so no state is kept: the server
 * answers every whole request it has read, the client sends the next request once the
 * previous response is in, and the connection is done after the k-th.
 */
function keepAlive(s: u32, total: u32, k: u32): void {
  const req = size(s, false);
  const resp = size(s, true);
  const queued = sndEnd(s) - iss(s) - 1; // bytes this end has written so far
  if (hasFlag(s, F_SERVER)) {
    const asked = min(total / req, k);
    const answered = queued / resp;
    if (asked > answered) setSndEnd(s, sndEnd(s) + (asked - answered) * resp);
    if (asked == k) {
      setFlag(s, F_DONE);
      if (appBits(wl(s)) & A_SERVER_CLOSES) appClose(s, linger0(s));
    }
    return;
  }
  const answered = total / resp;
  if (answered >= k) { responseDone(s); return; }
  if (queued / req <= answered) setSndEnd(s, sndEnd(s) + req); // the next request
}

/** The peer closed its sending side: the application reads EOF and closes (a server, ServerCloseDelay later). */
export function appEof(s: u32): void {
  if (tries(s) != 0) { if (hasFlag(s, F_SERVER)) return; } // not accept()ed yet
  if (!hasFlag(s, F_DONE)) {
    setFlag(s, F_DONE); // EOF before the whole exchange: nothing more will come
    if (!hasFlag(s, F_SERVER)) loopNext(wl(s));
  }
  if (hasFlag(s, F_SERVER)) {
    const delay = wp(wl(s), WlParam.ServerCloseDelay);
    if (delay > 0) { closeLater(s, <u64>delay); return; }
  }
  appClose(s, false); // close(): after shutdown(SHUT_WR), the socket becomes an orphan
}

// Delayed close()s. A pending one is a record (slot, connection id, link direction) that
// its wheel event points to: by the time it is due the socket may be gone and its slot
// reused, so it acts only on the end of that connection (a connection id is unique in
// its host group, and the direction names the group and the end).
let CLOSES: usize = 0;  // u32 [record][3]
let closesCap: u32 = 0;
let closesTop: u32 = 0;
let closesFree: u32 = 0xFFFFFFFF;
function closeLater(s: u32, delay: u64): void {
  let r: u32;
  if (closesFree != 0xFFFFFFFF) { r = closesFree; closesFree = load<u32>(CLOSES + <usize>r * 12); }
  else {
    if (closesTop == closesCap) { const n = max(closesCap * 2, 64); CLOSES = col(CLOSES, closesCap, n, 12); closesCap = n; }
    r = closesTop++;
  }
  const p = CLOSES + <usize>r * 12;
  store<u32>(p, s); store<u32>(p, conn(s), 4); store<u32>(p, dir(s), 8);
  schedule(now + delay, EV_CLOSE, r, 0);
}
/** A delayed close() is due: record r's socket, if it is still that connection's end and open. */
export function closeDue(r: u32): void {
  const p = CLOSES + <usize>r * 12;
  const s = load<u32>(p);
  const c = load<u32>(p, 4);
  const d = load<u32>(p, 8);
  store<u32>(p, closesFree); closesFree = r;
  if (state(s) != <u32>State.CLOSE_WAIT || hasFlag(s, F_UDP)) return; // where EOF left it (a free slot reads CLOSED or LISTEN)
  if (conn(s) != c) return;
  if (dir(s) != d) return;
  if (hasFlag(s, F_FIN_QUEUED)) return;
  closeNow(s);
}

function respond(s: u32): void {
  setFlag(s, F_DONE);
  const w = wl(s);
  setSndEnd(s, sndEnd(s) + sizeOf(w, conn(s), true));
  const bits = appBits(w);
  if (bits & A_SERVER_CLOSES) appClose(s, (bits & A_LINGER0) != 0);
}

function responseDone(s: u32): void {
  if (hasFlag(s, F_DONE)) return;
  setFlag(s, F_DONE);
  bump(Stat.Completed);
  const w = wl(s);
  outcome(w, Outcome.Completed);
  loopNext(w);
  const bits = appBits(w);
  if (bits & A_CLIENT_CLOSES) {
    const hold = wp(w, WlParam.Hold);
    if (hold > 0) { schedule(now + <u64>hold, EV_HOLD, s, conn(s)); return; }
    appClose(s, (bits & A_LINGER0) != 0);
  }
}
/** A client's hold ended: it closes, unless the connection ended meanwhile (the slot then holds another or none). */
export function holdEnds(s: u32, c: u32): void {
  if (conn(s) != c || hasFlag(s, F_SERVER) || !hasFlag(s, F_DONE)) return;
  const st = state(s);
  if (st != State.ESTABLISHED && st != State.CLOSE_WAIT) return;
  appClose(s, (appBits(wl(s)) & A_LINGER0) != 0);
  flush(s, false); // (a close in answer to a segment goes out with that segment's answer; this one has none)
}

/** A client connection failed before its exchange ended, with `errno`. */
export function appFailed(s: u32, errno: i32): void {
  outcome(wl(s), Outcome.Failed + errno);
  loopRetry(wl(s), tries(s) + 1);
}


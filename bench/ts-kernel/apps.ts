// assembly/apps.ts in TypeScript: the tcp-churn workload. Arrivals (constant, or
// Poisson with exponential gaps from the workload's own xorshift64* stream and
// AssemblyScript's log), connect() with the sequential per-address port cursor,
// and the application's reactions to TCP events.

import { Arrival, Closer, Errno, HostParam, Outcome, PortAllocator, SizeDist, Stat, State, WlParam } from "../../assembly/abi.js";
import { actAs, now, schedule, takeSeq } from "./wheel.js";
import { ARRIVAL_LANES, firstLane, laneEnter, laneLeave, laneNext } from "./lanes.js";
import { bump } from "./metrics.js";
import { hostParam, hostSecretHi, hostSecretLo, HRNG, ipAddr, ipCursor, ipEpoch, ipHost, perturb, PERTURB_SIZE, portReserved, portUse, runSeed, setIpCursor } from "./net.js";
import { mix4, nextUnit, seedStream, storeU64 } from "./rng.js";
import { asLog } from "./aslog.js";
import { conn, F_DONE, F_SERVER, hasFlag, iss, lookup, tries, setFlag, setSndEnd, sndEnd, state, wl } from "./sockets.js";
import { activeOpen, appClose, appShutdown, EV_ARRIVAL, failNoPort, takeOverTimeWait, twReusable, twReuseApplies } from "./tcp.js";

export const MAX_WORKLOADS = 1024;
const WP = WlParam.COUNT;
export let nWorkloads = 0;
const RETRY_MIN = 1000; // a failed try is retried no sooner (apps.ts loopRetry)

let WPARAM = new Float64Array(0);
let WNEXT = new Float64Array(0);
let WCOUNT = new Uint32Array(0);
let WRNG = new Uint32Array(0);
let WFULL = new Uint32Array(0);  // 1 + the address's epoch when a port search last failed, 0 = none
let WPICKS = new Uint32Array(0); // ports taken since then
let WOUT = new Uint32Array(0);   // [workload][Outcome] what its connections came to
// [workload][8] what the per-connection paths read, converted by setWorkloadParam:
// fixed request, response size (SIZE_DRAWN: drawn) | Requests | A_* bits | SrcIp | DstAddr | DstPort | Dir
let WAPP = new Uint32Array(0);
let WCONN = new Uint32Array(0);  // [workload] connections numbered by its counter
let WGROUP = new Uint32Array(0); // [workload] the counter that numbers its connections (WlParam.ConnGroup)
let WSTRIDE = new Uint32Array(0); // [workload][2] ConnStride (at least 1), ConnOffset
const SIZE_DRAWN = 0xFFFFFFFF;
const A_LINGER0 = 1, A_HALF_CLOSE = 2, A_LOOP = 4, A_CLIENT_CLOSES = 8, A_SERVER_CLOSES = 16, A_HOOKED = 32, A_UDP = 64,
  A_LOCAL_PORT = 128, A_POISSON = 256, A_CONSTANT = 512;
function appBits(w: number): number { return WAPP[w * 8 + 3]; }

export function wp(w: number, k: number): number { return WPARAM[w * WP + k]; }
export function setWorkloadParam(w: number, k: number, v: number): void {
  WPARAM[w * WP + k] = v;
  const p = w * 8;
  WAPP[p] = i32(wp(w, WlParam.ReqDist)) === SizeDist.Fixed ? u32(wp(w, WlParam.Request)) : SIZE_DRAWN;
  WAPP[p + 1] = i32(wp(w, WlParam.RespDist)) === SizeDist.Fixed ? u32(wp(w, WlParam.Response)) : SIZE_DRAWN;
  WAPP[p + 2] = u32(wp(w, WlParam.Requests));
  const closer = i32(wp(w, WlParam.Closer));
  const arrival = i32(wp(w, WlParam.Arrival));
  WAPP[p + 3] = (wp(w, WlParam.Linger0) !== 0 ? A_LINGER0 : 0) | (wp(w, WlParam.HalfClose) !== 0 ? A_HALF_CLOSE : 0)
    | (wp(w, WlParam.Clients) > 0 ? A_LOOP : 0) | (closer !== Closer.Server ? A_CLIENT_CLOSES : 0)
    | (closer !== Closer.Client ? A_SERVER_CLOSES : 0) | (wp(w, WlParam.Hooked) !== 0 ? A_HOOKED : 0)
    | (wp(w, WlParam.Udp) !== 0 ? A_UDP : 0) | (i32(wp(w, WlParam.LocalPort)) > 0 ? A_LOCAL_PORT : 0)
    | (arrival === Arrival.Poisson ? A_POISSON : 0) | (arrival === Arrival.Constant ? A_CONSTANT : 0);
  WAPP[p + 4] = u32(wp(w, WlParam.SrcIp));
  WAPP[p + 5] = u32(wp(w, WlParam.DstAddr));
  WAPP[p + 6] = u32(wp(w, WlParam.DstPort));
  WAPP[p + 7] = u32(wp(w, WlParam.Dir));
  WGROUP[w] = Math.min(u32(wp(w, WlParam.ConnGroup)), MAX_WORKLOADS - 1);
  WSTRIDE[2 * w] = Math.max(u32(wp(w, WlParam.ConnStride)), 1);
  WSTRIDE[2 * w + 1] = u32(wp(w, WlParam.ConnOffset));
}

/** f64 -> u32 as the engine converts (truncation, saturating). */
function u32(v: number): number { return v >= 4294967295 ? 4294967295 : v > 0 ? Math.trunc(v) : 0; }
/** f64 -> i32, truncating and saturating. */
function i32(v: number): number { return v >= 2147483647 ? 2147483647 : v <= -2147483648 ? -2147483648 : v | 0; }

export function appsReset(): void {
  nWorkloads = 0;
  WPARAM = new Float64Array(MAX_WORKLOADS * WP);
  WNEXT = new Float64Array(MAX_WORKLOADS);
  WCOUNT = new Uint32Array(MAX_WORKLOADS);
  WRNG = new Uint32Array(MAX_WORKLOADS * 2);
  WFULL = new Uint32Array(MAX_WORKLOADS);
  WPICKS = new Uint32Array(MAX_WORKLOADS);
  WOUT = new Uint32Array(MAX_WORKLOADS * Outcome.COUNT);
  WAPP = new Uint32Array(MAX_WORKLOADS * 8);
  WCONN = new Uint32Array(MAX_WORKLOADS);
  WGROUP = new Uint32Array(MAX_WORKLOADS);
  WSTRIDE = new Uint32Array(MAX_WORKLOADS * 2);
  for (let w = 0; w < MAX_WORKLOADS; w++) setWorkloadParam(w, 0, 0); // what parameters all 0 make
}

export function outcome(w: number, k: number): void { WOUT[w * Outcome.COUNT + k]++; }

function noPort(w: number, failed: number): void {
  failNoPort();
  outcome(w, Outcome.Failed + Errno.EADDRNOTAVAIL);
  loopRetry(w, failed + 1);
}
export function appsBytes(): number { return WPARAM.byteLength + WNEXT.byteLength + WCOUNT.byteLength + WRNG.byteLength + WFULL.byteLength + WPICKS.byteLength + WOUT.byteLength + WAPP.byteLength; }

export function addWorkload(stream: number): number {
  const w = nWorkloads++;
  storeU64(WRNG, w, seedStream(runSeed, (stream < 0x10000 ? 0x30000n : 1n << 32n) + BigInt(stream)));
  return w;
}

export function appsStart(): void {
  for (let w = 0; w < nWorkloads; w++) {
    actAs(u32(wp(w, WlParam.SrcHost)));
    WNEXT[w] = wp(w, WlParam.Start);
    const clients = u32(wp(w, WlParam.Clients));
    if (clients > 0) {
      for (let c = 0; c < clients; c++) schedule(Math.trunc(wp(w, WlParam.Start)), EV_ARRIVAL, w, 0);
    } else {
      scheduleArrival(w);
    }
  }
}

function loopNext(w: number): void {
  if (appBits(w) & A_LOOP) schedule(now + Math.trunc(wp(w, WlParam.Think)), EV_ARRIVAL, w, 0);
}

function loopRetry(w: number, failed: number): void {
  if (wp(w, WlParam.Clients) === 0) return;
  const base = wp(w, WlParam.Backoff);
  if (base <= 0) { schedule(now + Math.max(Math.trunc(wp(w, WlParam.Think)), RETRY_MIN), EV_ARRIVAL, w, 0); return; }
  const f = Math.min(failed, 63);
  const ceiling = Math.min(wp(w, WlParam.BackoffMax), base * Math.pow(2.0, f - 1));
  const wait = nextUnit(WRNG, w) * ceiling;
  schedule(now + Math.max(Math.floor(wait), RETRY_MIN), EV_ARRIVAL, w, f);
}

function scheduleArrival(w: number): void {
  const count = WCOUNT[w];
  const cap = wp(w, WlParam.Count);
  if (cap > 0 && count >= cap) return;
  const rate = wp(w, WlParam.Rate);
  if (rate <= 0) return;
  let t = WNEXT[w];
  if (appBits(w) & A_POISSON) {
    t += -asLog(1.0 - nextUnit(WRNG, w)) * 1e6 / rate;
    WNEXT[w] = t;
  }
  const stop = wp(w, WlParam.Stop);
  if (stop > 0 && t >= stop) return;
  // Its arrival stream is a lane (lanes.ts); while one of its arrivals happens, the next takes its place.
  if (firing) { firing = false; laneNext(ARRIVAL_LANES + w, Math.floor(t), takeSeq()); }
  else laneEnter(ARRIVAL_LANES + w, Math.floor(t), takeSeq());
}

/** While an arrival from a lane happens, its lane is still first (as in assembly/apps.ts). */
let firing = false;
/** The first lane is a workload's arrival stream: its pending arrival is now. */
export function arrivalDue(): void {
  const w = firstLane() - ARRIVAL_LANES;
  firing = true;
  arrival(w, 0);
  if (firing) { firing = false; laneLeave(); } // no next arrival
}

export function arrival(w: number, failed: number): void {
  const bits = appBits(w);
  if (bits & A_LOOP) {
    const cap = wp(w, WlParam.Count);
    const stop = wp(w, WlParam.Stop);
    if ((cap > 0 && WCOUNT[w] >= cap) || (stop > 0 && now >= stop)) return;
    WCOUNT[w] = WCOUNT[w] + 1;
    connect(w, failed);
    return;
  }
  WCOUNT[w] = WCOUNT[w] + 1;
  if (bits & A_CONSTANT) {
    const count = WCOUNT[w];
    WNEXT[w] = wp(w, WlParam.Start) + count * 1e6 / wp(w, WlParam.Rate);
  }
  connect(w, 0);
  scheduleArrival(w);
}

function connect(w: number, failed: number): void {
  bump(Stat.Attempted);
  outcome(w, Outcome.Attempted);
  const k = WCONN[WGROUP[w]];
  WCONN[WGROUP[w]] = (k + 1) >>> 0;
  const id = k * WSTRIDE[2 * w] + WSTRIDE[2 * w + 1];
  if (id > 0xFFFFFFFF) throw new Error("engine table full: connection numbers past 2^32 (connections per client host x client hosts linked together)");
  const ip = WAPP[w * 8 + 4];
  const da = WAPP[w * 8 + 5];
  const dp = WAPP[w * 8 + 6];
  const bits = appBits(w);
  if (bits & A_UDP) throw new Error("the TypeScript kernel has no UDP (assembly/udp.ts is not ported)");
  const la = ipAddr(ip);
  let port = 0;
  if (bits & A_LOCAL_PORT) {
    port = i32(wp(w, WlParam.LocalPort));
    const t = lookup(la, port, da, dp);
    if (t >= 0 && !(state(t) === State.TIME_WAIT && twReusable(t))) { noPort(w, failed); return; }
    if (t >= 0) { takeOverTimeWait(t); bump(Stat.TwReused); }
  } else {
    // After a failed search of the whole range, connect() fails in O(1) while this
    // workload's takes keep up with the releases on the address (not under tw_reuse).
    const known = WFULL[w];
    if (known !== 0 && ((ipEpoch(ip) - (known - 1)) >>> 0) <= WPICKS[w] && !twReuseApplies(ipHost(ip), la, da)) {
      noPort(w, failed);
      return;
    }
    port = pickPort(ip, la, da, dp);
    if (port < 0) {
      WFULL[w] = ipEpoch(ip) + 1;
      WPICKS[w] = 0;
      noPort(w, failed);
      return;
    }
    WPICKS[w] = WPICKS[w] + 1;
  }
  activeOpen(ip, port, da, dp, WAPP[w * 8 + 7], w | (Math.min(failed, 63) << 10), id);
}

function pickPort(ip: number, la: number, da: number, dp: number): number {
  const h = ipHost(ip);
  const lo = hostParam(h, HostParam.PortLo);
  const n = (hostParam(h, HostParam.PortHi) - lo + 1) >>> 0;
  const kind = hostParam(h, HostParam.PortAllocator);
  if (kind === PortAllocator.Linux) return pickLinux(ip, h, lo, n, la, da, dp);
  let off = kind === PortAllocator.Random ? Math.trunc(nextUnit(HRNG, h) * n) >>> 0 : ipCursor(ip) % n;
  for (let i = 0; i < n; i++) {
    const p = (lo + off) >>> 0;
    off = off + 1 === n ? 0 : off + 1;
    if (portFree(ip, p, la, da, dp)) { setIpCursor(ip, off); return p; }
  }
  return -1;
}

function pickLinux(ip: number, h: number, lo: number, n: number, la: number, da: number, dp: number): number {
  const remaining = n > 1 ? (n & ~1) >>> 0 : n;
  const hi = hostSecretHi(h), lo32 = hostSecretLo(h);
  const portOffset = mix4((la ^ hi) >>> 0, da, dp, (lo32 ^ 0x5BD1E995) >>> 0);
  const table = perturb(h);
  const slot = mix4(la, (da ^ lo32) >>> 0, dp, 0x27D4EB2F) & (PERTURB_SIZE - 1);
  let offset = ((table[slot] + (portOffset >>> 16)) >>> 0) % remaining;
  offset = (offset & ~1) >>> 0;
  const step = remaining > 1 ? 2 : 1;
  for (let pass = 0; pass < 2; pass++) {
    let p = lo + offset;
    for (let i = 0; i < remaining; i += step, p += step) {
      if (p >= lo + remaining) p -= remaining;
      if (portFree(ip, p, la, da, dp)) {
        const nudge = Math.max(i, Math.trunc(nextUnit(HRNG, h) * 8) * step);
        table[slot] = table[slot] + nudge + step;
        return p;
      }
    }
    offset++;
    if (!(offset & 1) || remaining <= 1) break;
  }
  return -1;
}

function portFree(ip: number, p: number, la: number, da: number, dp: number): boolean {
  if (portReserved(ipHost(ip), p)) return false;
  const use = portUse(ip, p);
  if (use === 0) return true;
  if (use >= 0x8000) return false;
  const t = lookup(la, p, da, dp);
  if (t < 0) return true;
  if (state(t) === State.TIME_WAIT && twReusable(t)) {
    takeOverTimeWait(t);
    bump(Stat.TwReused);
    return true;
  }
  return false;
}

// ---- reactions ---------------------------------------------------------------------

function linger0(s: number): boolean { return (appBits(wl(s)) & A_LINGER0) !== 0; }

/** Lognormal uses V8's Math.exp and Math.cos, not AssemblyScript's: not bit-exact (check.mjs has none). */
function size(s: number, response: boolean): number {
  const w = wl(s);
  const fixed = WAPP[w * 8 + (response ? 1 : 0)];
  if (fixed !== SIZE_DRAWN) return fixed;
  const dist = i32(wp(w, response ? WlParam.RespDist : WlParam.ReqDist));
  if (dist === SizeDist.Fixed) return u32(wp(w, response ? WlParam.Response : WlParam.Request));
  const a = wp(w, response ? WlParam.RespA : WlParam.ReqA);
  const b = wp(w, response ? WlParam.RespB : WlParam.ReqB);
  const key = (u32(wp(w, WlParam.Stream)) * 2 + (response ? 1 : 0)) >>> 0;
  const seedLo = Number(BigInt.asUintN(32, runSeed)), seedHi = Number(BigInt.asUintN(32, runSeed >> 32n));
  const u = (mix4(conn(s), key, seedLo, seedHi) + 0.5) / 4294967296.0;
  let x: number;
  if (dist === SizeDist.Uniform) x = a + u * (b - a + 1.0);
  else if (dist === SizeDist.Exponential) x = -asLog(1.0 - u) * a;
  else {
    const u2 = (mix4(conn(s), (key ^ 0x9E3779B9) >>> 0, seedLo, 0x85EBCA6B) + 0.5) / 4294967296.0;
    x = a * Math.exp(b * Math.sqrt(-2.0 * asLog(u)) * Math.cos(6.283185307179586 * u2));
  }
  return u32(Math.min(Math.floor(x), 1073741824.0));
}

export function appEstablished(s: number): void {
  const w = wl(s);
  if (hasFlag(s, F_SERVER)) {
    if (size(s, false) === 0) respond(s);
    return;
  }
  setSndEnd(s, sndEnd(s) + size(s, false));
  if (appBits(w) & A_HALF_CLOSE) appShutdown(s);
  if (size(s, true) === 0) responseDone(s);
}

export function appReceived(s: number, total: number): void {
  if (hasFlag(s, F_DONE)) return;
  const k = WAPP[wl(s) * 8 + 2];
  if (k > 1) { keepAlive(s, total, k); return; }
  if (hasFlag(s, F_SERVER)) {
    if (total >= size(s, false)) respond(s);
  } else if (total >= size(s, true)) {
    responseDone(s);
  }
}

function keepAlive(s: number, total: number, k: number): void {
  const req = size(s, false);
  const resp = size(s, true);
  const queued = (sndEnd(s) - iss(s) - 1) >>> 0;
  if (hasFlag(s, F_SERVER)) {
    const asked = Math.min(Math.floor(total / req), k);
    const answered = Math.floor(queued / resp);
    if (asked > answered) setSndEnd(s, (sndEnd(s) + (asked - answered) * resp) >>> 0);
    if (asked === k) {
      setFlag(s, F_DONE);
      if (appBits(wl(s)) & A_SERVER_CLOSES) appClose(s, linger0(s));
    }
    return;
  }
  const answered = Math.floor(total / resp);
  if (answered >= k) { responseDone(s); return; }
  if (Math.floor(queued / req) <= answered) setSndEnd(s, (sndEnd(s) + req) >>> 0);
}

export function appEof(s: number): void {
  if (!hasFlag(s, F_DONE)) {
    setFlag(s, F_DONE);
    if (!hasFlag(s, F_SERVER)) loopNext(wl(s));
  }
  appClose(s, false);
}

function respond(s: number): void {
  setFlag(s, F_DONE);
  setSndEnd(s, sndEnd(s) + size(s, true));
  if (appBits(wl(s)) & A_SERVER_CLOSES) appClose(s, linger0(s));
}

function responseDone(s: number): void {
  if (hasFlag(s, F_DONE)) return;
  setFlag(s, F_DONE);
  bump(Stat.Completed);
  outcome(wl(s), Outcome.Completed);
  loopNext(wl(s));
  if (appBits(wl(s)) & A_CLIENT_CLOSES) appClose(s, linger0(s));
}

export function appFailed(s: number, errno: number): void {
  outcome(wl(s), Outcome.Failed + errno);
  loopRetry(wl(s), tries(s) + 1);
}

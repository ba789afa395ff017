// assembly/net.ts in TypeScript: hosts and their knobs, IPv4 addresses with a
// u16 port table each (holders, bit 15 for a listener; and TIME_WAIT holders),
// listeners, link directions with loss kernels and staged rules, and the pool of
// segments in flight (free list linked through the ack column). Same table sizes.

import { HostParam, LossKind, State, STATE_COUNT } from "../../assembly/abi.js";
import { seedStream, storeU64 } from "./rng.js";
import { firstLane, laneEnter, laneLeave, laneNext } from "./lanes.js";

export const MAX_HOSTS = 1024;
export const MAX_IPS = 1024;
export const MAX_DIRS = 4096;
export const MAX_LISTENERS = 1024;
export const MAX_RULES = 256;
const HP = HostParam.COUNT;
const NONE = 0xFFFFFFFF;

export let nHosts = 0;
export let nIps = 0;
export let nDirs = 0;
export let nListeners = 0;
export let nRules = 0;
export let runSeed = 0n;

// ---- hosts ---------------------------------------------------------------
let HPARAM = new Uint32Array(0);
let HTW = new Uint32Array(0);
let HSTATES = new Uint32Array(0);
let HSECRET = new Uint32Array(0); // [2h] hi, [2h+1] lo

export function hostParam(h: number, k: number): number { return HPARAM[h * HP + k]; }
export function setHostParam(h: number, k: number, v: number): void { HPARAM[h * HP + k] = v; }
export function hostTw(h: number): number { return HTW[h]; }
export function addHostTw(h: number, d: number): void { HTW[h] += d; }
export function hostSecretHi(h: number): number { return HSECRET[2 * h]; }
export function hostSecretLo(h: number): number { return HSECRET[2 * h + 1]; }
export function stateCount(h: number, st: number): number { return HSTATES[h * STATE_COUNT + st]; }
export function addStateCount(h: number, st: number, d: number): void { HSTATES[h * STATE_COUNT + st] += d; }

export function addHost(stream: number): number {
  const h = nHosts++;
  storeU64(HSECRET, h, seedStream(runSeed, 0x10000n + BigInt(stream)));
  storeU64(HRNG, h, seedStream(runSeed, 0x40000n + BigInt(stream)));
  HPERTURB[h] = new Uint32Array(PERTURB_SIZE);
  HRESERVED[h] = new Uint8Array(8192);
  return h;
}
export const PERTURB_SIZE = 256;
export let HRNG = new Uint32Array(0);               // [2h] random stream for port selection
let HPERTURB: Uint32Array[] = [];                    // [h] Linux's table_perturb
let HRESERVED: Uint8Array[] = [];                    // [h] a bit per reserved port
export function portReserved(h: number, p: number): boolean { return (HRESERVED[h][p >>> 3] & (1 << (p & 7))) !== 0; }
export function reservePorts(h: number, lo: number, hi: number): void {
  for (let p = lo; p <= hi && p < 65536; p++) HRESERVED[h][p >>> 3] |= 1 << (p & 7);
}
export function perturb(h: number): Uint32Array { return HPERTURB[h]; }

// ---- addresses and their port tables ---------------------------------------
let IPADDR = new Uint32Array(0);
let IPHOST = new Uint16Array(0);
let IPUSED = new Uint32Array(0);
let IPCURSOR = new Uint32Array(0);
let IPEPOCH = new Uint32Array(0); // bumped whenever a socket on the address lets go of a port
let PORTUSE: Uint16Array[] = [];
let PORTTW: Uint16Array[] = [];
export const LISTENER_BIT = 0x8000;

export function ipAddr(i: number): number { return IPADDR[i]; }
export function ipHost(i: number): number { return IPHOST[i]; }
export function ipPortsUsed(i: number): number { return IPUSED[i]; }
export function ipCursor(i: number): number { return IPCURSOR[i]; }
export function setIpCursor(i: number, v: number): void { IPCURSOR[i] = v; }
export function portUse(i: number, p: number): number { return PORTUSE[i][p]; }
/** The address's port tables (the engine hands the SDK pointers to them for a snapshot). */
export function portUseTable(i: number): Uint16Array { return PORTUSE[i]; }
export function portTwTable(i: number): Uint16Array { return PORTTW[i]; }

export function holdPort(i: number, p: number, amount: number): void {
  const t = PORTUSE[i];
  const v = t[p];
  if (v === 0) IPUSED[i] = IPUSED[i] + 1;
  t[p] = v + amount; // u16 store: wraps as the engine's does
}
export function ipEpoch(i: number): number { return IPEPOCH[i]; }
export function releasePort(i: number, p: number, amount = 1): void {
  IPEPOCH[i] = IPEPOCH[i] + 1;
  const t = PORTUSE[i];
  const v = (t[p] - amount) >>> 0;
  t[p] = v;
  if (v === 0) IPUSED[i] = IPUSED[i] - 1;
}
export function addPortTw(i: number, p: number, d: number): void {
  PORTTW[i][p] += d;
}

export function addIp(h: number, addr: number): number {
  const i = nIps++;
  IPADDR[i] = addr;
  IPHOST[i] = h;
  PORTUSE[i] = new Uint16Array(65536);
  PORTTW[i] = new Uint16Array(65536);
  return i;
}

// ---- listeners ---------------------------------------------------------------
let LSIP = new Uint32Array(0);
let LSPORT = new Uint32Array(0);
let LSBACKLOG = new Uint32Array(0);
let LSQUEUE = new Uint32Array(0);
let LSBOUND = new Uint8Array(0);
let LSREUSE = new Uint8Array(0);
let LSSTART = new Float64Array(0); // u64 us, exact as a number
let LSSTOP = new Float64Array(0);
let LSRETRY = new Uint32Array(0);
let LSCOOKIE = new Float64Array(0); // when the listener last sent a SYN cookie + 1 (0: never)

export function addListener(ip: number, port: number, backlog: number): number {
  const l = nListeners++;
  LSIP[l] = ip;
  LSPORT[l] = port;
  LSBACKLOG[l] = backlog;
  LSRETRY[l] = 1000000;
  bindListener(l);
  return l;
}
export function setListenerLife(l: number, start: number, stop: number, retry: number, reuse: boolean): void {
  LSSTART[l] = start;
  LSSTOP[l] = stop;
  LSRETRY[l] = Math.max(retry, 1);
  LSREUSE[l] = reuse ? 1 : 0;
  if (start > 0 && (stop === 0 || start < stop) && listenerBound(l)) unbindListener(l);
}
export function bindListener(l: number): void {
  const ip = LSIP[l];
  LSBOUND[l] = 1;
  holdPort(ip, LSPORT[l], LISTENER_BIT);
  addStateCount(ipHost(ip), State.LISTEN, 1);
}
export function unbindListener(l: number): void {
  const ip = LSIP[l];
  LSBOUND[l] = 0;
  LSQUEUE[l] = 0;
  releasePort(ip, LSPORT[l], LISTENER_BIT);
  addStateCount(ipHost(ip), State.LISTEN, -1);
}
/** The bound listener on (address, port), or -1. */
export function findListener(addr: number, port: number): number {
  for (let l = 0; l < nListeners; l++) {
    if (LSPORT[l] === port && IPADDR[LSIP[l]] === addr && LSBOUND[l] !== 0) return l;
  }
  return -1;
}
export function listenerIp(l: number): number { return LSIP[l]; }
export function listenerPort(l: number): number { return LSPORT[l]; }
export function listenerBound(l: number): boolean { return LSBOUND[l] !== 0; }
export function listenerReuse(l: number): boolean { return LSREUSE[l] !== 0; }
export function listenerStartAt(l: number): number { return LSSTART[l]; }
export function listenerStopAt(l: number): number { return LSSTOP[l]; }
export function listenerRetry(l: number): number { return LSRETRY[l]; }
export function listenerBacklog(l: number): number { return LSBACKLOG[l]; }
export function listenerBacklogUsed(l: number): number { return LSQUEUE[l]; }
/** The accept queue: not ported (the checked scenarios accept at once, so it stays empty). */
export function acceptQueued(_l: number): number { return 0; }
export function cookieSentAt(l: number): number { return LSCOOKIE[l]; }
export function setCookieSentAt(l: number, t: number): void { LSCOOKIE[l] = t; }
export function addListenerQueue(l: number, d: number): void { LSQUEUE[l] += d; }

// ---- link directions -------------------------------------------------------------
let DSRC = new Uint16Array(0);
let DDST = new Uint16Array(0);
let DREV = new Uint16Array(0);
let DLAT = new Uint32Array(0);
let DLOSS = new Uint8Array(0);
let DBAD = new Uint8Array(0);
let DP = new Float64Array(0);
/** Random streams, [2d] hi and [2d+1] lo of each direction's xorshift64* state. */
export let DRNG = new Uint32Array(0);
let DRULE = new Int32Array(0);
let DTS = new Uint8Array(0);    // [dir] 1: both hosts have tcp_timestamps on
let ROUTE = new Uint16Array(0);

export function dirSrc(d: number): number { return DSRC[d]; }
export function dirDst(d: number): number { return DDST[d]; }
export function dirRev(d: number): number { return DREV[d]; }
export function dirLatency(d: number): number { return DLAT[d]; }
export function dirLoss(d: number): number { return DLOSS[d]; }
export function dirBad(d: number): boolean { return DBAD[d] !== 0; }
export function setDirBad(d: number, b: boolean): void { DBAD[d] = b ? 1 : 0; }
export function dirP(d: number, k: number): number { return DP[d * 4 + k]; }
export function dirFirstRule(d: number): number { return DRULE[d]; }
export function dirTs(d: number): boolean { return DTS[d] !== 0; }

export function addLink(a: number, b: number, latAB: number, latBA: number, stream: number): number {
  const ab = nDirs++; const ba = nDirs++;
  DSRC[ab] = a; DDST[ab] = b;
  DSRC[ba] = b; DDST[ba] = a;
  DREV[ab] = ba; DREV[ba] = ab;
  DLAT[ab] = latAB; DLAT[ba] = latBA;
  QHEAD[ab] = NONE; QHEAD[ba] = NONE;
  storeU64(DRNG, ab, seedStream(runSeed, 0x20000n + 2n * BigInt(stream)));
  storeU64(DRNG, ba, seedStream(runSeed, 0x20000n + 2n * BigInt(stream) + 1n));
  DRULE[ab] = -1; DRULE[ba] = -1;
  DTS[ab] = DTS[ba] = hostParam(a, HostParam.Timestamps) !== 0 && hostParam(b, HostParam.Timestamps) !== 0 ? 1 : 0;
  ROUTE[a * MAX_HOSTS + b] = ab + 1;
  ROUTE[b * MAX_HOSTS + a] = ba + 1;
  return ab;
}
export function route(a: number, b: number): number {
  return ROUTE[a * MAX_HOSTS + b] - 1;
}
export function setLoss(d: number, kind: number, p0: number, p1: number, p2: number, p3: number): void {
  DLOSS[d] = kind;
  DP[d * 4] = p0; DP[d * 4 + 1] = p1; DP[d * 4 + 2] = p2; DP[d * 4 + 3] = p3;
  if (kind === LossKind.GilbertElliott) DBAD[d] = 0;
}

// ---- staged rules ---------------------------------------------------------------------
let RNEXT = new Int32Array(0);
let RMASK = new Uint8Array(0);
let RVALUE = new Uint8Array(0);
let RSTATE = new Uint8Array(0);
let RCONN = new Int32Array(0);
let RNTH = new Uint32Array(0);
let RSEEN = new Uint32Array(0);
let RACTION = new Uint8Array(0);
let RDELAY = new Uint32Array(0);

export function addRule(d: number, mask: number, value: number, senderState: number, connId: number, nth: number,
                        action: number, delay: number): number {
  const r = nRules++;
  RNEXT[r] = -1;
  let last = dirFirstRule(d);
  if (last < 0) DRULE[d] = r;
  else {
    while (RNEXT[last] >= 0) last = RNEXT[last];
    RNEXT[last] = r;
  }
  RMASK[r] = mask; RVALUE[r] = value;
  RSTATE[r] = senderState + 1;
  RCONN[r] = connId;
  RNTH[r] = nth;
  RACTION[r] = action;
  RDELAY[r] = delay;
  return r;
}
export function ruleNext(r: number): number { return RNEXT[r]; }
export function ruleAction(r: number): number { return RACTION[r]; }
export function ruleDelay(r: number): number { return RDELAY[r]; }
export function ruleFires(r: number, fl: number, senderState: number, connId: number): boolean {
  if ((fl & RMASK[r]) !== RVALUE[r]) return false;
  const st = RSTATE[r];
  if (st !== 0 && st - 1 !== senderState) return false;
  const c = RCONN[r];
  if (c >= 0 && c !== connId) return false;
  const seen = (RSEEN[r] + 1) >>> 0;
  RSEEN[r] = seen;
  const nth = RNTH[r];
  return nth === 0 || nth === seen;
}

// ---- segments in flight ----------------------------------------------------------------
let sgCap = 0; let sgTop = 0; let sgFree = NONE;
let SGSRC = new Uint32Array(0); let SGDST = new Uint32Array(0);
let SGSPORT = new Uint16Array(0); let SGDPORT = new Uint16Array(0);
let SGSEQ = new Uint32Array(0); let SGACK = new Uint32Array(0); let SGLEN = new Uint32Array(0);
let SGFLAGS = new Uint8Array(0); let SGDIR = new Uint16Array(0); let SGWL = new Uint16Array(0);
let SGCONN = new Uint32Array(0); let SGFATE = new Uint8Array(0); // 0 deliver (hooks are not ported)
// The timestamps option: 1 when carried, with TSval and TSecr.
let SGOPTS = new Uint8Array(0); let SGTSVAL = new Uint32Array(0); let SGTSECR = new Uint32Array(0);
// Its direction's queue: the next segment, the arrival time and the filing number (wheel.ts).
let SGNEXT = new Uint32Array(0); let SGAT = new Float64Array(0); let SGORDER = new Float64Array(0);

export function sgSrc(g: number): number { return SGSRC[g]; }
export function sgDst(g: number): number { return SGDST[g]; }
export function sgSport(g: number): number { return SGSPORT[g]; }
export function sgDport(g: number): number { return SGDPORT[g]; }
export function sgSeq(g: number): number { return SGSEQ[g]; }
export function sgAck(g: number): number { return SGACK[g]; }
export function sgLen(g: number): number { return SGLEN[g]; }
export function sgFlags(g: number): number { return SGFLAGS[g]; }
export function sgDir(g: number): number { return SGDIR[g]; }
export function sgWl(g: number): number { return SGWL[g]; }
export function sgConn(g: number): number { return SGCONN[g]; }
export function sgFate(g: number): number { return SGFATE[g]; }
export function sgOpts(g: number): number { return SGOPTS[g]; }
export function sgTsval(g: number): number { return SGTSVAL[g]; }
export function sgTsecr(g: number): number { return SGTSECR[g]; }
export function setSgOpts(g: number, opts: number, tsval: number, tsecr: number): void { SGOPTS[g] = opts; SGTSVAL[g] = tsval; SGTSECR[g] = tsecr; }

function regrow<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(old: T, n: number): T {
  const a = new (old.constructor as { new(n: number): T })(n);
  a.set(old);
  return a;
}

function growSegments(): void {
  const n = sgCap * 2;
  SGSRC = regrow(SGSRC, n); SGDST = regrow(SGDST, n);
  SGSPORT = regrow(SGSPORT, n); SGDPORT = regrow(SGDPORT, n);
  SGSEQ = regrow(SGSEQ, n); SGACK = regrow(SGACK, n);
  SGLEN = regrow(SGLEN, n); SGFLAGS = regrow(SGFLAGS, n);
  SGDIR = regrow(SGDIR, n); SGWL = regrow(SGWL, n);
  SGCONN = regrow(SGCONN, n); SGFATE = regrow(SGFATE, n);
  SGOPTS = regrow(SGOPTS, n); SGTSVAL = regrow(SGTSVAL, n); SGTSECR = regrow(SGTSECR, n);
  SGNEXT = regrow(SGNEXT, n); SGAT = regrow(SGAT, n); SGORDER = regrow(SGORDER, n);
  sgCap = n;
}

export function newSegment(d: number, sa: number, sp: number, da: number, dp: number, fl: number, seq: number,
                           ack: number, len: number, w: number, c: number): number {
  let g: number;
  if (sgFree !== NONE) { g = sgFree; sgFree = SGACK[g]; }
  else { if (sgTop >= sgCap) growSegments(); g = sgTop++; }
  SGSRC[g] = sa; SGDST[g] = da;
  SGSPORT[g] = sp; SGDPORT[g] = dp;
  SGSEQ[g] = seq; SGACK[g] = ack;
  SGLEN[g] = len; SGFLAGS[g] = fl;
  SGDIR[g] = d; SGWL[g] = w;
  SGCONN[g] = c; SGFATE[g] = 0;
  return g;
}
export function freeSegment(g: number): void {
  SGACK[g] = sgFree;
  sgFree = g;
}

// A direction's segments arrive in the order they were sent: a FIFO queue per
// direction, a lane of lanes.ts, as in assembly/net.ts.
let QHEAD = new Uint32Array(0); // [dir] first segment in flight, NONE when none
let QTAIL = new Uint32Array(0); // [dir] last segment in flight

/** Puts segment g in flight on direction d, to arrive at `at`, filed as number `order`. */
export function putInFlight(g: number, d: number, at: number, order: number): void {
  SGNEXT[g] = NONE; SGAT[g] = at; SGORDER[g] = order;
  if (QHEAD[d] !== NONE) {
    SGNEXT[QTAIL[d]] = g;
    QTAIL[d] = g;
    return;
  }
  QHEAD[d] = g; QTAIL[d] = g;
  laneEnter(d, at, order); // its first segment
}

/** Takes the first lane's first segment (the lane is a direction's queue); the queue's next segment takes its place. */
export function takeSegment(): number {
  const lane = firstLane();
  const g = QHEAD[lane];
  const n = SGNEXT[g];
  QHEAD[lane] = n;
  if (n !== NONE) laneNext(lane, SGAT[n], SGORDER[n]);
  else laneLeave();
  return g;
}

export function netBytes(): number {
  let b = HPARAM.byteLength + HTW.byteLength + HSTATES.byteLength + HSECRET.byteLength
    + IPADDR.byteLength + IPHOST.byteLength + IPUSED.byteLength + IPCURSOR.byteLength + IPEPOCH.byteLength
    + LSIP.byteLength * 4 + LSBOUND.byteLength * 2 + LSSTART.byteLength * 2 + LSRETRY.byteLength + DSRC.byteLength * 3 + DLAT.byteLength + DLOSS.byteLength * 2 + DP.byteLength
    + DRNG.byteLength + DRULE.byteLength + ROUTE.byteLength
    + RNEXT.byteLength * 5 + RMASK.byteLength * 4
    + sgCap * 62 + QHEAD.byteLength * 2 + DTS.byteLength;
  for (let i = 0; i < nIps; i++) b += PORTUSE[i].byteLength + PORTTW[i].byteLength;
  return b;
}

export function netReset(seed: bigint, segmentCapacity: number): void {
  runSeed = seed;
  nHosts = 0; nIps = 0; nDirs = 0; nListeners = 0; nRules = 0;
  HPARAM = new Uint32Array(MAX_HOSTS * HP);
  HTW = new Uint32Array(MAX_HOSTS);
  HSTATES = new Uint32Array(MAX_HOSTS * STATE_COUNT);
  HSECRET = new Uint32Array(MAX_HOSTS * 2);
  HRNG = new Uint32Array(MAX_HOSTS * 2); HPERTURB = []; HRESERVED = [];
  IPADDR = new Uint32Array(MAX_IPS); IPHOST = new Uint16Array(MAX_IPS);
  IPUSED = new Uint32Array(MAX_IPS); IPCURSOR = new Uint32Array(MAX_IPS);
  IPEPOCH = new Uint32Array(MAX_IPS);
  PORTUSE = []; PORTTW = [];
  LSIP = new Uint32Array(MAX_LISTENERS); LSPORT = new Uint32Array(MAX_LISTENERS);
  LSBACKLOG = new Uint32Array(MAX_LISTENERS); LSQUEUE = new Uint32Array(MAX_LISTENERS);
  LSBOUND = new Uint8Array(MAX_LISTENERS); LSREUSE = new Uint8Array(MAX_LISTENERS);
  LSSTART = new Float64Array(MAX_LISTENERS); LSSTOP = new Float64Array(MAX_LISTENERS);
  LSRETRY = new Uint32Array(MAX_LISTENERS); LSCOOKIE = new Float64Array(MAX_LISTENERS);
  DSRC = new Uint16Array(MAX_DIRS); DDST = new Uint16Array(MAX_DIRS); DREV = new Uint16Array(MAX_DIRS);
  DLAT = new Uint32Array(MAX_DIRS); DLOSS = new Uint8Array(MAX_DIRS); DBAD = new Uint8Array(MAX_DIRS);
  DP = new Float64Array(MAX_DIRS * 4); DRNG = new Uint32Array(MAX_DIRS * 2); DRULE = new Int32Array(MAX_DIRS);
  ROUTE = new Uint16Array(MAX_HOSTS * MAX_HOSTS);
  RNEXT = new Int32Array(MAX_RULES); RMASK = new Uint8Array(MAX_RULES); RVALUE = new Uint8Array(MAX_RULES);
  RSTATE = new Uint8Array(MAX_RULES); RCONN = new Int32Array(MAX_RULES); RNTH = new Uint32Array(MAX_RULES);
  RSEEN = new Uint32Array(MAX_RULES); RACTION = new Uint8Array(MAX_RULES); RDELAY = new Uint32Array(MAX_RULES);
  sgCap = segmentCapacity; sgTop = 0; sgFree = NONE;
  SGSRC = new Uint32Array(sgCap); SGDST = new Uint32Array(sgCap);
  SGSPORT = new Uint16Array(sgCap); SGDPORT = new Uint16Array(sgCap);
  SGSEQ = new Uint32Array(sgCap); SGACK = new Uint32Array(sgCap); SGLEN = new Uint32Array(sgCap);
  SGFLAGS = new Uint8Array(sgCap); SGDIR = new Uint16Array(sgCap); SGWL = new Uint16Array(sgCap);
  SGCONN = new Uint32Array(sgCap); SGFATE = new Uint8Array(sgCap);
  SGOPTS = new Uint8Array(sgCap); SGTSVAL = new Uint32Array(sgCap); SGTSECR = new Uint32Array(sgCap);
  SGNEXT = new Uint32Array(sgCap); SGAT = new Float64Array(sgCap); SGORDER = new Float64Array(sgCap);
  DTS = new Uint8Array(MAX_DIRS);
  QHEAD = new Uint32Array(MAX_DIRS); QTAIL = new Uint32Array(MAX_DIRS);
}

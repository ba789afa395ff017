// assembly/sockets.ts in TypeScript: the socket table, one typed array per column
// (same widths: 55 bytes of columns + 8 bytes of hash table per slot), slots reused
// through a free list linked by the IRS column, and the 4-tuple hash: open
// addressing, linear probing over slot indices + 1, backward-shift deletion, the
// table twice the capacity and rehashed when the capacity doubles.

import { mulhi } from "./rng.js";
import { orphan } from "./wheel.js";

export const F_SERVER = 1;
export const F_FIN_QUEUED = 2;
export const F_DONE = 4;
export const F_ACK_NOW = 8;
export const F_EVER_EST = 16;
export const F_ERROR = 32;
export const F_SHUT_WR = 128; // shutdown(SHUT_WR), no close() yet: not an orphan

const NONE = 0xFFFFFFFF;

let cap = 0;
let top = 0;
let freeHead = NONE;
export let live = 0;
/** Exact high-water mark of live sockets (the engine has no such counter; the bench reports it). */
export let peakLive = 0;

let LADDR = new Uint32Array(0); let RADDR = new Uint32Array(0);
let LPORT = new Uint16Array(0); let RPORT = new Uint16Array(0);
let STATE = new Uint8Array(0); let FLAGS = new Uint8Array(0); let RETRIES = new Uint8Array(0);
let IPIDX = new Uint16Array(0); let WL = new Uint16Array(0); let DIR = new Uint16Array(0); let RTO = new Uint16Array(0);
let ISS = new Uint32Array(0); let IRS = new Uint32Array(0); let SNDUNA = new Uint32Array(0); let SNDNXT = new Uint32Array(0);
let SNDEND = new Uint32Array(0); let RCVNXT = new Uint32Array(0); let TIMER = new Uint32Array(0); let CONN = new Uint32Array(0);
let TSRECENT = new Uint32Array(0); // RFC 7323 TS.Recent (0: none yet)
// The delayed-ACK state (the engine's ACKS u64, delack.ts) and timer event (DACK).
let ACKBITS = new Uint8Array(0); let ACKATO = new Uint16Array(0); let ACKWUP = new Uint16Array(0); let ACKLRCV = new Uint32Array(0);
let DACK = new Uint32Array(0);

let HT = new Uint32Array(0);
/** As in the engine: a direct-mapped cache (connection id, direction parity) -> slot + 1 in front of the hash. */
const HC_MASK = (1 << 12) - 1;
const HC = new Uint32Array(HC_MASK + 1);
function hcIndex(c: number, d: number): number { return (((c + Math.imul(d >>> 1, 0x9E3779B1)) << 1) | (d & 1)) & HC_MASK; }
let htMask = 0;
/** As in the engine: an entry is slot + 1 in the low htBits bits, its distance from home (saturated) above. */
let htBits = 0;
let htMaxDist = 0;
function htSizeFor(size: number): void {
  htMask = size - 1;
  htBits = 31 - Math.clz32(size);
  htMaxDist = 0xFFFFFFFF >>> htBits;
}
function htMake(v: number, d: number): number { return ((d < htMaxDist ? d : htMaxDist) << htBits | v) >>> 0; }

/** The engine's figure (68 with its pad byte and the delayed-ACK state, + 8 in the hash table). */
export const SLOT_BYTES = 68 + 8;

export function laddr(s: number): number { return LADDR[s]; }
export function raddr(s: number): number { return RADDR[s]; }
export function lport(s: number): number { return LPORT[s]; }
export function rport(s: number): number { return RPORT[s]; }
export function state(s: number): number { return STATE[s]; }
export function setStateRaw(s: number, v: number): void { STATE[s] = v; }
export function flags(s: number): number { return FLAGS[s]; }
export function hasFlag(s: number, f: number): boolean { return (FLAGS[s] & f) !== 0; }
export function setFlag(s: number, f: number): void { FLAGS[s] |= f; }
export function clearFlag(s: number, f: number): void { FLAGS[s] &= ~f; }
export function retries(s: number): number { return RETRIES[s]; }
export function setRetries(s: number, v: number): void { RETRIES[s] = v; }
export function ipIdx(s: number): number { return IPIDX[s]; }
export function wl(s: number): number { return WL[s] & 0x3FF; }
export function tries(s: number): number { return WL[s] >>> 10; }
export function dir(s: number): number { return DIR[s]; }
export function rtoMs(s: number): number { return RTO[s]; }
export function setRtoMs(s: number, v: number): void { RTO[s] = v < 65535 ? v : 65535; }
export function iss(s: number): number { return ISS[s]; }
export function setIss(s: number, v: number): void { ISS[s] = v; }
export function irs(s: number): number { return IRS[s]; }
export function setIrs(s: number, v: number): void { IRS[s] = v; }
export function sndUna(s: number): number { return SNDUNA[s]; }
export function setSndUna(s: number, v: number): void { SNDUNA[s] = v; }
export function sndNxt(s: number): number { return SNDNXT[s]; }
export function setSndNxt(s: number, v: number): void { SNDNXT[s] = v; }
export function sndEnd(s: number): number { return SNDEND[s]; }
export function setSndEnd(s: number, v: number): void { SNDEND[s] = v; }
export function rcvNxt(s: number): number { return RCVNXT[s]; }
export function setRcvNxt(s: number, v: number): void { RCVNXT[s] = v; }
/** The socket's timer event (wheel.ts), 0 when none is filed; its due time is the socket's deadline. */
export function timerEvent(s: number): number { return TIMER[s]; }
export function setTimerEvent(s: number, e: number): void { TIMER[s] = e; }
/** Lets go of the socket's timer event, if any: it is dropped when its slot is reached. */
function dropTimer(s: number): void {
  const e = TIMER[s];
  if (e !== 0) { orphan(e); TIMER[s] = 0; }
  const d = DACK[s];
  if (d !== 0) { orphan(d); DACK[s] = 0; }
}
export function ackBits(s: number): number { return ACKBITS[s]; }
export function setAckBits(s: number, v: number): void { ACKBITS[s] = v; }
export function ackAto(s: number): number { return ACKATO[s]; }
export function setAckAto(s: number, v: number): void { ACKATO[s] = v; }
export function ackWup(s: number): number { return ACKWUP[s]; }
export function setAckWup(s: number, v: number): void { ACKWUP[s] = v; }
export function ackLrcv(s: number): number { return ACKLRCV[s]; }
export function setAckLrcv(s: number, v: number): void { ACKLRCV[s] = v; }
export function dackEvent(s: number): number { return DACK[s]; }
export function setDackEvent(s: number, e: number): void { DACK[s] = e; }
export function conn(s: number): number { return CONN[s]; }
export function tsRecent(s: number): number { return TSRECENT[s]; }
export function setTsRecent(s: number, v: number): void { TSRECENT[s] = v; }

export function socketsReset(capacity: number): void {
  cap = capacity; top = 0; freeHead = NONE; live = 0; peakLive = 0;
  LADDR = new Uint32Array(cap); RADDR = new Uint32Array(cap);
  LPORT = new Uint16Array(cap); RPORT = new Uint16Array(cap);
  STATE = new Uint8Array(cap); FLAGS = new Uint8Array(cap); RETRIES = new Uint8Array(cap);
  IPIDX = new Uint16Array(cap); WL = new Uint16Array(cap);
  DIR = new Uint16Array(cap); RTO = new Uint16Array(cap);
  ISS = new Uint32Array(cap); IRS = new Uint32Array(cap);
  SNDUNA = new Uint32Array(cap); SNDNXT = new Uint32Array(cap);
  SNDEND = new Uint32Array(cap); RCVNXT = new Uint32Array(cap);
  TIMER = new Uint32Array(cap); CONN = new Uint32Array(cap); TSRECENT = new Uint32Array(cap);
  ACKBITS = new Uint8Array(cap); ACKATO = new Uint16Array(cap); ACKWUP = new Uint16Array(cap); ACKLRCV = new Uint32Array(cap);
  DACK = new Uint32Array(cap);
  htSizeFor(cap * 2);
  HT = new Uint32Array(htMask + 1);
  HC.fill(0);
}

export function capacity(): number { return cap; }
export function slotsUsed(): number { return top; }
export function socketBytes(): number {
  return cap * 71 + HT.byteLength;
}

function regrow<T extends Uint32Array | Uint16Array | Uint8Array>(old: T, n: number): T {
  const a = new (old.constructor as { new(n: number): T })(n);
  a.set(old);
  return a;
}

function growSockets(): void {
  const n = cap * 2;
  LADDR = regrow(LADDR, n); RADDR = regrow(RADDR, n);
  LPORT = regrow(LPORT, n); RPORT = regrow(RPORT, n);
  STATE = regrow(STATE, n); FLAGS = regrow(FLAGS, n); RETRIES = regrow(RETRIES, n);
  IPIDX = regrow(IPIDX, n); WL = regrow(WL, n);
  DIR = regrow(DIR, n); RTO = regrow(RTO, n);
  ISS = regrow(ISS, n); IRS = regrow(IRS, n);
  SNDUNA = regrow(SNDUNA, n); SNDNXT = regrow(SNDNXT, n);
  SNDEND = regrow(SNDEND, n); RCVNXT = regrow(RCVNXT, n);
  TIMER = regrow(TIMER, n); CONN = regrow(CONN, n); TSRECENT = regrow(TSRECENT, n);
  ACKBITS = regrow(ACKBITS, n); ACKATO = regrow(ACKATO, n); ACKWUP = regrow(ACKWUP, n); ACKLRCV = regrow(ACKLRCV, n);
  DACK = regrow(DACK, n);
  cap = n;
  const oldHT = HT; const oldSize = htMask + 1; const oldMask = htMask;
  htSizeFor(n * 2);
  HT = new Uint32Array(htMask + 1);
  for (let i = 0; i < oldSize; i++) {
    const v = oldHT[i];
    if (v !== 0) htPlace(v & oldMask);
  }
}

/** The 4-tuple's home: the top htBits bits of ((lp << 16 | rp) << 32 | la) * K1 ^ ra * K2 mod 2^64. */
function homeOf(la: number, lp: number, ra: number, rp: number): number {
  const xHi = ((lp << 16) | rp) >>> 0, xLo = la >>> 0;
  const hi1 = mulhi(xLo, 0x7F4A7C15) + Math.imul(xLo, 0x9E3779B9) + Math.imul(xHi, 0x7F4A7C15);
  const hi2 = mulhi(ra >>> 0, 0x27D4EB4F) + Math.imul(ra, 0xC2B2AE3D);
  return ((hi1 ^ hi2) >>> 0) >>> (32 - htBits);
}

function htPlace(v: number): void {
  const s = v - 1;
  let i = homeOf(LADDR[s], LPORT[s], RADDR[s], RPORT[s]);
  let d = 0;
  while (HT[i] !== 0) { i = (i + 1) & htMask; d++; }
  HT[i] = htMake(v, d);
}

/** The socket holding the 4-tuple, or -1. */
export function lookup(la: number, lp: number, ra: number, rp: number): number {
  let i = homeOf(la, lp, ra, rp);
  let d = 0;
  while (true) {
    const v = HT[i];
    if (v === 0) return -1;
    if (v >>> htBits === (d < htMaxDist ? d : htMaxDist)) {
      const s = (v & htMask) - 1;
      if (LPORT[s] === lp && RPORT[s] === rp && LADDR[s] === la && RADDR[s] === ra) return s;
    }
    i = (i + 1) & htMask;
    d++;
  }
}

/** The socket holding the 4-tuple (as lookup), for a segment of connection c arriving over direction d. */
export function lookupArrival(la: number, lp: number, ra: number, rp: number, c: number, d: number): number {
  const q = hcIndex(c, d);
  const v = HC[q];
  if (v !== 0) {
    const s = v - 1;
    // c's end sending over the link's other direction stands for the tuple (as in assembly/sockets.ts).
    if (CONN[s] === c && DIR[s] === (d ^ 1) && STATE[s] > 1) return s;
  }
  const f = lookup(la, lp, ra, rp);
  if (f >= 0) HC[q] = f + 1;
  return f;
}

/** A fresh slot holding the 4-tuple, entered in the hash table. The caller checked it is free. */
export function open(la: number, lp: number, ra: number, rp: number, ip: number, w: number, d: number, id: number): number {
  let s: number;
  if (freeHead !== NONE) {
    s = freeHead;
    freeHead = IRS[s];
  } else {
    if (top >= cap) growSockets();
    s = top++;
  }
  live++;
  if (live > peakLive) peakLive = live;
  LADDR[s] = la; RADDR[s] = ra;
  LPORT[s] = lp; RPORT[s] = rp;
  STATE[s] = 0; FLAGS[s] = 0; RETRIES[s] = 0;
  IPIDX[s] = ip; WL[s] = w;
  DIR[s] = d; RTO[s] = 0;
  CONN[s] = id; TSRECENT[s] = 0;
  ACKBITS[s] = 0; ACKATO[s] = 0; ACKWUP[s] = 0; ACKLRCV[s] = 0;
  htPlace(s + 1);
  HC[hcIndex(id, d ^ 1)] = s + 1;
  return s;
}

/** Removes the socket from the hash table and returns its slot to the free list. */
export function close(s: number): void {
  let i = homeOf(LADDR[s], LPORT[s], RADDR[s], RPORT[s]);
  while ((HT[i] & htMask) !== s + 1) i = (i + 1) & htMask;
  let j = i;
  while (true) {
    j = (j + 1) & htMask;
    const v = HT[j];
    if (v === 0) break;
    const vd = v >>> htBits;
    let home: number;
    if (vd < htMaxDist) home = (j - vd) & htMask;
    else { const t = (v & htMask) - 1; home = homeOf(LADDR[t], LPORT[t], RADDR[t], RPORT[t]); }
    if (((j - home) & htMask) >= ((j - i) & htMask)) {
      HT[i] = htMake(v & htMask, (i - home) & htMask);
      i = j;
    }
  }
  HT[i] = 0;
  dropTimer(s);
  IRS[s] = freeHead;
  freeHead = s;
  live--;
}

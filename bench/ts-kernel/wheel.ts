// assembly/wheel.ts in TypeScript: the same hierarchical timing wheel (7 levels of
// 64 slots, level L slots of 64^L us, FIFO level-0 slots, cascading, lazy events
// with a slot time and a due time, filed again or dropped (cancelled) when their slot
// is reached, level-0 lists kept in filing-number order), the same structure-of-arrays event pool with a free list,
// the same filing numbers (`seq`, per host, shared with the lanes' items), the same TIME_WAIT
// FIFO per host in linked chunks, and the same cached found slot.
//
// Differences of representation only:
// - a filing number is a JS number, arriving * 2^52 + host * 2^42 + the host's counter
//   (the engine's u64 is arriving << 63 | host << 47 | counter): the same order and the
//   same low 32 bits (a TIME_WAIT tag) while a host files fewer than 2^42 numbers and
//   hosts are fewer than 2^10 (net.ts MAX_HOSTS);
// - the TIME_WAIT chunks are numbered blocks of typed-array columns, not addresses;
// - time is a JS number of integer microseconds (exact below 2^53; the wheel's
//   horizon is 2^42), so `>> 6L` is a division by 64^L and `& 63` takes the low
//   bits of the (exact) quotient;
// - each level's 64-bit occupancy bitmap is two u32 words (slots 0-31, 32-63) and
//   rotr + ctz becomes "first set bit at or after nowSlot, else the lowest".

import { laneEnter, laneLeave, laneNext, TIME_WAIT_LANES } from "./lanes.js";

const LEVELS = 7;
const SLOTS = 64;
const NIL = 0;
/** POW[l] = 64^l = 2^(6l), exact doubles. */
const POW: Float64Array = new Float64Array(LEVELS + 1).map((_, l) => 2 ** (6 * l));
const TWO32 = 4294967296;

export let now = 0;

/** The host whose event is being handled: what is filed now is numbered by its counter. */
export let acting = 0;
export function actAs(h: number): void { acting = h; }
let SEQS = new Float64Array(0); // [host] the next filing number's counter
let seqHosts = 0;
const HOST_UNIT = 2 ** 42;
/** Takes a filing number for something ordered with the wheel's events (an event, or a lane's item). */
export function takeSeq(): number {
  const c = SEQS[acting];
  SEQS[acting] = c + 1;
  return acting * HOST_UNIT + c;
}
/** The number of a segment put in flight now (it comes after the receiver's own events of its time). */
export function takeArrivalSeq(): number { return takeSeq() + ARRIVING; }
const ARRIVING = 2 ** 52;
/** The host that filed an event or lane item with number `seq`. */
export function seqHost(seq: number): number { return Math.floor(seq / HOST_UNIT) & 0x3FF; }

/** The due time of a cancelled event. */
export const NEVER = Infinity;
/** The target of an orphaned event: cancelled, and no owner refers to it any more. */
export const NO_TARGET = 0xFFFFFFFF;
/** Called when a cancelled event that still has a target is dropped (its owner forgets it). */
let onDrop: (kind: number, target: number) => void = () => {};
export function setDropHook(f: (kind: number, target: number) => void): void { onDrop = f; }

let evCap = 0;
let evFree = NIL;
let evTop = 1;
let evLive = 0;
let EV_TIME = new Float64Array(0);
let EV_DUE = new Float64Array(0);
let EV_SEQ = new Float64Array(0);
let EV_NEXT = new Uint32Array(0);
let EV_TARGET = new Uint32Array(0);
let EV_GEN = new Uint32Array(0);
let EV_KIND = new Uint8Array(0);
let HEAD = new Uint32Array(0);
let TAIL = new Uint32Array(0);
let OCC = new Uint32Array(0); // [2l] slots 0-31 of level l, [2l+1] slots 32-63

export let nextLevel = -1;
let nextSlot = 0;
export let nextDeadline = Infinity;
let found = false;

/**
 * The run loop (index.ts) takes the lanes' items (lanes.ts) in a row while they come
 * before `horizon`, which it sets to the wheel's first event; filing an event earlier lowers it.
 */
export let horizon = 0;
export function setHorizon(t: number): void { horizon = t; }

export function evTarget(e: number): number { return EV_TARGET[e]; }
export function evGen(e: number): number { return EV_GEN[e]; }
export function evKind(e: number): number { return EV_KIND[e]; }
/** The slot time an event is filed at (its due time is this or later). */
export function evTime(e: number): number { return EV_TIME[e]; }
export function evDue(e: number): number { return EV_DUE[e]; }
/** The host that filed event e. */
export function evHost(e: number): number { return seqHost(EV_SEQ[e]); }

export function wheelReset(capacity: number): void {
  now = 0;
  evCap = capacity;
  evFree = NIL;
  evTop = 1;
  evLive = 0;
  EV_TIME = new Float64Array(capacity);
  EV_DUE = new Float64Array(capacity);
  EV_SEQ = new Float64Array(capacity);
  EV_NEXT = new Uint32Array(capacity);
  EV_TARGET = new Uint32Array(capacity);
  EV_GEN = new Uint32Array(capacity);
  EV_KIND = new Uint8Array(capacity);
  HEAD = new Uint32Array(LEVELS * SLOTS);
  TAIL = new Uint32Array(LEVELS * SLOTS);
  OCC = new Uint32Array(LEVELS * 2);
  acting = 0; SEQS = new Float64Array(0); seqHosts = 0; twSpare = 0; twChunkCount = 0;
  TW_DUE = new Float64Array(0); TW_SEQ = new Float64Array(0); TW_TARGET = new Uint32Array(0); TW_NEXT = new Uint32Array(1);
  nextLevel = -1; nextSlot = 0; nextDeadline = Infinity; found = false; horizon = 0;
}

/** As the run starts, with `hosts` hosts: their filing counters and TIME_WAIT FIFOs. */
export function wheelHosts(hosts: number): void {
  seqHosts = hosts;
  const n = Math.max(hosts, 1);
  SEQS = new Float64Array(n);
  TWH_HEAD = new Uint32Array(n); TWH_HPOS = new Uint32Array(n); TWH_TAIL = new Uint32Array(n); TWH_TPOS = new Uint32Array(n);
  TWH_COUNT = new Uint32Array(n); TWH_HZ = new Uint32Array(n); TWH_DURATION = new Float64Array(n);
}

export function pendingEvents(): number { return evLive; }

// TIME_WAIT expiries: a FIFO per host beside the wheel, each a lane (lanes.ts, TIME_WAIT_LANES + host),
// as in the engine: entries of (due, seq, target), a tag being the low 32 bits of seq, in chunks of
// TWQ_CHUNK entries linked head to tail (TW_NEXT), taken from and given back to one list of spare chunks.
// Chunk c (from 1; 0: none) holds entries (c - 1) * TWQ_CHUNK onwards of the columns.
const TWQ_CHUNK = 512;
let TW_DUE = new Float64Array(0); let TW_SEQ = new Float64Array(0); let TW_TARGET = new Uint32Array(0);
let TW_NEXT = new Uint32Array(0); // [chunk] the next chunk (0: none)
let twSpare = 0;       // the first spare chunk (0: none)
let twChunkCount = 0;  // chunks ever made
// per host: head chunk | head position | tail chunk | tail position | entries | hz | duration (0: none chosen yet)
let TWH_HEAD = new Uint32Array(0); let TWH_HPOS = new Uint32Array(0);
let TWH_TAIL = new Uint32Array(0); let TWH_TPOS = new Uint32Array(0);
let TWH_COUNT = new Uint32Array(0); let TWH_HZ = new Uint32Array(0); let TWH_DURATION = new Float64Array(0);

function twEntry(chunk: number, pos: number): number { return (chunk - 1) * TWQ_CHUNK + pos; }
function twChunk(): number {
  const c = twSpare;
  if (c !== 0) { twSpare = TW_NEXT[c]; return c; }
  const n = ++twChunkCount;
  if (n * TWQ_CHUNK > TW_DUE.length) {
    const cap = Math.max(TW_DUE.length * 2, TWQ_CHUNK);
    TW_DUE = grow(TW_DUE, cap); TW_SEQ = grow(TW_SEQ, cap); TW_TARGET = grow(TW_TARGET, cap);
    TW_NEXT = grow(TW_NEXT, cap / TWQ_CHUNK + 1);
  }
  return n;
}

/** Sets host h's FIFO length on first use; whether its timers of length d go in it. */
export function twFits(h: number, d: number, hz: number): boolean {
  if (TWH_DURATION[h] === 0 && d > 0) { TWH_DURATION[h] = d; TWH_HZ[h] = hz; }
  return d === TWH_DURATION[h] && hz === TWH_HZ[h];
}

/** The kernel timer wheel's rounding (assembly/wheel.ts kernelDue): jiffies from INITIAL_JIFFIES at t = 0, the bucket ((expires >> 3L) + 1) << 3L. */
export function kernelDue(hz: number, delay: number): number {
  if (hz === 0) return now + delay;
  const j0 = TWO32 - 300 * hz;
  const clk = j0 + Math.floor((now * hz) / 1e6);
  const dj = Math.floor((delay * hz + 999999) / 1e6);
  let g = 1;
  while (g < 2 ** 24 && dj >= 63 * g) g *= 8;
  const bucket = (Math.floor((clk + dj) / g) + 1) * g;
  return Math.floor(((bucket - j0) * 1e6 + hz - 1) / hz);
}
/** Appends to host h's FIFO (h is acting) a timer for `target` due at `due`; it takes a filing number, whose low 32 bits are its tag (returned). */
export function twPush(h: number, target: number, due: number): number {
  let tail = TWH_TAIL[h];
  let pos = TWH_TPOS[h];
  if (tail === 0) { tail = twChunk(); TWH_HEAD[h] = tail; TWH_HPOS[h] = 0; pos = 0; }
  else if (pos === TWQ_CHUNK) { const c = twChunk(); TW_NEXT[tail] = c; tail = c; pos = 0; }
  TW_NEXT[tail] = 0;
  TWH_TAIL[h] = tail; TWH_TPOS[h] = pos + 1;
  const n = TWH_COUNT[h] + 1;
  TWH_COUNT[h] = n;
  const seq = takeSeq();
  const e = twEntry(tail, pos);
  TW_DUE[e] = due; TW_SEQ[e] = seq; TW_TARGET[e] = target;
  if (n === 1) laneEnter(TIME_WAIT_LANES + h, due, seq);
  return seq >>> 0;
}
/** Host h's last entry filed names `target` instead (its owner moved what it times). */
export function twRetarget(h: number, target: number): void { TW_TARGET[twEntry(TWH_TAIL[h], TWH_TPOS[h] - 1)] = target; }
function twHead(h: number): number { return twEntry(TWH_HEAD[h], TWH_HPOS[h]); }
/** Host h's first entry's socket and tag (its FIFO is not empty). */
export function twTarget(h: number): number { return TW_TARGET[twHead(h)]; }
export function twTag(h: number): number { return TW_SEQ[twHead(h)] >>> 0; }
/** Takes host h's first entry off; its FIFO is the first lane. */
export function twPop(h: number): void {
  const n = TWH_COUNT[h] - 1;
  TWH_COUNT[h] = n;
  let head = TWH_HEAD[h];
  let pos = TWH_HPOS[h] + 1;
  if (n === 0) { // empty: its one chunk stays, from the start
    TWH_HPOS[h] = 0; TWH_TPOS[h] = 0;
    laneLeave();
    return;
  }
  if (pos === TWQ_CHUNK) { // the first chunk is done with: a spare
    const next = TW_NEXT[head];
    TW_NEXT[head] = twSpare; twSpare = head;
    head = next; pos = 0;
    TWH_HEAD[h] = head;
  }
  TWH_HPOS[h] = pos;
  const e = twEntry(head, pos);
  laneNext(TIME_WAIT_LANES + h, TW_DUE[e], TW_SEQ[e]);
}
export function wheelBytes(): number {
  return TW_DUE.byteLength * 2 + TW_TARGET.byteLength + TW_NEXT.byteLength + SEQS.byteLength + seqHosts * 32 + EV_TIME.byteLength + EV_DUE.byteLength + EV_SEQ.byteLength + EV_NEXT.byteLength + EV_TARGET.byteLength + EV_GEN.byteLength + EV_KIND.byteLength
    + HEAD.byteLength + TAIL.byteLength + OCC.byteLength;
}

function grow<T extends Float64Array | Uint32Array | Uint8Array>(old: T, cap: number): T {
  const a = new (old.constructor as { new(n: number): T })(cap);
  a.set(old);
  return a;
}

function growEvents(): void {
  const cap = evCap * 2;
  EV_TIME = grow(EV_TIME, cap);
  EV_DUE = grow(EV_DUE, cap);
  EV_SEQ = grow(EV_SEQ, cap);
  EV_NEXT = grow(EV_NEXT, cap);
  EV_TARGET = grow(EV_TARGET, cap);
  EV_GEN = grow(EV_GEN, cap);
  EV_KIND = grow(EV_KIND, cap);
  evCap = cap;
}

/** Level of the highest differing bit b (b = 31 - clz32 of a u32 xor, at least 5): floor(b / 6). */
const LEVEL_OF_CLZ = new Uint8Array(33).map((_, z) => Math.floor((31 - z) / 6));
/** The fast paths below are for times under 2^31 us (35 minutes), where int32 ops are exact. */
const INT_LIMIT = 2147483648;

/** The level of the highest 6-bit digit in which `when` differs from `now`. */
function levelFor(when: number): number {
  if (when < INT_LIMIT) return LEVEL_OF_CLZ[Math.clz32((when ^ now) | 63)];
  // ToInt32 of the quotient is its floor (both are under 2^21 here).
  const hx = (when / TWO32) ^ (now / TWO32);
  if (hx !== 0) return ((63 - Math.clz32(hx)) / 6) | 0;
  return LEVEL_OF_CLZ[Math.clz32((when ^ now) | 63)];
}

/**
 * Appends e to its slot's list; a level-0 list (all of one time) keeps number order: an event
 * filed again, or filed by a host whose numbers come before the tail's, goes into its place.
 */
function file(e: number, when: number): void {
  const level = levelFor(when);
  const slot = when < INT_LIMIT ? (when >>> (6 * level)) & 63 : (when / POW[level]) & 63;
  const i = level * SLOTS + slot;
  const tail = TAIL[i];
  if (level === 0 && tail !== NIL && EV_SEQ[tail] > EV_SEQ[e]) {
    const seq = EV_SEQ[e];
    let prev = NIL;
    let x = HEAD[i];
    while (EV_SEQ[x] < seq) { prev = x; x = EV_NEXT[x]; }
    EV_NEXT[e] = x;
    if (prev === NIL) HEAD[i] = e; else EV_NEXT[prev] = e;
    return;
  }
  EV_NEXT[e] = NIL;
  if (tail === NIL) {
    HEAD[i] = e;
    if (slot < 32) OCC[2 * level] |= 1 << slot; else OCC[2 * level + 1] |= 1 << (slot - 32);
  } else {
    EV_NEXT[tail] = e;
  }
  TAIL[i] = e;
}

/** Files an event at absolute time `when` (>= now); returns it. */
export function schedule(when: number, kind: number, target: number, gen: number): number {
  return scheduleLazy(when, when, kind, target, gen);
}

/** Files an event at slot time `at` (>= now) that fires at `due` (>= at); returns it. */
export function scheduleLazy(at: number, due: number, kind: number, target: number, gen: number): number {
  return fileNew(at, due, kind, target, gen, takeSeq());
}
/** Files an event another instance numbered (a delayed copy of a segment it sent, sdk/pdes.ts). */
export function scheduleNumbered(when: number, kind: number, target: number, gen: number, seq: number): number {
  return fileNew(when, when, kind, target, gen, seq);
}
function fileNew(at: number, due: number, kind: number, target: number, gen: number, seq: number): number {
  let e = evFree;
  if (e !== NIL) {
    evFree = EV_NEXT[e];
  } else {
    if (evTop >= evCap) growEvents();
    e = evTop++;
  }
  evLive++;
  EV_TIME[e] = at;
  EV_DUE[e] = due;
  EV_SEQ[e] = seq;
  EV_TARGET[e] = target;
  EV_GEN[e] = gen;
  EV_KIND[e] = kind;
  file(e, at);
  if (at < nextDeadline) found = false; // before the found slot: in an earlier one
  // The clock must not enter the event's slot before it is cascaded: the horizon comes down to the slot's start.
  const start = at - at % POW[levelFor(at)];
  if (start < horizon) horizon = start;
  return e;
}

/** Moves a filed event's due time on (later than its slot time); it takes a new filing number. */
export function setDue(e: number, due: number): void { EV_DUE[e] = due; EV_SEQ[e] = takeSeq(); }
/** Cancels a filed event; its owner may still move its due time on again. */
export function cancelDue(e: number): void { EV_DUE[e] = NEVER; }
/** Cancels a filed event its owner lets go of. */
export function orphan(e: number): void { EV_DUE[e] = NEVER; EV_TARGET[e] = NO_TARGET; }

/** An event taken off its list at its slot time but not due then: filed again at its due time, or dropped. */
function refile(e: number): void {
  const due = EV_DUE[e];
  if (due === NEVER) {
    const t = EV_TARGET[e];
    if (t !== NO_TARGET) onDrop(EV_KIND[e], t);
    release(e);
    return;
  }
  EV_TIME[e] = due;
  file(e, due);
}

/** Takes the events of level-0 list i not due at its time off its head; false, the slot emptied, when none is left. */
function settle(i: number): boolean {
  while (true) {
    const e = HEAD[i];
    if (e === NIL) return false;
    if (EV_DUE[e] === EV_TIME[e]) return true;
    const n = EV_NEXT[e];
    HEAD[i] = n;
    if (n === NIL) {
      TAIL[i] = NIL;
      clearOcc(0, i);
    }
    refile(e);
  }
}

function ctz(x: number): number { return 31 - Math.clz32(x & -x); }

/** (k + ctz(rotr(occ, k))) & 63 for the 64-bit occupancy (hi:lo), which is not 0. */
function firstFrom(lo: number, hi: number, k: number): number {
  if (k < 32) {
    const m = lo & (-1 << k);
    if (m !== 0) return ctz(m);
    if (hi !== 0) return 32 + ctz(hi);
    return ctz(lo);
  }
  const m = hi & (-1 << (k - 32));
  if (m !== 0) return 32 + ctz(m);
  if (lo !== 0) return ctz(lo);
  return 32 + ctz(hi);
}

/** Whether the found slot is still the earliest: nothing was filed before it since. */
export function isFound(): boolean { return found; }

/** Finds the earliest occupied slot; false when nothing is pending. */
export function findNext(): boolean {
  if (found) return nextLevel >= 0;
  found = true;
  for (let l = 0; l < LEVELS; l++) {
    const lo = OCC[2 * l], hi = OCC[2 * l + 1];
    if ((lo | hi) === 0) continue;
    if (now < INT_LIMIT && l < 5) {
      const shift = 6 * l;
      const slot = firstFrom(lo, hi, (now >>> shift) & 63);
      // A found level-0 slot starts with a due event (dueSeq and popDue rely on it).
      if (l === 0 && !settle(slot)) { l = -1; continue; }
      nextLevel = l;
      nextSlot = slot;
      nextDeadline = (now & -(1 << (shift + 6))) + (slot << shift); // < 2^31 for l < 5
      return true;
    }
    const unit = POW[l];
    const span = POW[l + 1];
    const slot = firstFrom(lo, hi, (now / unit) & 63);
    if (l === 0 && !settle(slot)) { l = -1; continue; }
    nextLevel = l;
    nextSlot = slot;
    nextDeadline = Math.floor(now / span) * span + slot * unit;
    return true;
  }
  nextLevel = -1;
  nextDeadline = Infinity;
  return false;
}

function clearOcc(level: number, slot: number): void {
  if (slot < 32) OCC[2 * level] &= ~(1 << slot); else OCC[2 * level + 1] &= ~(1 << (slot - 32));
}

/** Moves the found slot (level > 0) down the wheel; `now` becomes its start. */
export function cascade(): void {
  const i = nextLevel * SLOTS + nextSlot;
  let e = HEAD[i];
  HEAD[i] = NIL;
  TAIL[i] = NIL;
  clearOcc(nextLevel, nextSlot);
  now = nextDeadline;
  found = false;
  while (e !== NIL) {
    const n = EV_NEXT[e];
    refile(e);
    e = n;
  }
}

/** Moves the clock to `t`, which comes before every filed event (an arrival the run loop takes from net.ts). */
export function advance(t: number): void { now = t; }

/** The filing number of the next event of the found level-0 slot (Infinity when it is empty). */
export function dueSeq(): number {
  if (!settle(nextSlot)) { found = false; return Infinity; }
  return EV_SEQ[HEAD[nextSlot]];
}

/** Takes the next event of the found level-0 slot (now = its time), or NIL when empty. */
export function popDue(): number {
  const i = nextSlot;
  // Events moved on or cancelled since the slot was found are filed again or dropped first.
  if (!settle(i)) { found = false; return NIL; }
  const e = HEAD[i];
  now = nextDeadline;
  const n = EV_NEXT[e];
  HEAD[i] = n;
  if (n === NIL) {
    TAIL[i] = NIL;
    clearOcc(0, nextSlot);
    found = false;
  }
  return e;
}

/** Returns a fired event's record to the pool. */
export function release(e: number): void {
  EV_NEXT[e] = evFree;
  evFree = e;
  evLive--;
}

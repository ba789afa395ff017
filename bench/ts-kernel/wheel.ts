// assembly/wheel.ts in TypeScript: the same hierarchical timing wheel (7 levels of
// 64 slots, level L slots of 64^L us, FIFO level-0 slots, cascading, lazy events
// with a slot time and a due time, filed again or dropped (cancelled) when their slot
// is reached, level-0 lists kept in filing order), the same structure-of-arrays event pool with a free list,
// the same filing numbers (`seq`, shared with the lanes' items) and the same cached found slot.
//
// Differences of representation only:
// - time is a JS number of integer microseconds (exact below 2^53; the wheel's
//   horizon is 2^42), so `>> 6L` is a division by 64^L and `& 63` takes the low
//   bits of the (exact) quotient;
// - each level's 64-bit occupancy bitmap is two u32 words (slots 0-31, 32-63) and
//   rotr + ctz becomes "first set bit at or after nowSlot, else the lowest".

import { laneEnter, laneLeave, laneNext, TIME_WAIT_LANE } from "./lanes.js";

const LEVELS = 7;
const SLOTS = 64;
const NIL = 0;
/** POW[l] = 64^l = 2^(6l), exact doubles. */
const POW: Float64Array = new Float64Array(LEVELS + 1).map((_, l) => 2 ** (6 * l));
const TWO32 = 4294967296;

export let now = 0;

/** The filing number the next event (or segment put in flight) gets. */
let seqNext = 0;
/** Takes a filing number for something ordered with the wheel's events (a lane's item). */
export function takeSeq(): number { return seqNext++; }

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
  seqNext = 0;
  nextLevel = -1; nextSlot = 0; nextDeadline = Infinity; found = false; horizon = 0;
  TW_DUE = new Float64Array(1024); TW_SEQ = new Float64Array(1024); TW_TARGET = new Uint32Array(1024); TW_TAG = new Uint32Array(1024);
  twFirst = 0; twEnd = 0; twDuration = 0; twHz = 0;
}

export function pendingEvents(): number { return evLive; }

// TIME_WAIT expiries: a FIFO beside the wheel, a lane (lanes.ts), as in the engine (due, seq, socket, tag per entry).
let TW_DUE = new Float64Array(0); let TW_SEQ = new Float64Array(0);
let TW_TARGET = new Uint32Array(0); let TW_TAG = new Uint32Array(0);
let twFirst = 0;
let twEnd = 0;
export let twDuration = 0;
let twHz = 0;
export function twFits(d: number, hz: number): boolean {
  if (twDuration === 0 && d > 0) { twDuration = d; twHz = hz; }
  return d === twDuration && hz === twHz;
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
export function twPush(target: number, due: number): number {
  if (twEnd === TW_DUE.length) {
    if (twFirst >= (TW_DUE.length >> 1) && twFirst > 0) {
      TW_DUE.copyWithin(0, twFirst, twEnd); TW_SEQ.copyWithin(0, twFirst, twEnd);
      TW_TARGET.copyWithin(0, twFirst, twEnd); TW_TAG.copyWithin(0, twFirst, twEnd);
      twEnd -= twFirst; twFirst = 0;
    } else {
      const n = TW_DUE.length * 2;
      const d = new Float64Array(n); d.set(TW_DUE); TW_DUE = d;
      const q = new Float64Array(n); q.set(TW_SEQ); TW_SEQ = q;
      const t = new Uint32Array(n); t.set(TW_TARGET); TW_TARGET = t;
      const g = new Uint32Array(n); g.set(TW_TAG); TW_TAG = g;
    }
  }
  const seq = seqNext++;
  const i = twEnd++;
  TW_DUE[i] = due; TW_SEQ[i] = seq; TW_TARGET[i] = target; TW_TAG[i] = seq >>> 0;
  if (twEnd - twFirst === 1) laneEnter(TIME_WAIT_LANE, due, seq);
  return seq >>> 0;
}
export function twTarget(): number { return TW_TARGET[twFirst]; }
export function twTag(): number { return TW_TAG[twFirst]; }
/** Takes the first entry off; the FIFO is the first lane. */
export function twPop(): void {
  twFirst++;
  if (twFirst === twEnd) { twFirst = 0; twEnd = 0; laneLeave(); return; }
  laneNext(TIME_WAIT_LANE, TW_DUE[twFirst], TW_SEQ[twFirst]);
}
export function wheelBytes(): number {
  return TW_DUE.byteLength * 3 + EV_TIME.byteLength + EV_DUE.byteLength + EV_SEQ.byteLength + EV_NEXT.byteLength + EV_TARGET.byteLength + EV_GEN.byteLength + EV_KIND.byteLength
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

/** Appends e to its slot's list; `ordered` (an event filed again) keeps a level-0 list in filing order. */
function file(e: number, when: number, ordered: boolean): void {
  const level = levelFor(when);
  const slot = when < INT_LIMIT ? (when >>> (6 * level)) & 63 : (when / POW[level]) & 63;
  const i = level * SLOTS + slot;
  const tail = TAIL[i];
  if (ordered && level === 0 && tail !== NIL && EV_SEQ[tail] > EV_SEQ[e]) {
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
  EV_SEQ[e] = seqNext++;
  EV_TARGET[e] = target;
  EV_GEN[e] = gen;
  EV_KIND[e] = kind;
  file(e, at, false);
  if (at < nextDeadline) found = false; // before the found slot: in an earlier one
  // The clock must not enter the event's slot before it is cascaded: the horizon comes down to the slot's start.
  const start = at - at % POW[levelFor(at)];
  if (start < horizon) horizon = start;
  return e;
}

/** Moves a filed event's due time on (later than its slot time); it takes a new filing number. */
export function setDue(e: number, due: number): void { EV_DUE[e] = due; EV_SEQ[e] = seqNext++; }
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
  file(e, due, true);
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

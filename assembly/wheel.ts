// The scheduler: a hierarchical timing wheel over integer microseconds. It knows
// events only as (time, kind, target, gen); what they mean is the engine's business.
//
// Levels and granularity (as in Linux kernel/time/timer.c and tokio's time wheel):
// level L has 64 slots of 64^L us each, so level 0 slots are single microseconds and
// 7 levels cover 64^7 us (about 50 days). An event at time `when` is filed at the
// level of the highest 6-bit digit in which `when` differs from `now`, in the slot
// given by that digit. Every event at level L therefore lies in a later slot of the
// current level-L range than `now`, so the earliest pending work is always the first
// occupied slot of the lowest non-empty level (found with one rotate and ctz on that
// level's occupancy bitmap). A slot above level 0 is "cascaded" when reached: `now`
// jumps to its start and its events are re-filed lower. A level-0 slot holds events
// of one exact time and fires them in the order they were filed (FIFO).
//
// Timers are lazy (as Linux's and tokio's are not, but as many DES kernels do): an
// event has the slot time it is filed at (`time`) and the time its owner wants it
// (`due`, >= time). When its slot is reached (a cascade, or the level-0 slot) an event
// whose due time is later is filed again at its due time instead of firing, and one
// cancelled (due = NEVER) is dropped there. So an owner that keeps one event (a
// socket's retransmission timer) re-arms it by moving `due` on, with no filing, as
// long as the new due time is not before the event's slot time; it only files a new
// event (and orphans the old one) when the deadline moves earlier. The owner hears of
// a cancelled event it still owns being dropped through `onDrop`.
//
// Events live in a structure-of-arrays pool with a free list; lists are singly
// linked through `next` with head and tail per slot. Index 0 is the nil event.
// Nothing is ever searched: a timer is cancelled by setting its due time to NEVER,
// and a cancelled event is dropped when its slot is reached.
//
// Events of the same time fire in the order they were filed, whatever levels they went
// through (all pending events of one time always share one slot list, which a cascade
// re-files in order). Each event carries its filing number `seq`, from a counter that
// the lanes' items (lanes.ts: segments in flight, TIME_WAIT entries, workload arrivals,
// none of which go through the wheel) draw from too, so the run loop can merge the two
// in exactly that order. Moving an event's due time on takes
// a new filing number, as filing a new event would; an event filed again (lazily) into
// a level-0 slot is put in its place by filing number rather than appended, so the
// order stays the one of filing.
//
//   slot lists:  head[level*64+slot] -> ev -> ev -> ... (tail[...] for O(1) append)
//   event pool:  time u64 | due u64 | seq u64 | next u32 | target u32 | gen u32 | kind u8

import { alloc, allocChunk, DEBUG, giveBack, regrow } from "./mem";
import { laneEnter, laneLeave, laneNext, TIME_WAIT_LANE } from "./lanes";

const LEVELS = 7;
const SLOTS = 64;
const NIL: u32 = 0;

export let now: u64 = 0;

/** The filing number the next event (or segment put in flight) gets. */
let seqNext: u64 = 0;
/** Takes a filing number for something ordered with the wheel's events (a lane's item). */
@inline export function takeSeq(): u64 { return seqNext++; }

/** The due time of a cancelled event. */
export const NEVER: u64 = u64.MAX_VALUE;
/** The target of an orphaned event: cancelled, and no owner refers to it any more. */
export const NO_TARGET: u32 = 0xFFFFFFFF;

/** Called when a cancelled event that still has a target is dropped (its owner forgets it). */
let onDrop: (kind: u32, target: u32) => void = (kind: u32, target: u32): void => {};
export function setDropHook(f: (kind: u32, target: u32) => void): void { onDrop = f; }

let evCap: u32 = 0;
let evFree: u32 = NIL;
let evTop: u32 = 1;       // next never-used index
let evLive: u32 = 0;
let EV_TIME: usize = 0;
let EV_DUE: usize = 0;
let EV_SEQ: usize = 0;
let EV_NEXT: usize = 0;
let EV_TARGET: usize = 0;
let EV_GEN: usize = 0;
let EV_KIND: usize = 0;
let HEAD: usize = 0;
let TAIL: usize = 0;
let OCC: usize = 0;

// The slot found by findNext(), kept until an event is filed before it or the slot is
// cascaded or emptied (`now` moving up to nextDeadline does not change which slot it is).
export let nextLevel: i32 = -1;
let nextSlot: i32 = 0;
export let nextDeadline: u64 = u64.MAX_VALUE;
let found = false;

/**
 * The run loop (index.ts) takes the lanes' items (lanes.ts) in a row while they come
 * before `horizon`, which it sets to the wheel's first event; filing an event earlier lowers it.
 */
export let horizon: u64 = 0;
@inline export function setHorizon(t: u64): void { horizon = t; }

@inline export function evTarget(e: u32): u32 { return load<u32>(EV_TARGET + (<usize>e << 2)); }
@inline export function evGen(e: u32): u32 { return load<u32>(EV_GEN + (<usize>e << 2)); }
@inline export function evKind(e: u32): u32 { return load<u8>(EV_KIND + <usize>e); }
@inline function evNext(e: u32): u32 { return load<u32>(EV_NEXT + (<usize>e << 2)); }
@inline function setEvNext(e: u32, n: u32): void { store<u32>(EV_NEXT + (<usize>e << 2), n); }
/** The slot time an event is filed at (its due time is this or later). */
@inline export function evTime(e: u32): u64 { return load<u64>(EV_TIME + (<usize>e << 3)); }
@inline export function evDue(e: u32): u64 { return load<u64>(EV_DUE + (<usize>e << 3)); }
@inline function evSeq(e: u32): u64 { return load<u64>(EV_SEQ + (<usize>e << 3)); }

export function wheelReset(capacity: u32): void {
  now = 0;
  seqNext = 0;
  nextLevel = -1; nextDeadline = u64.MAX_VALUE; found = false; horizon = 0;
  evCap = capacity;
  evFree = NIL;
  evTop = 1;
  evLive = 0;
  EV_TIME = alloc(<usize>capacity << 3);
  EV_DUE = alloc(<usize>capacity << 3);
  EV_SEQ = alloc(<usize>capacity << 3);
  EV_NEXT = alloc(<usize>capacity << 2);
  EV_TARGET = alloc(<usize>capacity << 2);
  EV_GEN = alloc(<usize>capacity << 2);
  EV_KIND = alloc(<usize>capacity);
  HEAD = alloc(LEVELS * SLOTS * 4);
  TAIL = alloc(LEVELS * SLOTS * 4);
  OCC = alloc(LEVELS * 8);
  twDirCap = 64; TWDIR = alloc(<usize>twDirCap << 2); twChunks = 0; twFirst = 0; twEnd = 0;
  twDuration = 0; twHz = 0;
}

export function pendingEvents(): u32 { return evLive; }

// ---- TIME_WAIT expiries: a FIFO beside the wheel ---------------------------------------
// A TIME_WAIT timer always lasts the host's TimeWait, so timers of one duration come due
// in the order they are set: they wait in a FIFO of (due, filing number, socket, tag)
// instead of going round the wheel (filed, cascaded down, filed again at their due
// time). The FIFO is a lane (lanes.ts), merged with the wheel and the other lanes by
// (time, filing number), as the wheel would have fired its entries. An entry is the
// socket's only while the socket is in TIME_WAIT with the entry's tag (tcp.ts checks: a
// restarted TIME_WAIT files a new entry, and a socket killed early leaves a stale one
// behind, which comes due as nothing). Entries are 20 bytes: due u64 | seq u64 | target u32;
// an entry's tag is the low 32 bits of its filing number. The target is the owner's
// business (tcp.ts: a socket slot, or a compact TIME_WAIT entry of sockets.ts).
//
// The FIFO holds one entry per connection in TIME_WAIT, millions of them at times, so
// it lives in chunks of TWQ_CHUNK entries rather than one block grown by copying: a
// directory lists the chunks in queue order, position i is entry i & TWQ_MASK of chunk
// i >> TWQ_BITS, and a chunk the first entry has left is moved to the directory's end
// for reuse. Memory follows the peak count, with no copy and nothing left behind.
const TWE: usize = 20;
const TWQ_BITS: u32 = 14;
const TWQ_CHUNK: u32 = 1 << TWQ_BITS;
const TWQ_MASK: u32 = TWQ_CHUNK - 1;
let TWDIR: usize = 0;    // u32 [chunk] the chunks' addresses, in queue order, then spare ones
let twDirCap: u32 = 0;
let twChunks: u32 = 0;   // chunks held (in use and spare)
let twFirst: u32 = 0;    // positions, from the start of the directory's first chunk
let twEnd: u32 = 0;
/** The FIFO's timer length, us (0: none chosen yet; timers of another length use the wheel), and its hosts' hz. */
export let twDuration: u64 = 0;
let twHz: u32 = 0;

// ---- the kernel's timer wheel (Linux kernel/time/timer.c), for hosts with a hz -------
// A Linux timer_list timer (TCP's retransmission, FIN_WAIT_2 and TIME_WAIT timers) fires
// on a jiffy tick, and calc_wheel_index rounds its expiry up to its wheel level's
// granularity: level L (8^L jiffies) holds deltas below LVL_START(L+1) = 63 << 3L, and
// the bucket is ((expires >> 3L) + 1) << 3L. jiffies start at INITIAL_JIFFIES (2^32 -
// 300 HZ on 64-bit) at t = 0, so the wheel's phase is the kernel's at boot.

/** When a kernel timer armed now for `delay` us fires, on a host whose CONFIG_HZ is hz (0: exactly now + delay). */
@inline export function kernelDue(hz: u32, delay: u64): u64 {
  if (hz == 0) return now + delay;
  return wheelDue(<u64>hz, delay);
}
function wheelDue(hz: u64, delay: u64): u64 {
  const j0: u64 = 0x100000000 - 300 * hz;
  const clk = j0 + now * hz / 1000000;
  const dj = (delay * hz + 999999) / 1000000; // usecs_to_jiffies rounds up
  let shift: u64 = 0;
  while (shift < 24 && dj >= (<u64>63 << shift)) shift += 3;
  const bucket = (((clk + dj) >> shift) + 1) << shift;
  return ((bucket - j0) * 1000000 + hz - 1) / hz; // the bucket's tick
}

@inline function twe(i: u32): usize {
  return <usize>load<u32>(TWDIR + (<usize>(i >> TWQ_BITS) << 2)) + <usize>(i & TWQ_MASK) * TWE;
}
/** Bytes the FIFO's chunks and directory hold. */
export function timeWaitQueueBytes(): f64 { return <f64>twChunks * <f64>(<usize>TWQ_CHUNK * TWE) + <f64>(twDirCap << 2); }
/** Sets the FIFO's duration on first use; whether timers of length d go in it. */
export function twFits(d: u64, hz: u32): bool {
  if (twDuration == 0 && d > 0) { twDuration = d; twHz = hz; }
  return d == twDuration && hz == twHz; // one rounding, so due times stay in filing order
}
/** Appends a timer for socket `target` due at `due` (kernelDue(twHz, twDuration)); it takes a filing number, whose low 32 bits are its tag (returned). */
export function twPush(target: u32, due: u64): u32 {
  if (twEnd == twChunks << TWQ_BITS) { // every chunk is in use: one more
    if (twChunks == twDirCap) { TWDIR = regrow(TWDIR, <usize>twDirCap << 2, <usize>twDirCap << 3); twDirCap <<= 1; }
    store<u32>(TWDIR + (<usize>twChunks << 2), <u32>allocChunk(<usize>TWQ_CHUNK * TWE));
    twChunks++;
  }
  const seq = seqNext++;
  const p = twe(twEnd++);
  store<u64>(p, due); store<u64>(p, seq, 8); store<u32>(p, target, 16);
  if (twEnd - twFirst == 1) laneEnter(TIME_WAIT_LANE, due, seq);
  return <u32>seq;
}
/** The last entry filed names `target` instead (its owner moved what it times). */
export function twRetarget(target: u32): void { store<u32>(twe(twEnd - 1), target, 16); }
/** The first entry's socket and tag (the FIFO is not empty). */
@inline export function twTarget(): u32 { return load<u32>(twe(twFirst), 16); }
@inline export function twTag(): u32 { return load<u32>(twe(twFirst), 8); }
/** Takes the first entry off; the FIFO is the first lane. */
export function twPop(): void {
  twFirst++;
  if (twFirst == twEnd) { twFirst = 0; twEnd = 0; laneLeave(); return; }
  if (twFirst == TWQ_CHUNK) { // the first chunk is done with: it goes to the end, spare
    const done = load<u32>(TWDIR);
    memory.copy(TWDIR, TWDIR + 4, <usize>(twChunks - 1) << 2);
    store<u32>(TWDIR + (<usize>(twChunks - 1) << 2), done);
    twFirst -= TWQ_CHUNK; twEnd -= TWQ_CHUNK;
  }
  const p = twe(twFirst);
  laneNext(TIME_WAIT_LANE, load<u64>(p), load<u64>(p, 8));
}
/** The entries, for the invariant checks: count, and the socket and tag of the i-th. */
export function twCount(): u32 { return twEnd - twFirst; }
export function twEntryTarget(i: u32): u32 { return load<u32>(twe(twFirst + i), 16); }
export function twEntryTag(i: u32): u32 { return load<u32>(twe(twFirst + i), 8); }
export function twEntryDue(i: u32): u64 { return load<u64>(twe(twFirst + i)); }
export function eventBytes(): f64 { return <f64>evCap * 37.0; }

/** A column grown from n to m bytes, the old block released. */
function grown(p: usize, n: usize, m: usize): usize { const q = regrow(p, n, m); giveBack(p, n); return q; }
function growEvents(): void {
  const cap = evCap << 1;
  EV_TIME = grown(EV_TIME, <usize>evCap << 3, <usize>cap << 3);
  EV_DUE = grown(EV_DUE, <usize>evCap << 3, <usize>cap << 3);
  EV_SEQ = grown(EV_SEQ, <usize>evCap << 3, <usize>cap << 3);
  EV_NEXT = grown(EV_NEXT, <usize>evCap << 2, <usize>cap << 2);
  EV_TARGET = grown(EV_TARGET, <usize>evCap << 2, <usize>cap << 2);
  EV_GEN = grown(EV_GEN, <usize>evCap << 2, <usize>cap << 2);
  EV_KIND = grown(EV_KIND, <usize>evCap, <usize>cap);
  evCap = cap;
}

@inline function levelFor(when: u64): i32 {
  const masked = (now ^ when) | 63;
  return <i32>(<u32>(63 - <i32>clz(masked)) / 6); // unsigned: a multiply, no sign fix-up
}

/**
 * Appends e to the list of its slot. With `ordered` (an event filed again, whose filing
 * number may be older than those already there) a level-0 list keeps filing order.
 */
@inline function file(e: u32, when: u64, ordered: bool): void {
  const level = levelFor(when);
  if (DEBUG) assert(level < LEVELS, "event beyond the wheel's horizon");
  const slot = <i32>(when >> (<u64>level * 6)) & 63;
  const i = <usize>(level * SLOTS + slot) << 2;
  const tail = load<u32>(TAIL + i);
  // (Nested tests, not an && chain: binaryen folds those into selects computed in full.)
  if (ordered) { if (level == 0) { if (tail != NIL) { if (evSeq(tail) > evSeq(e)) {
    // All of one time: goes before the first with a later filing number (never the tail's place).
    const seq = evSeq(e);
    let prev = NIL;
    let x = load<u32>(HEAD + i);
    while (evSeq(x) < seq) { prev = x; x = evNext(x); }
    setEvNext(e, x);
    if (prev == NIL) store<u32>(HEAD + i, e); else setEvNext(prev, e);
    return;
  } } } }
  setEvNext(e, NIL);
  if (tail == NIL) {
    store<u32>(HEAD + i, e);
    store<u64>(OCC + (<usize>level << 3), load<u64>(OCC + (<usize>level << 3)) | (<u64>1 << slot));
  } else {
    setEvNext(tail, e);
  }
  store<u32>(TAIL + i, e);
}

/** Files an event at absolute time `when` (>= now); returns it. */
export function schedule(when: u64, kind: u32, target: u32, gen: u32): u32 {
  return scheduleLazy(when, when, kind, target, gen);
}

/** Files an event at slot time `at` (>= now) that fires at `due` (>= at); returns it. */
export function scheduleLazy(at: u64, due: u64, kind: u32, target: u32, gen: u32): u32 {
  if (DEBUG) assert(at >= now && due >= at, "event scheduled in the past");
  let e = evFree;
  if (e != NIL) {
    evFree = evNext(e);
  } else {
    if (evTop >= evCap) growEvents();
    e = evTop++;
  }
  evLive++;
  store<u64>(EV_TIME + (<usize>e << 3), at);
  store<u64>(EV_DUE + (<usize>e << 3), due);
  store<u64>(EV_SEQ + (<usize>e << 3), seqNext++);
  store<u32>(EV_TARGET + (<usize>e << 2), target);
  store<u32>(EV_GEN + (<usize>e << 2), gen);
  store<u8>(EV_KIND + <usize>e, <u8>kind);
  file(e, at, false);
  if (at < nextDeadline) found = false; // before the found slot: in an earlier one
  // The run loop must not move the clock into the event's slot before it is cascaded:
  // the horizon comes down to the slot's start (the event's time only at level 0).
  const start = at & ~((<u64>1 << (<u64>levelFor(at) * 6)) - 1);
  if (start < horizon) horizon = start;
  return e;
}

/** Moves a filed event's due time to `due`, later than its slot time; it takes a new filing number. */
@inline export function setDue(e: u32, due: u64): void {
  if (DEBUG) assert(due > evTime(e) && evTarget(e) != NO_TARGET, "due before the slot");
  store<u64>(EV_DUE + (<usize>e << 3), due);
  store<u64>(EV_SEQ + (<usize>e << 3), seqNext++);
}
/** Cancels a filed event; its owner may still move its due time on again. */
@inline export function cancelDue(e: u32): void { store<u64>(EV_DUE + (<usize>e << 3), NEVER); }
/** Cancels a filed event its owner lets go of. */
@inline export function orphan(e: u32): void {
  store<u64>(EV_DUE + (<usize>e << 3), NEVER);
  store<u32>(EV_TARGET + (<usize>e << 2), NO_TARGET);
}

/** An event taken off its slot list at its slot time but not due then: filed again at its due time, or dropped. */
function refile(e: u32): void {
  const due = evDue(e);
  if (due == NEVER) {
    const t = evTarget(e);
    if (t != NO_TARGET) onDrop(evKind(e), t);
    release(e);
    return;
  }
  store<u64>(EV_TIME + (<usize>e << 3), due);
  file(e, due, true);
}

/**
 * Takes the events of level-0 list i that are not due at its time off its head
 * (filing them again later, or dropping them); false, with the slot emptied, when none is left.
 */
@inline function settle(i: usize): bool {
  const e = load<u32>(HEAD + i);
  if (e != NIL) { if (evDue(e) == evTime(e)) return true; } // the common case: its first event is due
  return settleHead(i);
}
function settleHead(i: usize): bool {
  while (true) {
    const e = load<u32>(HEAD + i);
    if (e == NIL) return false;
    if (evDue(e) == evTime(e)) return true;
    const n = evNext(e);
    store<u32>(HEAD + i, n);
    if (n == NIL) {
      store<u32>(TAIL + i, NIL);
      store<u64>(OCC, load<u64>(OCC) & ~(<u64>1 << (<u64>(i >> 2))));
    }
    refile(e);
  }
  return false;
}

/** Whether the found slot (nextLevel, nextDeadline) is still the earliest: nothing was filed before it since. */
@inline export function isFound(): bool { return found; }

/** Finds the earliest occupied slot; false when nothing is pending. */
export function findNext(): bool {
  if (found) return nextLevel >= 0;
  found = true;
  for (let l = 0; l < LEVELS; l++) {
    const occ = load<u64>(OCC + (<usize>l << 3));
    if (occ == 0) continue;
    const shift = <u64>l * 6;
    const nowSlot = <i32>(now >> shift) & 63;
    const slot = (nowSlot + <i32>ctz(rotr<u64>(occ, <u64>nowSlot))) & 63;
    // A found level-0 slot starts with a due event (dueSeq and popDue rely on it).
    if (l == 0 && !settle(<usize>slot << 2)) { l = -1; continue; }
    if (DEBUG) assert(l == 0 ? slot >= nowSlot : slot > nowSlot, "wheel invariant");
    const levelStart = now & ~((<u64>1 << (shift + 6)) - 1);
    nextLevel = l;
    nextSlot = slot;
    nextDeadline = levelStart + (<u64>slot << shift);
    return true;
  }
  nextLevel = -1;
  nextDeadline = u64.MAX_VALUE;
  return false;
}

/** Moves the found slot (level > 0) down the wheel; `now` becomes its start. */
export function cascade(): void {
  const i = <usize>(nextLevel * SLOTS + nextSlot) << 2;
  let e = load<u32>(HEAD + i);
  store<u32>(HEAD + i, NIL);
  store<u32>(TAIL + i, NIL);
  const o = OCC + (<usize>nextLevel << 3);
  store<u64>(o, load<u64>(o) & ~(<u64>1 << nextSlot));
  now = nextDeadline;
  found = false;
  while (e != NIL) {
    const n = evNext(e);
    // An orphan (cancelled, and its due time never moves again) is dropped without the call.
    if (evTarget(e) == NO_TARGET) release(e); else refile(e);
    e = n;
  }
}

/** Every filed event, for the invariant checks: the head of list i (level * 64 + slot) and the next of an event. */
export const WHEEL_LISTS: u32 = LEVELS * SLOTS;
export function listHead(i: u32): u32 { return load<u32>(HEAD + (<usize>i << 2)); }
export function nextEvent(e: u32): u32 { return evNext(e); }

/** Moves the clock to `t`, which comes before every filed event (an arrival the run loop takes from net.ts). */
@inline export function advance(t: u64): void {
  if (DEBUG) assert(t >= now && (!found || t <= nextDeadline), "time went back or skipped an event");
  now = t;
}

/** The filing number of the next due event of the found level-0 slot (u64.MAX_VALUE when there is none). */
export function dueSeq(): u64 {
  const i = <usize>nextSlot << 2;
  if (!settle(i)) { found = false; return u64.MAX_VALUE; }
  return evSeq(load<u32>(HEAD + i));
}

/** Takes the next due event of the found level-0 slot (now = its time), or NIL when there is none. */
export function popDue(): u32 {
  const i = <usize>nextSlot << 2;
  // Events moved on or cancelled since the slot was found are filed again or dropped first.
  if (!settle(i)) { found = false; return NIL; }
  const e = load<u32>(HEAD + i);
  now = nextDeadline;
  const n = evNext(e);
  store<u32>(HEAD + i, n);
  if (n == NIL) {
    store<u32>(TAIL + i, NIL);
    store<u64>(OCC, load<u64>(OCC) & ~(<u64>1 << nextSlot));
    found = false;
  }
  return e;
}

/** Returns a fired event's record to the pool. */
@inline export function release(e: u32): void {
  setEvNext(e, evFree);
  evFree = e;
  evLive--;
}

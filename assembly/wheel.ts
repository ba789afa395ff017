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
// Events of one time fire in the order of their filing numbers, whatever levels they
// went through. A filing number is, from the top bit: 1 for a segment arriving (0 for
// a host's own timers and arrivals), the filing host (16 bits), and that host's own
// counter (47 bits). The host whose event is being handled (`acting`) numbers what it
// files, so two hosts' events never compete for one counter, and the order in which
// any one host's events fire does not depend on which other hosts share the instance:
// at one time a host handles its own events first, then the segments arriving, those
// of lower-numbered senders first, each sender's in the order it sent them.
// That makes a run split over workers (one instance per part of the hosts, sdk/pdes.ts)
// fire every host's events in exactly the order a single instance does. The lanes'
// items (lanes.ts: segments in flight, TIME_WAIT entries, workload arrivals, none of
// which go through the wheel) take numbers the same way, so the run loop merges the
// two by (time, number). Moving an event's due time on takes a new number, as filing a
// new event would. A level-0 list is kept in number order (a filing whose number is
// below its tail's goes into its place), so the order stays the one of the numbers.
//
//   slot lists:  head[level*64+slot] -> ev -> ev -> ... (tail[...] for O(1) append)
//   event pool:  time u64 | due u64 | seq u64 | next u32 | target u32 | gen u32 | kind u8

import { alloc, allocChunk, DEBUG, giveBack, regrow } from "./mem";
import { laneEnter, laneLeave, laneNext, TIME_WAIT_LANES } from "./lanes";

const LEVELS = 7;
const SLOTS = 64;
const NIL: u32 = 0;

export let now: u64 = 0;

/** The host whose event is being handled: what is filed now is numbered by its counter. */
export let acting: u32 = 0;
// The acting host's counter and the top bits of its numbers live in globals while it
// acts (a filing is an increment, as with one counter), and go back to SEQS when
// another host acts.
let seqCount: u64 = 0;
let seqTop: u64 = 0;
@inline export function actAs(h: u32): void {
  if (h == acting) return;
  store<u64>(SEQS + (<usize>acting << 3), seqCount);
  acting = h;
  seqCount = load<u64>(SEQS + (<usize>h << 3));
  seqTop = <u64>h << 47;
}
let SEQS: usize = 0;  // u64 [host] the next filing number's counter
let seqHosts: u32 = 0;
/** Takes a filing number for something ordered with the wheel's events (an event, or a lane's item). */
@inline export function takeSeq(): u64 {
  if (DEBUG) assert(acting < seqHosts, "a filing by no host");
  return seqTop | seqCount++;
}
/** The number of a segment put in flight now (it comes after the receiver's own events of its time). */
@inline export function takeArrivalSeq(): u64 { return takeSeq() | ARRIVING; }
const ARRIVING: u64 = <u64>1 << 63;
/** The host that filed an event or lane item with number `seq`. */
@inline export function seqHost(seq: u64): u32 { return <u32>(seq >> 47) & 0xFFFF; }

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
/** Event e's filing number. */
@inline export function evSeq(e: u32): u64 { return load<u64>(EV_SEQ + (<usize>e << 3)); }
/** The host that filed event e. */
@inline export function evHost(e: u32): u32 { return seqHost(evSeq(e)); }

export function wheelReset(capacity: u32): void {
  now = 0;
  acting = 0; seqCount = 0; seqTop = 0; SEQS = 0; seqHosts = 0; TWH = 0; twSpare = 0; twChunkCount = 0;
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
}

/** As the run starts, with `hosts` hosts: their filing counters and TIME_WAIT FIFOs. */
export function wheelHosts(hosts: u32): void {
  seqHosts = hosts;
  SEQS = alloc(<usize>max(hosts, 1) << 3);
  TWH = alloc(<usize>max(hosts, 1) * TWH_SIZE);
}

export function pendingEvents(): u32 { return evLive; }

// ---- TIME_WAIT expiries: a FIFO per host beside the wheel ----------------------------
// A TIME_WAIT timer always lasts the host's TimeWait, so one host's timers come due in
// the order they are set: they wait in the host's FIFO of (due, filing number, socket)
// instead of going round the wheel (filed, cascaded down, filed again at their due
// time). Each FIFO is a lane (lanes.ts, TIME_WAIT_LANES + host), merged with the wheel
// and the other lanes by (time, filing number), as the wheel would have fired its
// entries; one FIFO per host keeps each lane in number order (numbers are per host). An
// entry is the socket's only while the socket is in TIME_WAIT with the entry's tag
// (tcp.ts checks: a restarted TIME_WAIT files a new entry, and a socket killed early
// leaves a stale one behind, which comes due as nothing). Entries are 20 bytes:
// due u64 | seq u64 | target u32; an entry's tag is the low 32 bits of its filing
// number. The target is the owner's business (tcp.ts: a socket slot, or a compact
// TIME_WAIT entry of sockets.ts).
//
// A FIFO can hold millions of entries, and a fleet has thousands of FIFOs, so they live
// in chunks of TWQ_CHUNK entries linked head to tail (a chunk's first word is the next
// chunk), taken from and given back to one list of spare chunks: memory follows the
// peak count, with no copy and nothing left behind.
//   per host (TWH_SIZE bytes): head chunk u32 | head position u32 | tail chunk u32 |
//   tail position u32 | entries u32 | hz u32 | duration u64 (0: none chosen yet)
const TWE: usize = 20;
const TWQ_CHUNK: u32 = 512;
const TWQ_BYTES: usize = 8 + <usize>TWQ_CHUNK * TWE;
const TWH_SIZE: usize = 32;
let TWH: usize = 0;
let twSpare: u32 = 0;       // the first spare chunk (0: none)
let twChunkCount: u32 = 0;  // chunks ever made

@inline function twh(h: u32): usize { return TWH + <usize>h * TWH_SIZE; }
@inline function twEntry(chunk: u32, pos: u32): usize { return <usize>chunk + 8 + <usize>pos * TWE; }
function twChunk(): u32 {
  const c = twSpare;
  if (c != 0) { twSpare = load<u32>(<usize>c); return c; }
  twChunkCount++;
  return <u32>allocChunk(TWQ_BYTES);
}

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

/** Bytes the FIFOs' chunks and books hold. */
export function timeWaitQueueBytes(): f64 { return <f64>twChunkCount * <f64>TWQ_BYTES + <f64>seqHosts * <f64>TWH_SIZE; }
/** Sets host h's FIFO length on first use; whether its timers of length d go in it. */
export function twFits(h: u32, d: u64, hz: u32): bool {
  const p = twh(h);
  if (load<u64>(p, 24) == 0 && d > 0) { store<u64>(p, d, 24); store<u32>(p, hz, 20); }
  return d == load<u64>(p, 24) && hz == load<u32>(p, 20); // one rounding, so due times stay in filing order
}
/** Appends to host h's FIFO (h is acting) a timer for `target` due at `due`; it takes a filing number, whose low 32 bits are its tag (returned). */
export function twPush(h: u32, target: u32, due: u64): u32 {
  if (DEBUG) assert(h == acting, "a host files its own TIME_WAIT timers");
  const p = twh(h);
  let tail = load<u32>(p, 8);
  let pos = load<u32>(p, 12);
  if (tail == 0) { tail = twChunk(); store<u32>(p, tail); store<u32>(p, 0, 4); pos = 0; }
  else if (pos == TWQ_CHUNK) { const c = twChunk(); store<u32>(<usize>tail, c); tail = c; pos = 0; }
  store<u32>(<usize>tail, 0);
  store<u32>(p, tail, 8); store<u32>(p, pos + 1, 12);
  const n = load<u32>(p, 16) + 1;
  store<u32>(p, n, 16);
  const seq = takeSeq();
  const e = twEntry(tail, pos);
  store<u64>(e, due); store<u64>(e, seq, 8); store<u32>(e, target, 16);
  if (n == 1) laneEnter(TIME_WAIT_LANES + h, due, seq);
  return <u32>seq;
}
/** Host h's last entry filed names `target` instead (its owner moved what it times). */
export function twRetarget(h: u32, target: u32): void {
  const p = twh(h);
  store<u32>(twEntry(load<u32>(p, 8), load<u32>(p, 12) - 1), target, 16);
}
@inline function twHead(h: u32): usize { const p = twh(h); return twEntry(load<u32>(p), load<u32>(p, 4)); }
/** Host h's first entry's socket and tag (its FIFO is not empty). */
@inline export function twTarget(h: u32): u32 { return load<u32>(twHead(h), 16); }
@inline export function twTag(h: u32): u32 { return load<u32>(twHead(h), 8); }
/** Takes host h's first entry off; its FIFO is the first lane. */
export function twPop(h: u32): void {
  const p = twh(h);
  const n = load<u32>(p, 16) - 1;
  store<u32>(p, n, 16);
  let head = load<u32>(p);
  let pos = load<u32>(p, 4) + 1;
  if (n == 0) { // empty: its one chunk stays, from the start
    store<u32>(p, 0, 4); store<u32>(p, 0, 12);
    laneLeave();
    return;
  }
  if (pos == TWQ_CHUNK) { // the first chunk is done with: a spare
    const next = load<u32>(<usize>head);
    store<u32>(<usize>head, twSpare); twSpare = head;
    head = next; pos = 0;
    store<u32>(p, head);
  }
  store<u32>(p, pos, 4);
  const e = twEntry(head, pos);
  laneNext(TIME_WAIT_LANES + h, load<u64>(e), load<u64>(e, 8));
}
/** Host h's entries, for the invariant checks: the count, a cursor on the first, the next one's, and what a cursor's entry holds. */
export function twCount(h: u32): u32 { return load<u32>(twh(h), 16); }
export function twCursor(h: u32): u64 { const p = twh(h); return <u64>load<u32>(p) << 32 | <u64>load<u32>(p, 4); }
export function twNextCursor(c: u64): u64 {
  const chunk = <u32>(c >> 32); const pos = <u32>c + 1;
  return pos == TWQ_CHUNK ? <u64>load<u32>(<usize>chunk) << 32 : <u64>chunk << 32 | <u64>pos;
}
export function twCursorTarget(c: u64): u32 { return load<u32>(twEntry(<u32>(c >> 32), <u32>c), 16); }
export function twCursorTag(c: u64): u32 { return load<u32>(twEntry(<u32>(c >> 32), <u32>c), 8); }
export function twCursorDue(c: u64): u64 { return load<u64>(twEntry(<u32>(c >> 32), <u32>c)); }
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
 * Appends e to the list of its slot; a level-0 list (all of one time) keeps number
 * order: an event filed again, or filed by a host whose numbers come before the tail's,
 * goes into its place.
 */
@inline function file(e: u32, when: u64): void {
  const level = levelFor(when);
  if (DEBUG) assert(level < LEVELS, "event beyond the wheel's horizon");
  const slot = <i32>(when >> (<u64>level * 6)) & 63;
  const i = <usize>(level * SLOTS + slot) << 2;
  const tail = load<u32>(TAIL + i);
  // (Nested tests, not an && chain: binaryen folds those into selects computed in full.)
  if (level == 0) { if (tail != NIL) { if (evSeq(tail) > evSeq(e)) {
    // All of one time: goes before the first with a later filing number (never the tail's place).
    const seq = evSeq(e);
    let prev = NIL;
    let x = load<u32>(HEAD + i);
    while (evSeq(x) < seq) { prev = x; x = evNext(x); }
    setEvNext(e, x);
    if (prev == NIL) store<u32>(HEAD + i, e); else setEvNext(prev, e);
    return;
  } } }
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
  return fileNew(at, due, kind, target, gen, takeSeq());
}
/** Files an event another instance numbered (a delayed copy of a segment it sent, sdk/pdes.ts). */
export function scheduleNumbered(when: u64, kind: u32, target: u32, gen: u32, seq: u64): u32 {
  return fileNew(when, when, kind, target, gen, seq);
}
@inline function fileNew(at: u64, due: u64, kind: u32, target: u32, gen: u32, seq: u64): u32 {
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
  store<u64>(EV_SEQ + (<usize>e << 3), seq);
  store<u32>(EV_TARGET + (<usize>e << 2), target);
  store<u32>(EV_GEN + (<usize>e << 2), gen);
  store<u8>(EV_KIND + <usize>e, <u8>kind);
  file(e, at);
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
  store<u64>(EV_SEQ + (<usize>e << 3), takeSeq());
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
  file(e, due);
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

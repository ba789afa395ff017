// The socket table: one slot per TCP endpoint (a connection has two, one on each
// host), structure-of-arrays in linear memory, plus the 4-tuple demultiplexing hash.
//
//   column     bytes  meaning
//   LADDR      4      local IPv4 address
//   RADDR      4      remote IPv4 address
//   LPORT      2      local port
//   RPORT      2      remote port
//   STATE      1      State (abi.ts)
//   FLAGS      1      F_* below
//   RETRIES    1      retransmissions of the current unacked data
//   TRIES      1      a closed-loop client's failed tries before this connection
//   IPIDX      2      index of the local address in the IP table (its port table)
//   WL         2      workload that owns the connection (sizes, closer)
//   DIR        2      link direction toward the peer
//   RTO        2      base retransmission timeout, milliseconds (before backoff)
//   ISS        4      initial send sequence number
//   IRS        4      initial receive sequence number; free-list link when free
//   SNDUNA     4      oldest unacknowledged sequence number
//   SNDNXT     4      next sequence number to send
//   SNDEND     4      end of queued data (FIN takes SNDEND when queued);
//                     in TIME_WAIT: the entry time in milliseconds (for tw_reuse);
//                     a server child's in SYN_RCVD: its listener (tcp.ts passiveOpen)
//   RCVNXT     4      next sequence number expected
//   TIMER      4      the socket's timer event (wheel.ts), 0 when none is filed; its
//                     due time is the socket's deadline (NEVER: no timer running)
//   CONN       4      connection id: its number in its host group, in connect() order
//                     (apps.ts: a shard numbers a group's connections as the whole run does)
//   TSRECENT   4      RFC 7323 TS.Recent: the peer's latest TSval, echoed as TSecr and the
//                     floor of PAWS (0: none yet); unused without timestamps
//   ACKS       8      the delayed-ACK state (delack.ts: quick-acks left, pingpong, ATO,
//                     last receive time, RCV.NXT when the owed ACK began)
//   DACK       4      the delayed-ACK timer's event (wheel.ts), 0 when none is filed
//                ---
//                72   + 8 in the hash table at <= 50% load = 80 bytes per slot
//
// The delayed-ACK timer is a second event beside TIMER rather than a deadline shared
// with it: a socket can owe a delayed ACK while its retransmission or FIN_WAIT_2 timer
// runs, and the two move independently (Linux keeps two timer_lists too). Both are
// lazy events (moved on by setDue, orphaned only when a deadline moves earlier), so
// neither costs an allocation; the price is these 12 bytes a slot.
//
// The hash table is open addressing with linear probing over slot indices + 1
// (0 = empty), and above them (cap + 1 + t) the compact TIME_WAIT entries t below;
// deletion shifts later entries back, so there are no tombstones.
// A table of 2^b entries holds slot + 1 in the low b bits of an entry and, in the
// high 32 - b bits, the entry's distance from its home position (saturated: the
// largest value means "as far or further"). A probe compares the 4-tuple only of an
// entry at its own distance (one with the same home), and a deletion finds a moved
// entry's home without reading its socket: neither touches the sockets (mostly
// TIME_WAIT ones, long out of the cache) the probe passes over.
//
// In front of the hash, a small direct-mapped cache answers most arrivals: entry
// (connection id, parity of the arrival's direction) holds the slot + 1 that last
// took that connection's segments on that end (filled when a socket opens and by
// each hash lookup). Its slot is trusted when it holds a socket of that connection
// sending the other way, in a state above LISTEN (a free slot reads CLOSED or LISTEN,
// a UDP socket CLOSED). That stands for the whole 4-tuple: only the two ends of a
// connection carry its id among the connections over that link (ids are numbered per
// group of linked hosts, and a link joins hosts of one group), each sending over one
// direction of the link, and every
// segment of the connection over a direction carries the tuple of the end it reaches
// (its peer's segments, and the RSTs its host answers them with); one live TCP socket
// holds a tuple, so the answer is the hash's (the debug build checks each one).
// Connection ids are handed out in order, so the cache lines of the connections in
// progress stay close together, where the hash's entries are spread over the whole table;
// the link's number offsets them, so groups numbering their connections alike do not collide.

import { alloc, allocChunk, DEBUG, giveBack, regrow } from "./mem";
import { evDue, NEVER, now, orphan } from "./wheel";
import { Stat, State } from "./abi";
import { setStat, stat } from "./metrics";
import { sgDport, sgDst, sgSport, sgSrc } from "./net";

export const F_SERVER: u8 = 1;     // passive end (accepted from a listener)
export const F_FIN_QUEUED: u8 = 2; // the application closed its sending side
export const F_DONE: u8 = 4;       // the workload's exchange finished on this end
export const F_ACK_NOW: u8 = 8;    // an ACK is owed
export const F_EVER_EST: u8 = 16;  // reached ESTABLISHED at least once
export const F_ERROR: u8 = 32;     // the connection failed (errno already counted)
export const F_UDP: u8 = 64;       // a UDP socket: not in the 4-tuple hash (replies find it by slot)
export const F_SHUT_WR: u8 = 128;  // shutdown(SHUT_WR), no close() yet: the application still reads (not an orphan)

let cap: u32 = 0;
let top: u32 = 0;
let freeHead: u32 = 0xFFFFFFFF;
export let live: u32 = 0;
export let udpLive: u32 = 0;

let LADDR: usize = 0; let RADDR: usize = 0; let LPORT: usize = 0; let RPORT: usize = 0;
let STATE: usize = 0; let FLAGS: usize = 0; let RETRIES: usize = 0; let TRIES: usize = 0;
let IPIDX: usize = 0; let WL: usize = 0; let DIR: usize = 0; let RTO: usize = 0;
let ISS: usize = 0; let IRS: usize = 0; let SNDUNA: usize = 0; let SNDNXT: usize = 0;
let SNDEND: usize = 0; let RCVNXT: usize = 0; let TIMER: usize = 0; let CONN: usize = 0; let TSRECENT: usize = 0;
let ACKS: usize = 0; let DACK: usize = 0;
// The "why" books, a column apart from the slot (0 unless a scenario asks for them, sdk
// Plan.why): u32 [slot], bit 31 the socket was made by an old duplicate (nobody wants it),
// bit 30 its deadlock is counted, bits 0-29 its birth in ms (mod 2^30) when bit 31 is set.
let WHY: usize = 0;
export const WHY_UNWANTED: u32 = 0x80000000;
export const WHY_DEADLOCK: u32 = 0x40000000;
const WHY_MS: u32 = 0x3FFFFFFF;

let HT: usize = 0;
/** Entries in the hash (TCP sockets and compact TIME_WAIT entries): it is sized to keep them at most 3/4 of it. */
const HC_BITS: u32 = 12;
const HC_MASK: u32 = (1 << HC_BITS) - 1;
let HC: usize = 0;     // u32 [(conn << 1 | direction parity) & HC_MASK] slot + 1, 0 = none
@inline function hcPtr(c: u32, d: u32): usize { return HC + (<usize>((((c + (d >> 1) * 0x9E3779B1) << 1) | (d & 1)) & HC_MASK) << 2); }
let htMask: u32 = 0;
let htBits: u32 = 0;   // log2 of the table size
let htShift: u64 = 0;  // 64 - htBits: a 4-tuple's home is the top htBits bits of its 64-bit product (homeOf)
let htMaxDist: u32 = 0; // the saturated distance: 2^(32 - htBits) - 1

@inline function htAt(i: u32): u32 { return load<u32>(HT + (<usize>i << 2)); }
@inline function htSet(i: u32, v: u32): void { store<u32>(HT + (<usize>i << 2), v); }
/** An entry for slot + 1 `v` at distance `d` from its home. */
@inline function htMake(v: u32, d: u32): u32 { return (min(d, htMaxDist) << htBits) | v; }
function htSizeFor(size: u32): void {
  htMask = size - 1;
  htBits = 31 - <u32>clz(size);
  htShift = 64 - <u64>htBits;
  htMaxDist = <u32>0xFFFFFFFF >> htBits;
}

export const SLOT_BYTES: u32 = 72 + 8;

@inline export function laddr(s: u32): u32 { return load<u32>(LADDR + (<usize>s << 2)); }
@inline export function raddr(s: u32): u32 { return load<u32>(RADDR + (<usize>s << 2)); }
@inline export function lport(s: u32): u32 { return load<u16>(LPORT + (<usize>s << 1)); }
@inline export function rport(s: u32): u32 { return load<u16>(RPORT + (<usize>s << 1)); }
@inline export function state(s: u32): u32 { return load<u8>(STATE + <usize>s); }
@inline export function setStateRaw(s: u32, v: u32): void { store<u8>(STATE + <usize>s, <u8>v); }
@inline export function flags(s: u32): u8 { return load<u8>(FLAGS + <usize>s); }
@inline export function hasFlag(s: u32, f: u8): bool { return (load<u8>(FLAGS + <usize>s) & f) != 0; }
@inline export function setFlag(s: u32, f: u8): void { store<u8>(FLAGS + <usize>s, load<u8>(FLAGS + <usize>s) | f); }
@inline export function clearFlag(s: u32, f: u8): void { store<u8>(FLAGS + <usize>s, load<u8>(FLAGS + <usize>s) & ~f); }
@inline export function retries(s: u32): u32 { return load<u8>(RETRIES + <usize>s); }
@inline export function setRetries(s: u32, v: u32): void { store<u8>(RETRIES + <usize>s, <u8>v); }
@inline export function ipIdx(s: u32): u32 { return load<u16>(IPIDX + (<usize>s << 1)); }
@inline export function wl(s: u32): u32 { return load<u16>(WL + (<usize>s << 1)); }
/** How many tries in a row failed before this connection (closed-loop backoff). */
@inline export function tries(s: u32): u32 { return load<u8>(TRIES + <usize>s); }
/** A server child's TRIES (always 0 from its segment's workload) is 1 while it waits in its listener's accept queue. */
@inline export function setTries(s: u32, v: u32): void { store<u8>(TRIES + <usize>s, <u8>v); }
@inline export function dir(s: u32): u32 { return load<u16>(DIR + (<usize>s << 1)); }
@inline export function rtoMs(s: u32): u32 { return load<u16>(RTO + (<usize>s << 1)); }
@inline export function setRtoMs(s: u32, v: u32): void { store<u16>(RTO + (<usize>s << 1), <u16>min(v, 65535)); }
@inline export function iss(s: u32): u32 { return load<u32>(ISS + (<usize>s << 2)); }
@inline export function setIss(s: u32, v: u32): void { store<u32>(ISS + (<usize>s << 2), v); }
@inline export function irs(s: u32): u32 { return load<u32>(IRS + (<usize>s << 2)); }
@inline export function setIrs(s: u32, v: u32): void { store<u32>(IRS + (<usize>s << 2), v); }
@inline export function sndUna(s: u32): u32 { return load<u32>(SNDUNA + (<usize>s << 2)); }
@inline export function setSndUna(s: u32, v: u32): void { store<u32>(SNDUNA + (<usize>s << 2), v); }
@inline export function sndNxt(s: u32): u32 { return load<u32>(SNDNXT + (<usize>s << 2)); }
@inline export function setSndNxt(s: u32, v: u32): void { store<u32>(SNDNXT + (<usize>s << 2), v); }
@inline export function sndEnd(s: u32): u32 { return load<u32>(SNDEND + (<usize>s << 2)); }
@inline export function setSndEnd(s: u32, v: u32): void { store<u32>(SNDEND + (<usize>s << 2), v); }
@inline export function rcvNxt(s: u32): u32 { return load<u32>(RCVNXT + (<usize>s << 2)); }
@inline export function setRcvNxt(s: u32, v: u32): void { store<u32>(RCVNXT + (<usize>s << 2), v); }
@inline export function timerEvent(s: u32): u32 { return load<u32>(TIMER + (<usize>s << 2)); }
@inline export function setTimerEvent(s: u32, e: u32): void { store<u32>(TIMER + (<usize>s << 2), e); }
@inline export function acks(s: u32): u64 { return load<u64>(ACKS + (<usize>s << 3)); }
@inline export function setAcks(s: u32, v: u64): void { store<u64>(ACKS + (<usize>s << 3), v); }
@inline export function dackEvent(s: u32): u32 { return load<u32>(DACK + (<usize>s << 2)); }
@inline export function setDackEvent(s: u32, e: u32): void { store<u32>(DACK + (<usize>s << 2), e); }
/** Lets go of the socket's timer events, if any: they are dropped when their slots are reached. */
@inline function dropTimer(s: u32): void {
  const e = timerEvent(s);
  if (e != 0) { orphan(e); setTimerEvent(s, 0); }
  const d = dackEvent(s);
  if (d != 0) { orphan(d); setDackEvent(s, 0); }
}
@inline export function conn(s: u32): u32 { return load<u32>(CONN + (<usize>s << 2)); }
@inline export function tsRecent(s: u32): u32 { return load<u32>(TSRECENT + (<usize>s << 2)); }
@inline export function setTsRecent(s: u32, v: u32): void { store<u32>(TSRECENT + (<usize>s << 2), v); }

export function socketsReset(capacity: u32): void {
  cap = capacity; top = 0; freeHead = 0xFFFFFFFF; live = 0; udpLive = 0;
  LADDR = alloc(<usize>cap << 2); RADDR = alloc(<usize>cap << 2);
  LPORT = alloc(<usize>cap << 1); RPORT = alloc(<usize>cap << 1);
  STATE = alloc(<usize>cap); FLAGS = alloc(<usize>cap); RETRIES = alloc(<usize>cap); TRIES = alloc(<usize>cap);
  IPIDX = alloc(<usize>cap << 1); WL = alloc(<usize>cap << 1);
  DIR = alloc(<usize>cap << 1); RTO = alloc(<usize>cap << 1);
  ISS = alloc(<usize>cap << 2); IRS = alloc(<usize>cap << 2);
  SNDUNA = alloc(<usize>cap << 2); SNDNXT = alloc(<usize>cap << 2);
  SNDEND = alloc(<usize>cap << 2); RCVNXT = alloc(<usize>cap << 2);
  TIMER = alloc(<usize>cap << 2); CONN = alloc(<usize>cap << 2); TSRECENT = alloc(<usize>cap << 2);
  ACKS = alloc(<usize>cap << 3); DACK = alloc(<usize>cap << 2);
  twDirCap = 16; TWDIR = alloc(<usize>twDirCap << 2); twChunks = 0; twTop = 0; twFreeHead = TW_NONE; twLive = 0;
  WHY = 0;
  htSizeFor(htWanted());
  HT = alloc(<usize>(htMask + 1) << 2);
  HC = alloc(<usize>(HC_MASK + 1) << 2);
}

export function capacity(): u32 { return cap; }

/** Keeps the "why" books from now on (before the run starts). */
export function whyBooksOn(): void { if (WHY == 0) WHY = alloc(<usize>cap << 2); }
@inline export function whyBooks(): bool { return WHY != 0; }
@inline export function whyBits(s: u32): u32 { return load<u32>(WHY + (<usize>s << 2)); }
/** Marks socket s with bit `b` (WHY_UNWANTED also stamps its birth); returns whether it was new. */
export function whyMark(s: u32, b: u32): bool {
  const v = whyBits(s);
  if (v & b) return false;
  store<u32>(WHY + (<usize>s << 2), v | b | (b == WHY_UNWANTED ? <u32>(now / 1000) & WHY_MS : 0));
  return true;
}
/** How long an unwanted socket has been held at `at` (us), us (ms resolution). */
export function whyHeldUs(s: u32, at: u64): f64 {
  return <f64>((<u32>(at / 1000) - whyBits(s)) & WHY_MS) * 1000;
}
/** The hash table, read by the invariant checks: entry i holds a live slot + 1, or 0. */
export function htSize(): u32 { return htMask + 1; }
export function htEntry(i: u32): u32 { return htAt(i) & htMask; }
/** Whether entry i (not empty) records its distance from its home right. */
export function htDistanceOk(i: u32): bool {
  const v = htAt(i);
  const d = (i - homeOfValue(v & htMask)) & htMask;
  return v >> htBits == min(d, htMaxDist);
}
/** Whether hash value v (htEntry) is a compact TIME_WAIT entry's, and which. */
export function htIsCompact(v: u32): bool { return v > cap; }
export function htCompact(v: u32): u32 { return v - cap - 1; }
/** Slots ever handed out: a scan of 0..slotsUsed() sees every live socket (free ones read CLOSED or LISTEN). */
export function slotsUsed(): u32 { return top; }

/** A column grown from n to m bytes, the old block given back (mem.ts giveBack). */
function grown(p: usize, n: usize, m: usize): usize { const q = regrow(p, n, m); giveBack(p, n); return q; }

function growSockets(): void {
  const n = cap << 1;
  const c = <usize>cap; const m = <usize>n;
  LADDR = grown(LADDR, c << 2, m << 2); RADDR = grown(RADDR, c << 2, m << 2);
  LPORT = grown(LPORT, c << 1, m << 1); RPORT = grown(RPORT, c << 1, m << 1);
  STATE = grown(STATE, c, m); FLAGS = grown(FLAGS, c, m); RETRIES = grown(RETRIES, c, m); TRIES = grown(TRIES, c, m);
  IPIDX = grown(IPIDX, c << 1, m << 1); WL = grown(WL, c << 1, m << 1);
  DIR = grown(DIR, c << 1, m << 1); RTO = grown(RTO, c << 1, m << 1);
  ISS = grown(ISS, c << 2, m << 2); IRS = grown(IRS, c << 2, m << 2);
  SNDUNA = grown(SNDUNA, c << 2, m << 2); SNDNXT = grown(SNDNXT, c << 2, m << 2);
  SNDEND = grown(SNDEND, c << 2, m << 2); RCVNXT = grown(RCVNXT, c << 2, m << 2);
  TIMER = grown(TIMER, c << 2, m << 2); CONN = grown(CONN, c << 2, m << 2); TSRECENT = grown(TSRECENT, c << 2, m << 2);
  ACKS = grown(ACKS, c << 3, m << 3); DACK = grown(DACK, c << 2, m << 2);
  if (WHY != 0) WHY = grown(WHY, c << 2, m << 2);
  const oldCap = cap;
  cap = n;
  rehash(oldCap); // (entry values above cap move with it)
}

/** The hash's size for `cap` sockets and the compact table's room: twice the sockets, and the entries at most 3/4 of it. */
function htWanted(): u32 {
  const most = <u64>cap + (<u64>twChunks << TWT_BITS);
  let size = cap * 2;
  while (<u64>size * 3 < most * 4) size <<= 1;
  return size;
}

/** Builds the hash again at htWanted(), its old values read with `oldCap` sockets; the old table is given back. */
function rehash(oldCap: u32): void {
  const oldHT = HT; const oldSize = htMask + 1; const oldMask = htMask;
  htSizeFor(htWanted());
  HT = alloc(<usize>(htMask + 1) << 2);
  for (let i: u32 = 0; i < oldSize; i++) {
    const v = load<u32>(oldHT + (<usize>i << 2)) & oldMask;
    if (v == 0) continue;
    if (v <= oldCap) { const t = v - 1; htPlace(v, homeOf(laddr(t), lport(t), raddr(t), rport(t))); }
    else { const t = v - oldCap - 1; htPlace(cap + 1 + t, homeOf(twLaddr(t), twLport(t), twRaddr(t), twRport(t))); }
  }
  giveBack(oldHT, <usize>oldSize << 2);
}

/**
 * The 4-tuple's home in the hash table: multiplicative hashing, the top bits of a 64-bit
 * product, which depend on every bit of the key (a third of the work of rng's mix4).
 */
@inline function homeOf(la: u32, lp: u32, ra: u32, rp: u32): u32 {
  const h = (<u64>(lp << 16 | rp) << 32 | <u64>la) * 0x9E3779B97F4A7C15 ^ <u64>ra * 0xC2B2AE3D27D4EB4F;
  return <u32>(h >> htShift);
}

/** The home of hash value v (slot + 1, or cap + 1 + a compact entry): from its 4-tuple. */
function homeOfValue(v: u32): u32 {
  if (v <= cap) { const t = v - 1; return homeOf(laddr(t), lport(t), raddr(t), rport(t)); }
  const t = v - cap - 1;
  return homeOf(twLaddr(t), twLport(t), twRaddr(t), twRport(t));
}

/** Enters slot + 1 `v`, whose 4-tuple's home is `home`. */
@inline function htPlace(v: u32, home: u32): void {
  let i = home;
  let d: u32 = 0;
  while (htAt(i) != 0) { i = (i + 1) & htMask; d++; }
  htSet(i, htMake(v, d));
}

/** The hash table's index of the entry for the 4-tuple (a socket's or a compact TIME_WAIT's), or -1. */
export function findEntry(la: u32, lp: u32, ra: u32, rp: u32): i32 {
  let i = homeOf(la, lp, ra, rp);
  let d: u32 = 0;
  while (true) {
    const v = htAt(i);
    if (v == 0) return -1;
    if (v >> htBits == min(d, htMaxDist)) {
      const x = v & htMask;
      if (x <= cap) {
        const s = x - 1;
        if (((lport(s) ^ lp) | (rport(s) ^ rp) | (laddr(s) ^ la) | (raddr(s) ^ ra)) == 0) return <i32>i; // (as lookupArrival)
      } else {
        const t = x - cap - 1;
        if (((twLport(t) ^ lp) | (twRport(t) ^ rp) | (twLaddr(t) ^ la) | (twRaddr(t) ^ ra)) == 0) return <i32>i;
      }
    }
    i = (i + 1) & htMask;
    d++;
  }
  return -1;
}

/**
 * The socket holding the 4-tuple, or -1. A connection in the compact TIME_WAIT table
 * is moved back into a slot first (as TIME_WAIT, its timer still its entry's).
 */
export function lookup(la: u32, lp: u32, ra: u32, rp: u32): i32 {
  const i = findEntry(la, lp, ra, rp);
  if (i < 0) return -1;
  const x = htAt(<u32>i) & htMask;
  if (x <= cap) return <i32>(x - 1);
  return <i32>fromTimeWaitTable(x - cap - 1);
}

/**
 * The socket holding the 4-tuple (as lookup) of segment record g (net.ts), arriving for
 * connection c over direction d: the cache's slot when it holds c's end that sends over
 * the link's other direction (d ^ 1: links add their directions in pairs), else the hash's.
 */
@inline export function lookupArrival(g: u32, c: u32, d: u32): i32 {
  const q = hcPtr(c, d);
  const v = load<u32>(q);
  if (v != 0) {
    const s = v - 1;
    // (Nested tests, not an && chain, which binaryen would fold into selects computed in full.)
    if (conn(s) == c) { if (dir(s) == (d ^ 1)) { if (state(s) > 1) {
      if (DEBUG) assert(lookup(sgDst(g), sgDport(g), sgSrc(g), sgSport(g)) == <i32>s, "the arrival cache answers as the hash");
      return <i32>s;
    } } }
  }
  return lookupMiss(g, q);
}
function lookupMiss(g: u32, q: usize): i32 {
  const f = lookup(sgDst(g), sgDport(g), sgSrc(g), sgSport(g));
  if (f >= 0) store<u32>(q, <u32>f + 1);
  return f;
}

/** A free slot (the free list's head, or a new one at the top), counted live. */
@inline function takeSlot(): u32 {
  let s: u32;
  if (freeHead != 0xFFFFFFFF) {
    s = freeHead;
    freeHead = irs(s);
  } else {
    if (top >= cap) growSockets();
    s = top++;
  }
  live++;
  return s;
}
/**
 * A fresh slot holding the 4-tuple with flags `fl`, for workload `w` (its low 16 bits;
 * above them, the closed-loop tries that failed before it), entered in the hash table unless
 * F_UDP. The caller checked it is free; a TCP caller moves it from CLOSED to its first
 * state and sets its RTO next (so neither is written here).
 */
export function open(la: u32, lp: u32, ra: u32, rp: u32, ip: u32, w: u32, d: u32, id: u32, fl: u8): u32 {
  const s = takeSlot();
  store<u32>(LADDR + (<usize>s << 2), la); store<u32>(RADDR + (<usize>s << 2), ra);
  store<u16>(LPORT + (<usize>s << 1), <u16>lp); store<u16>(RPORT + (<usize>s << 1), <u16>rp);
  store<u8>(FLAGS + <usize>s, fl); store<u8>(RETRIES + <usize>s, 0);
  store<u16>(IPIDX + (<usize>s << 1), <u16>ip); store<u16>(WL + (<usize>s << 1), <u16>w); store<u8>(TRIES + <usize>s, <u8>(w >> 16));
  store<u16>(DIR + (<usize>s << 1), <u16>d);
  store<u32>(CONN + (<usize>s << 2), id);
  store<u32>(TSRECENT + (<usize>s << 2), 0);
  store<u64>(ACKS + (<usize>s << 3), 0);
  if (WHY != 0) store<u32>(WHY + (<usize>s << 2), 0);
  if (DEBUG || (fl & F_UDP)) store<u8>(STATE + <usize>s, 0); // (debug: move asserts it)
  if (fl & F_UDP) { store<u16>(RTO + (<usize>s << 1), 0); udpLive++; }
  else {
    if (DEBUG) assert(findEntry(la, lp, ra, rp) < 0, "a 4-tuple is held by one socket");
    htPlace(s + 1, homeOf(la, lp, ra, rp));
    // Its peer's segments arrive over the reverse of d: the other direction of the link (links add theirs in pairs).
    store<u32>(hcPtr(id, d ^ 1), s + 1);
  }
  return s;
}

/** Removes the socket from the hash table and returns its slot to the free list. */
export function close(s: u32): void {
  if (hasFlag(s, F_UDP)) {
    // Not in the hash; clearing the flag makes a late reply to this slot miss it.
    store<u8>(FLAGS + <usize>s, 0);
    udpLive--;
    dropTimer(s);
    setIrs(s, freeHead);
    freeHead = s;
    live--;
    return;
  }
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  let i = homeOf(laddr(s), lport(s), raddr(s), rport(s));
  while ((htAt(i) & htMask) != s + 1) i = (i + 1) & htMask;
  let j = i;
  while (true) {
    j = (j + 1) & htMask;
    const v = htAt(j);
    if (v == 0) break;
    const vd = v >> htBits;
    let home: u32;
    if (vd < htMaxDist) home = (j - vd) & htMask;
    else home = homeOfValue(v & htMask);
    // Move v back to i unless its home lies cyclically in (i, j].
    if (((j - home) & htMask) >= ((j - i) & htMask)) {
      htSet(i, htMake(v & htMask, (i - home) & htMask));
      i = j;
    }
  }
  htSet(i, 0);
  if (WHY != 0) { if (whyBits(s) & WHY_UNWANTED) setStat(Stat.UnwantedHeldUs, stat(Stat.UnwantedHeldUs) + whyHeldUs(s, now)); }
  dropTimer(s); // a timer still filed for this slot is dropped when reached
  setIrs(s, freeHead);
  freeHead = s;
  live--;
}

// ---- compact TIME_WAIT entries (Linux's inet_timewait_sock) ---------------------------
// A connection in TIME_WAIT only answers the odd segment and waits for its timer, so
// (as Linux moves a socket into a small inet_timewait_sock on entering TIME_WAIT) its
// slot's columns move into an entry of this table and the slot is freed: millions of
// connections waiting out 2MSL cost an entry each, not a slot. tcp.ts moves a socket
// here as it enters TIME_WAIT with its timer in the TIME_WAIT FIFO (wheel.ts), whose
// entry then names the compact entry. The hash holds the entry (as cap + 1 + t), so
// lookups find it; anything that finds it (a segment for the tuple, a connect() to it,
// its timer coming due) moves it back into a slot first (fromTimeWaitTable), where the
// state machine sees the socket exactly as it left it. The entry stays, forwarding to
// that slot, until its FIFO entry comes due (one FIFO entry per compact entry).
//
// Chunks of TWT_CHUNK entries, structure-of-arrays within a chunk, listed in a
// directory: the table grows by a chunk, with no copy, carved first from blocks other
// tables gave back on growing (mem.ts). An entry is 63 bytes:
//
//   ACKS u64 | LADDR RADDR ISS SNDNXT SNDEND RCVNXT CONN TSRECENT TAG FWD u32 |
//   LPORT RPORT IPIDX WL DIR RTO u16 | FLAGS RETRIES TRIES u8
//
// TAG is the slot's IRS in TIME_WAIT (the FIFO entry's tag); SNDUNA is SNDNXT (a socket
// moves only when all it sent is acknowledged), STATE is TIME_WAIT, and the slot's
// timer events are none (only sockets with none filed move). FWD says where the entry
// is: TW_HERE, the slot it went back to, or (TW_FREE_BIT) the next free entry.
const TWT_BITS: u32 = 14;
const TWT_CHUNK: u32 = 1 << TWT_BITS;
const TWT_MASK: u32 = TWT_CHUNK - 1;
const T_ACKS: usize = 0;
const T_LADDR: usize = 8; const T_RADDR: usize = 12; const T_ISS: usize = 16; const T_SNDNXT: usize = 20;
const T_SNDEND: usize = 24; const T_RCVNXT: usize = 28; const T_CONN: usize = 32; const T_TSRECENT: usize = 36;
const T_TAG: usize = 40; const T_FWD: usize = 44;
const T_LPORT: usize = 48; const T_RPORT: usize = 50; const T_IPIDX: usize = 52; const T_WL: usize = 54;
const T_DIR: usize = 56; const T_RTO: usize = 58;
const T_FLAGS: usize = 60; const T_RETRIES: usize = 61; const T_TRIES: usize = 62;
export const TW_ENTRY_BYTES: u32 = 63;
const TW_HERE: u32 = 0xFFFFFFFF;
const TW_FREE_BIT: u32 = 0x80000000;
const TW_NONE: u32 = 0x7FFFFFFE; // (with TW_FREE_BIT, never TW_HERE)

let TWDIR: usize = 0;   // u32 [chunk] chunk addresses
let twDirCap: u32 = 0;
let twChunks: u32 = 0;
let twTop: u32 = 0;     // entries ever handed out
let twFreeHead: u32 = TW_NONE;
/** Connections in the compact table (entries TW_HERE). */
export let twLive: u32 = 0;

// A column of entry t starts at its byte offset in an entry times the chunk's entries.
@inline function twAt(t: u32, col: usize, size: usize): usize {
  return <usize>load<u32>(TWDIR + (<usize>(t >> TWT_BITS) << 2)) + col * <usize>TWT_CHUNK + <usize>(t & TWT_MASK) * size;
}
@inline export function twLaddr(t: u32): u32 { return load<u32>(twAt(t, T_LADDR, 4)); }
@inline export function twRaddr(t: u32): u32 { return load<u32>(twAt(t, T_RADDR, 4)); }
@inline export function twLport(t: u32): u32 { return load<u16>(twAt(t, T_LPORT, 2)); }
@inline export function twRport(t: u32): u32 { return load<u16>(twAt(t, T_RPORT, 2)); }
@inline export function twIpIdx(t: u32): u32 { return load<u16>(twAt(t, T_IPIDX, 2)); }
@inline export function twTag(t: u32): u32 { return load<u32>(twAt(t, T_TAG, 4)); }
/** Entries ever handed out (a scan of 0..twEntriesUsed() sees every one), and whether entry t holds a connection. */
export function twEntriesUsed(): u32 { return twTop; }
export function twHere(t: u32): bool { return load<u32>(twAt(t, T_FWD, 4)) == TW_HERE; }
/** The slot entry t forwards to (it moved back there; not TW_HERE, not free). */
export function twForward(t: u32): u32 { return load<u32>(twAt(t, T_FWD, 4)); }
/** Bytes the compact table holds (its chunks and directory). */
export function timeWaitTableBytes(): f64 { return <f64>twChunks * <f64>(<usize>TWT_CHUNK * TW_ENTRY_BYTES) + <f64>(twDirCap << 2); }
/** Bytes the slots' columns and the hash hold. */
export function socketTableBytes(): f64 { return <f64>cap * <f64>(SLOT_BYTES - 8); }
export function hashBytes(): f64 { return <f64>(htMask + 1) * 4.0 + <f64>((HC_MASK + 1) << 2); }

/** Whether TIME_WAIT socket s can move to the compact table: no timer event filed, no ACK owed, everything it sent acknowledged. */
export function compactable(s: u32): bool {
  // A run that keeps why books (variants, duplicates) keeps its sockets whole: the books are per slot.
  if (WHY != 0) return false;
  if (timerEvent(s) != 0) return false;
  const e = dackEvent(s);
  if (e != 0) { if (evDue(e) != NEVER) return false; }
  if (hasFlag(s, F_ACK_NOW | F_UDP)) return false;
  if (sndUna(s) != sndNxt(s)) return false;
  // (A server child not yet accepted is one a server stop resets: tcp.ts serverStops scans slots.)
  if (hasFlag(s, F_SERVER)) { if (tries(s) != 0) return false; }
  return true;
}

/** Moves TIME_WAIT socket s (compactable) into a compact entry and frees its slot; returns the entry. */
export function toTimeWaitTable(s: u32): u32 {
  let t: u32;
  if (twFreeHead != TW_NONE) {
    t = twFreeHead;
    twFreeHead = load<u32>(twAt(t, T_FWD, 4)) & ~TW_FREE_BIT;
  } else {
    if (twTop == twChunks << TWT_BITS) addTwChunk();
    t = twTop++;
  }
  store<u64>(twAt(t, T_ACKS, 8), acks(s));
  store<u32>(twAt(t, T_LADDR, 4), laddr(s)); store<u32>(twAt(t, T_RADDR, 4), raddr(s));
  store<u32>(twAt(t, T_ISS, 4), iss(s)); store<u32>(twAt(t, T_SNDNXT, 4), sndNxt(s));
  store<u32>(twAt(t, T_SNDEND, 4), sndEnd(s)); store<u32>(twAt(t, T_RCVNXT, 4), rcvNxt(s));
  store<u32>(twAt(t, T_CONN, 4), conn(s)); store<u32>(twAt(t, T_TSRECENT, 4), tsRecent(s));
  store<u32>(twAt(t, T_TAG, 4), irs(s)); store<u32>(twAt(t, T_FWD, 4), TW_HERE);
  store<u16>(twAt(t, T_LPORT, 2), <u16>lport(s)); store<u16>(twAt(t, T_RPORT, 2), <u16>rport(s));
  store<u16>(twAt(t, T_IPIDX, 2), <u16>ipIdx(s)); store<u16>(twAt(t, T_WL, 2), <u16>wl(s));
  store<u16>(twAt(t, T_DIR, 2), <u16>dir(s)); store<u16>(twAt(t, T_RTO, 2), <u16>rtoMs(s));
  store<u8>(twAt(t, T_FLAGS, 1), flags(s)); store<u8>(twAt(t, T_RETRIES, 1), <u8>retries(s)); store<u8>(twAt(t, T_TRIES, 1), <u8>tries(s));
  // The hash entry names the compact entry now: same tuple, same home, same distance.
  let i = homeOf(laddr(s), lport(s), raddr(s), rport(s));
  while ((htAt(i) & htMask) != s + 1) i = (i + 1) & htMask;
  htSet(i, (htAt(i) & ~htMask) | (cap + 1 + t));
  // The slot is freed as close() frees it, without its books (the connection still holds
  // its port and its TIME_WAIT count); it reads CLOSED, so the arrival cache passes it by.
  const d = dackEvent(s);
  if (d != 0) { orphan(d); setDackEvent(s, 0); } // cancelled: dropped when reached, as on close
  setStateRaw(s, State.CLOSED);
  setIrs(s, freeHead);
  freeHead = s;
  live--;
  twLive++;
  return t;
}

/**
 * The slot of compact entry t: a connection still here moves back into a slot (as it
 * left it, in TIME_WAIT), and the entry forwards to that slot from then on.
 */
export function fromTimeWaitTable(t: u32): u32 {
  const f = load<u32>(twAt(t, T_FWD, 4));
  if (f != TW_HERE) return f;
  const s = takeSlot();
  twLive--;
  const la = twLaddr(t); const lp = twLport(t); const ra = twRaddr(t); const rp = twRport(t);
  store<u32>(LADDR + (<usize>s << 2), la); store<u32>(RADDR + (<usize>s << 2), ra);
  store<u16>(LPORT + (<usize>s << 1), <u16>lp); store<u16>(RPORT + (<usize>s << 1), <u16>rp);
  store<u8>(STATE + <usize>s, <u8>State.TIME_WAIT);
  store<u8>(FLAGS + <usize>s, load<u8>(twAt(t, T_FLAGS, 1))); store<u8>(RETRIES + <usize>s, load<u8>(twAt(t, T_RETRIES, 1)));
  store<u8>(TRIES + <usize>s, load<u8>(twAt(t, T_TRIES, 1)));
  store<u16>(IPIDX + (<usize>s << 1), load<u16>(twAt(t, T_IPIDX, 2))); store<u16>(WL + (<usize>s << 1), load<u16>(twAt(t, T_WL, 2)));
  store<u16>(DIR + (<usize>s << 1), load<u16>(twAt(t, T_DIR, 2))); store<u16>(RTO + (<usize>s << 1), load<u16>(twAt(t, T_RTO, 2)));
  store<u32>(ISS + (<usize>s << 2), load<u32>(twAt(t, T_ISS, 4))); store<u32>(IRS + (<usize>s << 2), load<u32>(twAt(t, T_TAG, 4)));
  const nxt = load<u32>(twAt(t, T_SNDNXT, 4));
  store<u32>(SNDUNA + (<usize>s << 2), nxt); store<u32>(SNDNXT + (<usize>s << 2), nxt);
  store<u32>(SNDEND + (<usize>s << 2), load<u32>(twAt(t, T_SNDEND, 4))); store<u32>(RCVNXT + (<usize>s << 2), load<u32>(twAt(t, T_RCVNXT, 4)));
  store<u32>(TIMER + (<usize>s << 2), 0); store<u32>(DACK + (<usize>s << 2), 0);
  store<u32>(CONN + (<usize>s << 2), load<u32>(twAt(t, T_CONN, 4))); store<u32>(TSRECENT + (<usize>s << 2), load<u32>(twAt(t, T_TSRECENT, 4)));
  store<u64>(ACKS + (<usize>s << 3), load<u64>(twAt(t, T_ACKS, 8)));
  // Its hash entry names the slot again (same home and distance).
  const v = cap + 1 + t;
  let i = homeOf(la, lp, ra, rp);
  while ((htAt(i) & htMask) != v) i = (i + 1) & htMask;
  htSet(i, (htAt(i) & ~htMask) | (s + 1));
  store<u32>(twAt(t, T_FWD, 4), s);
  return s;
}

/** Compact entry t's FIFO entry came due: it is free again (its connection, if still here, moved back to a slot first: fromTimeWaitTable). */
export function freeTimeWaitEntry(t: u32): void {
  if (DEBUG) assert(load<u32>(twAt(t, T_FWD, 4)) != TW_HERE, "a compact entry freed while it holds its connection");
  store<u32>(twAt(t, T_FWD, 4), TW_FREE_BIT | twFreeHead);
  twFreeHead = t;
}

function addTwChunk(): void {
  if (twChunks == twDirCap) { TWDIR = regrow(TWDIR, <usize>twDirCap << 2, <usize>twDirCap << 3); twDirCap <<= 1; }
  store<u32>(TWDIR + (<usize>twChunks << 2), <u32>allocChunk(<usize>TWT_CHUNK * TW_ENTRY_BYTES));
  twChunks++;
  if (htWanted() > htMask + 1) rehash(cap); // the values above cap need room in the entry's bits
}

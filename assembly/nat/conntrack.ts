// conntrack as Linux has it (net/netfilter/nf_conntrack_proto_tcp.c, _udp.c, _core.c):
// one entry per flow a NAT host forwards, found by either of its two tuples, following
// the TCP states from the segments it sees, each state with its own timeout.
//
// The TCP tracker is Linux's table: TRANSITIONS[direction][event][state] gives the new
// state, or IV (invalid: the packet is dropped) or IG (ignored: forwarded, nothing
// changes). What it leaves out, each on purpose: window tracking (tcp_in_window) except
// the original side's td_end, which nf_nat_used_tuple_harder compares; the timeout caps
// for retransmissions and unacknowledged data (5 minutes; they shorten only an
// ESTABLISHED entry whose data stalls); picking up a flow in mid-stream (an entry starts
// from a SYN); early_drop of unassured entries when the table is full.
//
// An entry's deadline is a jiffies stamp (ct->timeout, refreshed by every packet it
// tracks; lookups treat an expired entry as gone), so it falls on the NAT host's jiffy
// ticks: timeouts are whole seconds of jiffies, counted from the jiffy the packet came.
//
//   entry columns: NAT u16 | state u8 | flags u8 | original tuple (src u32, sport u16,
//   dst u32, dport u16) | public address index u16, public port u16 | inside direction
//   u16 (where the original side arrives) | outside direction u16 | td_end of the
//   original side u32 | timer event u32 | born u64 (us) | connection u32
//
// The tuple hash holds two entries per live entry (Linux's tuplehash[2]): the original
// tuple as the inside sends it, and the reply tuple as the outside sends it
// (dst:dport -> public:port). Open addressing, linear probing, backward-shift deletion;
// a slot holds (entry << 1 | direction) + 1, 0 = empty.

import { alloc, regrow } from "../mem";
import { CT_STATE_COUNT, CtState, CtTimeout, NatStat } from "../abi";
import { mix4 } from "../rng";
import { dirSrc, nHosts } from "../net";
import { now, orphan, scheduleLazy, setDue, evTime } from "../wheel";

// ---- the tracker's table ----------------------------------------------------------------
const sNO: u8 = 0; const sSS: u8 = 1; const sSR: u8 = 2; const sES: u8 = 3; const sFW: u8 = 4;
const sCW: u8 = 5; const sLA: u8 = 6; const sTW: u8 = 7; const sCL: u8 = 8; const sS2: u8 = 9;
export const IV: u8 = 10; // TCP_CONNTRACK_MAX: invalid
export const IG: u8 = 11; // TCP_CONNTRACK_IGNORE
/** Events (Linux enum tcp_bit_set): which of RST, SYN, FIN, ACK the segment carries, in that precedence. */
export const EV_SYN: u32 = 0; export const EV_SYNACK: u32 = 1; export const EV_FIN: u32 = 2;
export const EV_ACK: u32 = 3; export const EV_RST: u32 = 4; export const EV_NONE: u32 = 5;

// prettier-ignore
const TRANSITIONS: StaticArray<u8> = [
  // ORIGINAL    sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
  /* syn    */   sSS, sSS, IG,  IG,  IG,  IG,  IG,  sSS, sSS, sS2, // sTW, sCL -> sSS: reopened (RFC 1122)
  /* synack */   IV,  IV,  sSR, IV,  IV,  IV,  IV,  IV,  IV,  sSR, // a SYN-ACK from the side that sent the SYN: only in simultaneous open
  /* fin    */   IV,  IV,  sFW, sFW, sLA, sLA, sLA, sTW, sCL, IV,  // sSS -> IV: a FIN must wait for the SYN-ACK
  /* ack    */   sES, IV,  sES, sES, sCW, sCW, sTW, sTW, sCL, IV,  // sSR -> sES: the handshake's third segment; sLA -> sTW: the last ACK
  /* rst    */   IV,  sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  /* none   */   IV,  IV,  IV,  IV,  IV,  IV,  IV,  IV,  IV,  IV,
  // REPLY       sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
  /* syn    */   IV,  sS2, IV,  IV,  IV,  IV,  IV,  sSS, IV,  sS2, // sSS -> sS2: simultaneous open
  /* synack */   IV,  sSR, IG,  IG,  IG,  IG,  IG,  IG,  IG,  sSR, // sSS -> sSR: the standard open; later ones are retransmissions
  /* fin    */   IV,  IV,  sFW, sFW, sLA, sLA, sLA, sTW, sCL, IV,
  /* ack    */   IV,  IG,  sSR, sES, sCW, sCW, sTW, sTW, sCL, IG,  // sSS -> IG: may be a half-open connection's
  /* rst    */   IV,  sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  /* none   */   IV,  IV,  IV,  IV,  IV,  IV,  IV,  IV,  IV,  IV,
];
/** The tracker's answer for a segment in `dir` (0 original, 1 reply) carrying `event`, the entry in `state`. */
@inline export function transition(dir: u32, event: u32, state: u32): u32 {
  return <u32>TRANSITIONS[(dir * 6 + event) * 10 + state];
}
/** get_conntrack_index: RST, then SYN (with ACK or not), FIN, ACK. */
@inline export function ctEvent(fl: u32): u32 {
  if (fl & 4) return EV_RST;
  if (fl & 2) return fl & 16 ? EV_SYNACK : EV_SYN;
  if (fl & 1) return EV_FIN;
  if (fl & 16) return EV_ACK;
  return EV_NONE;
}

// ---- NATs' conntrack settings and books --------------------------------------------------
export const MAX_NATS: u32 = 4096;
let natCap: u32 = 0;
export let nNats: u32 = 0;
let NTIMEOUT: usize = 0;  // u64 [nat][CtTimeout.COUNT] us
let NHZ: usize = 0;       // u32 [nat] the NAT host's CONFIG_HZ (0: exact deadlines)
let NMAX: usize = 0;      // u32 [nat] nf_conntrack_max, 0 = no limit
let NCOUNT: usize = 0;    // u32 [nat] live entries
let NSTATES: usize = 0;   // u32 [nat][CT_STATE_COUNT] live entries per state
let NSTATS: usize = 0;    // f64 [nat][NatStat.COUNT]

export function addNatBooks(): u32 {
  if (nNats >= MAX_NATS) abort("engine table full: at most 4096 NAT hosts");
  if (nNats == natCap) {
    const c = natCap; const n = c * 2;
    NTIMEOUT = regrow(NTIMEOUT, <usize>c * CtTimeout.COUNT * 8, <usize>n * CtTimeout.COUNT * 8);
    NHZ = regrow(NHZ, <usize>c * 4, <usize>n * 4); NMAX = regrow(NMAX, <usize>c * 4, <usize>n * 4);
    NCOUNT = regrow(NCOUNT, <usize>c * 4, <usize>n * 4);
    NSTATES = regrow(NSTATES, <usize>c * CT_STATE_COUNT * 4, <usize>n * CT_STATE_COUNT * 4);
    NSTATS = regrow(NSTATS, <usize>c * NatStat.COUNT * 8, <usize>n * NatStat.COUNT * 8);
    natCap = n;
  }
  const k = nNats++;
  // Linux's defaults: nf_conntrack_tcp_timeout_* and nf_conntrack_udp_timeout(_stream).
  const s: u64 = 1000000;
  setCtTimeout(k, CtState.SYN_SENT, 120 * s); setCtTimeout(k, CtState.SYN_RECV, 60 * s);
  setCtTimeout(k, CtState.ESTABLISHED, 432000 * s); setCtTimeout(k, CtState.FIN_WAIT, 120 * s);
  setCtTimeout(k, CtState.CLOSE_WAIT, 60 * s); setCtTimeout(k, CtState.LAST_ACK, 30 * s);
  setCtTimeout(k, CtState.TIME_WAIT, 120 * s); setCtTimeout(k, CtState.CLOSE, 10 * s);
  setCtTimeout(k, CtState.SYN_SENT2, 120 * s);
  setCtTimeout(k, CtTimeout.UDP, 30 * s); setCtTimeout(k, CtTimeout.UDP_STREAM, 120 * s);
  return k;
}
export function setCtTimeout(k: u32, i: u32, us: u64): void { store<u64>(NTIMEOUT + ((<usize>k * CtTimeout.COUNT + i) << 3), us); }
@inline function ctTimeout(k: u32, i: u32): u64 { return load<u64>(NTIMEOUT + ((<usize>k * CtTimeout.COUNT + i) << 3)); }
export function setNatHz(k: u32, hz: u32): void { store<u32>(NHZ + (<usize>k << 2), hz); }
export function setNatMax(k: u32, most: u32): void { store<u32>(NMAX + (<usize>k << 2), most); }
@inline export function natCount(k: u32): u32 { return load<u32>(NCOUNT + (<usize>k << 2)); }
@inline export function natStates(k: u32, st: u32): u32 { return load<u32>(NSTATES + ((<usize>k * CT_STATE_COUNT + st) << 2)); }
@inline function addNatState(k: u32, st: u32, d: i32): void {
  const p = NSTATES + ((<usize>k * CT_STATE_COUNT + st) << 2);
  store<u32>(p, load<u32>(p) + d);
}
@inline export function natStat(k: u32, i: u32): f64 { return load<f64>(NSTATS + ((<usize>k * NatStat.COUNT + i) << 3)); }
@inline export function countNat(k: u32, i: u32): void { addNat(k, i, 1.0); }
@inline function addNat(k: u32, i: u32, v: f64): void {
  const p = NSTATS + ((<usize>k * NatStat.COUNT + i) << 3);
  store<f64>(p, load<f64>(p) + v);
}
/** Whether an entry in state st holds its tuple against a new flow (TIME_WAIT and later may be taken over). */
@inline function holding(st: u32): bool { return st < <u32>CtState.TIME_WAIT || st > <u32>CtState.SYN_SENT2; }
/** Entry c stops holding its tuple now: its hold is counted. */
function endHold(c: u32): void {
  const k = ctNat(c);
  addNat(k, NatStat.HeldSeconds, <f64>(now - ctBorn(c)) / 1e6);
  countNat(k, NatStat.Holds);
}
/** Whether the table holds nf_conntrack_max entries (a new flow's first packet is then dropped). */
@inline export function natFull(k: u32): bool {
  const most = load<u32>(NMAX + (<usize>k << 2));
  return most != 0 && natCount(k) >= most;
}

// ---- entries ---------------------------------------------------------------------------
export const CF_UDP: u8 = 1;
export const CF_SEEN_REPLY: u8 = 2;
export const CF_ASSURED: u8 = 4;
/** IP_CT_TCP_FLAG_CLOSE_INIT: a FIN or RST was seen, so a new SYN on the tuple reopens it. */
export const CF_CLOSE_INIT: u8 = 8;

let ctCap: u32 = 0; let ctTop: u32 = 0; let ctFree: u32 = 0xFFFFFFFF;
export let ctLive: u32 = 0;
let CNAT: usize = 0; let CSTATE: usize = 0; let CFLAGS: usize = 0;
let CSRC: usize = 0; let CSPORT: usize = 0; let CDST: usize = 0; let CDPORT: usize = 0;
let CPUB: usize = 0; let CPPORT: usize = 0; let CDIN: usize = 0; let CDOUT: usize = 0;
let CEND: usize = 0; let CTIMER: usize = 0; let CBORN: usize = 0; let CCONN: usize = 0;

@inline export function ctNat(c: u32): u32 { return load<u16>(CNAT + (<usize>c << 1)); }
@inline export function ctState(c: u32): u32 { return load<u8>(CSTATE + <usize>c); }
@inline export function ctFlags(c: u32): u32 { return load<u8>(CFLAGS + <usize>c); }
@inline export function setCtFlag(c: u32, f: u8): void { store<u8>(CFLAGS + <usize>c, <u8>(ctFlags(c) | f)); }
@inline export function ctSrc(c: u32): u32 { return load<u32>(CSRC + (<usize>c << 2)); }
@inline export function ctSport(c: u32): u32 { return load<u16>(CSPORT + (<usize>c << 1)); }
@inline export function ctDst(c: u32): u32 { return load<u32>(CDST + (<usize>c << 2)); }
@inline export function ctDport(c: u32): u32 { return load<u16>(CDPORT + (<usize>c << 1)); }
@inline export function ctPub(c: u32): u32 { return load<u16>(CPUB + (<usize>c << 1)); }
@inline export function ctPport(c: u32): u32 { return load<u16>(CPPORT + (<usize>c << 1)); }
@inline export function ctDirIn(c: u32): u32 { return load<u16>(CDIN + (<usize>c << 1)); }
@inline export function ctDirOut(c: u32): u32 { return load<u16>(CDOUT + (<usize>c << 1)); }
@inline export function ctEnd(c: u32): u32 { return load<u32>(CEND + (<usize>c << 2)); }
@inline export function setCtEnd(c: u32, v: u32): void { store<u32>(CEND + (<usize>c << 2), v); }
@inline export function ctBorn(c: u32): u64 { return load<u64>(CBORN + (<usize>c << 3)); }
@inline export function ctConn(c: u32): u32 { return load<u32>(CCONN + (<usize>c << 2)); }
/** The public address of the entry, as an address (the NAT's table, nat.ts, knows the index). */
export let pubAddrOf: (p: u32) => u32 = (p: u32): u32 => 0;
export function setPubAddrOf(f: (p: u32) => u32): void { pubAddrOf = f; }

function growEntries(): void {
  const c = ctCap; const n = c * 2;
  CNAT = regrow(CNAT, <usize>c * 2, <usize>n * 2); CSTATE = regrow(CSTATE, <usize>c, <usize>n); CFLAGS = regrow(CFLAGS, <usize>c, <usize>n);
  CSRC = regrow(CSRC, <usize>c * 4, <usize>n * 4); CSPORT = regrow(CSPORT, <usize>c * 2, <usize>n * 2);
  CDST = regrow(CDST, <usize>c * 4, <usize>n * 4); CDPORT = regrow(CDPORT, <usize>c * 2, <usize>n * 2);
  CPUB = regrow(CPUB, <usize>c * 2, <usize>n * 2); CPPORT = regrow(CPPORT, <usize>c * 2, <usize>n * 2);
  CDIN = regrow(CDIN, <usize>c * 2, <usize>n * 2); CDOUT = regrow(CDOUT, <usize>c * 2, <usize>n * 2);
  CEND = regrow(CEND, <usize>c * 4, <usize>n * 4); CTIMER = regrow(CTIMER, <usize>c * 4, <usize>n * 4);
  CBORN = regrow(CBORN, <usize>c * 8, <usize>n * 8); CCONN = regrow(CCONN, <usize>c * 4, <usize>n * 4);
  ctCap = n;
}

/**
 * A new entry of NAT k for the original tuple, not yet in the hash (Linux's unconfirmed
 * conntrack: NAT picks its reply tuple, then ctConfirm enters it). State NONE.
 */
export function ctNew(k: u32, udp: bool, sa: u32, sp: u32, da: u32, dp: u32, dIn: u32, dOut: u32, end: u32, conn: u32): u32 {
  let c: u32;
  if (ctFree != 0xFFFFFFFF) { c = ctFree; ctFree = load<u32>(CEND + (<usize>c << 2)); }
  else { if (ctTop >= ctCap) growEntries(); c = ctTop++; }
  store<u16>(CNAT + (<usize>c << 1), <u16>k); store<u8>(CSTATE + <usize>c, 0); store<u8>(CFLAGS + <usize>c, udp ? CF_UDP : 0);
  store<u32>(CSRC + (<usize>c << 2), sa); store<u16>(CSPORT + (<usize>c << 1), <u16>sp);
  store<u32>(CDST + (<usize>c << 2), da); store<u16>(CDPORT + (<usize>c << 1), <u16>dp);
  store<u16>(CDIN + (<usize>c << 1), <u16>dIn); store<u16>(CDOUT + (<usize>c << 1), <u16>dOut);
  store<u32>(CEND + (<usize>c << 2), end); store<u32>(CTIMER + (<usize>c << 2), 0);
  store<u64>(CBORN + (<usize>c << 3), now); store<u32>(CCONN + (<usize>c << 2), conn);
  return c;
}
/** An unconfirmed entry given up (its first packet dropped). */
export function ctDiscard(c: u32): void {
  store<u32>(CEND + (<usize>c << 2), ctFree);
  ctFree = c;
}
/** Enters entry c with its reply tuple (public address index p, port pp) in the table, in `state`. */
export function ctConfirm(c: u32, p: u32, pp: u32, state: u32): void {
  store<u16>(CPUB + (<usize>c << 1), <u16>p); store<u16>(CPPORT + (<usize>c << 1), <u16>pp);
  const k = ctNat(c);
  store<u32>(NCOUNT + (<usize>k << 2), natCount(k) + 1);
  ctLive++;
  hashInsert(c, 0); hashInsert(c, 1);
  store<u8>(CSTATE + <usize>c, <u8>state);
  addNatState(k, state, 1);
  countNat(k, NatStat.Created);
  countInside(c, 1);
  onHold(c, 1);
}
// Entries per inside host (the host their original side came from, over its inside direction), for "who holds the mappings".
let HMAP: usize = 0; let hmapCap: u32 = 0;
/** As the run starts: a count per host (hosts are all added by then). */
export function conntrackStart(): void { if (hmapCap < nHosts) { hmapCap = nHosts; HMAP = alloc(<usize>max(hmapCap, 1) << 2); } }
@inline export function insideEntries(h: u32): u32 { return load<u32>(HMAP + (<usize>h << 2)); }
@inline function countInside(c: u32, d: i32): void {
  const p = HMAP + (<usize>dirSrc(ctDirIn(c)) << 2);
  store<u32>(p, load<u32>(p) + d);
}
/** Books kept elsewhere (nat.ts: public ports in use) as an entry is entered (1) and removed (-1). */
let onHold: (c: u32, d: i32) => void = (c: u32, d: i32): void => {};
export function setOnHold(f: (c: u32, d: i32) => void): void { onHold = f; }

/** Removes a live entry (expired, taken over, or reopened). */
export function ctKill(c: u32): void {
  const k = ctNat(c);
  const e = load<u32>(CTIMER + (<usize>c << 2));
  if (e != 0) orphan(e);
  hashRemove(c, 0); hashRemove(c, 1);
  onHold(c, -1);
  countInside(c, -1);
  if (holding(ctState(c))) endHold(c);
  addNat(k, NatStat.LifeSeconds, <f64>(now - ctBorn(c)) / 1e6);
  countNat(k, NatStat.Lives);
  addNatState(k, ctState(c), -1);
  store<u32>(NCOUNT + (<usize>k << 2), natCount(k) - 1);
  ctLive--;
  store<u8>(CSTATE + <usize>c, 0);
  ctDiscard(c);
}
export function ctSetState(c: u32, st: u32): void {
  const old = ctState(c);
  if (old == st) return;
  const k = ctNat(c);
  if (holding(old) && !holding(st)) endHold(c);
  addNatState(k, old, -1); addNatState(k, st, 1);
  store<u8>(CSTATE + <usize>c, <u8>st);
}

// ---- deadlines -------------------------------------------------------------------------
import { EV_CONNTRACK } from "../events";
export { EV_CONNTRACK };
/** nf_ct_refresh: entry c expires `timeout` (a CtTimeout index or a state) from now, on its NAT's jiffies. */
export function ctRefresh(c: u32, i: u32): void {
  const k = ctNat(c);
  const t = ctTimeout(k, i);
  const hz = <u64>load<u32>(NHZ + (<usize>k << 2));
  let due: u64;
  if (hz == 0) due = now + t;
  else {
    // Jiffies since boot (INITIAL_JIFFIES, as wheel.ts); the stamp is now's jiffy + the timeout's.
    const j0: u64 = 0x100000000 - 300 * hz;
    const j = j0 + now * hz / 1000000 + (t * hz + 999999) / 1000000;
    due = ((j - j0) * 1000000 + hz - 1) / hz;
  }
  if (due <= now) due = now + 1;
  const p = CTIMER + (<usize>c << 2);
  const e = load<u32>(p);
  if (e != 0) {
    if (evTime(e) < due) { setDue(e, due); return; }
    orphan(e);
  }
  store<u32>(p, scheduleLazy(due, due, EV_CONNTRACK, c, 0));
}
/** Entry c's deadline came: it is gone. */
export function ctExpire(c: u32): void {
  store<u32>(CTIMER + (<usize>c << 2), 0); // (the run loop releases the event)
  ctKill(c);
}

// ---- the tuple hash --------------------------------------------------------------------
let HT: usize = 0; let htBits: u32 = 0; let htMask: u32 = 0;

@inline function tupleHash(k: u32, sa: u32, sp: u32, da: u32, dp: u32, udp: bool): u32 {
  return mix4(sa, da ^ (k << 1 | (udp ? 1 : 0)), sp << 16 | dp, 0x6E66637);
}
/** Entry c's tuple in direction dir, as a packet carries it: (src, sport, dst, dport). */
@inline function tupleSrc(c: u32, dir: u32): u32 { return dir == 0 ? ctSrc(c) : ctDst(c); }
@inline function tupleSport(c: u32, dir: u32): u32 { return dir == 0 ? ctSport(c) : ctDport(c); }
@inline function tupleDst(c: u32, dir: u32): u32 { return dir == 0 ? ctDst(c) : pubAddrOf(ctPub(c)); }
@inline function tupleDport(c: u32, dir: u32): u32 { return dir == 0 ? ctDport(c) : ctPport(c); }
function homeOf(v: u32): u32 {
  const c = (v - 1) >> 1; const dir = (v - 1) & 1;
  return tupleHash(ctNat(c), tupleSrc(c, dir), tupleSport(c, dir), tupleDst(c, dir), tupleDport(c, dir), (ctFlags(c) & CF_UDP) != 0) & htMask;
}

/** The entry and direction ((c << 1 | dir)) a packet of NAT k with this tuple belongs to, or -1. */
export function ctFind(k: u32, sa: u32, sp: u32, da: u32, dp: u32, udp: bool): i32 {
  let i = tupleHash(k, sa, sp, da, dp, udp) & htMask;
  while (true) {
    const v = load<u32>(HT + (<usize>i << 2));
    if (v == 0) return -1;
    const c = (v - 1) >> 1; const dir = (v - 1) & 1;
    if (ctNat(c) == k) { if (tupleSrc(c, dir) == sa) { if (tupleSport(c, dir) == sp) { if (tupleDst(c, dir) == da) {
      if (tupleDport(c, dir) == dp) { if (((ctFlags(c) & CF_UDP) != 0) == udp) return <i32>(v - 1); }
    } } } }
    i = (i + 1) & htMask;
  }
  return -1;
}

function hashInsert(c: u32, dir: u32): void {
  if ((ctLive * 4) > (htMask + 1)) growHash(); // two slots an entry, at most half full
  const v = (c << 1 | dir) + 1;
  let i = homeOf(v);
  while (load<u32>(HT + (<usize>i << 2)) != 0) i = (i + 1) & htMask;
  store<u32>(HT + (<usize>i << 2), v);
}
function hashRemove(c: u32, dir: u32): void {
  const v = (c << 1 | dir) + 1;
  let i = homeOf(v);
  while (load<u32>(HT + (<usize>i << 2)) != v) i = (i + 1) & htMask;
  // Backward shift: later entries of the run move up unless their home is after the hole.
  let j = i;
  while (true) {
    j = (j + 1) & htMask;
    const w = load<u32>(HT + (<usize>j << 2));
    if (w == 0) break;
    const h = homeOf(w);
    // Moves w to the hole i when its home is not in (i, j] (cyclically).
    if (((j - h) & htMask) >= ((j - i) & htMask)) {
      store<u32>(HT + (<usize>i << 2), w);
      i = j;
    }
  }
  store<u32>(HT + (<usize>i << 2), 0);
}
function growHash(): void {
  const old = HT; const oldSize = htMask + 1;
  htBits++; htMask = (<u32>1 << htBits) - 1;
  HT = alloc(<usize>(htMask + 1) << 2);
  for (let i: u32 = 0; i < oldSize; i++) {
    const v = load<u32>(old + (<usize>i << 2));
    if (v == 0) continue;
    let j = homeOf(v);
    while (load<u32>(HT + (<usize>j << 2)) != 0) j = (j + 1) & htMask;
    store<u32>(HT + (<usize>j << 2), v);
  }
}

export function conntrackReset(): void {
  natCap = 4; nNats = 0;
  NTIMEOUT = alloc(<usize>natCap * CtTimeout.COUNT * 8); NHZ = alloc(<usize>natCap * 4); NMAX = alloc(<usize>natCap * 4);
  NCOUNT = alloc(<usize>natCap * 4); NSTATES = alloc(<usize>natCap * CT_STATE_COUNT * 4); NSTATS = alloc(<usize>natCap * NatStat.COUNT * 8);
  hmapCap = 0; HMAP = 0;
  ctCap = 64; ctTop = 0; ctFree = 0xFFFFFFFF; ctLive = 0;
  CNAT = alloc(128); CSTATE = alloc(64); CFLAGS = alloc(64); CSRC = alloc(256); CSPORT = alloc(128);
  CDST = alloc(256); CDPORT = alloc(128); CPUB = alloc(128); CPPORT = alloc(128); CDIN = alloc(128); CDOUT = alloc(128);
  CEND = alloc(256); CTIMER = alloc(256); CBORN = alloc(512); CCONN = alloc(256);
  htBits = 8; htMask = 255; HT = alloc(256 * 4);
}

// ---- the invariant (invariants.ts 12) ----------------------------------------------------
/**
 * Each live entry's two tuples are found by ctFind as its own, the hash holds two
 * entries per live one, and per NAT the live entries by state equal its counts. Returns
 * 0, or the entry (+1) or NAT (+1, negated) that breaks it; `ctWant`/`ctGot` say how.
 */
export let ctWant: u32 = 0;
export let ctGot: u32 = 0;
let PER: usize = 0; let perCap: u32 = 0;
export function ctCheck(): i32 {
  let live: u32 = 0;
  if (perCap < max(nNats, 1)) { perCap = max(nNats, 1) * 2; PER = alloc(<usize>perCap * CT_STATE_COUNT * 4); }
  const per = PER;
  memory.fill(per, 0, <usize>perCap * CT_STATE_COUNT * 4);
  for (let c: u32 = 0; c < ctTop; c++) {
    const st = ctState(c);
    if (st == 0) continue; // free, or unconfirmed (never left over between slices)
    live++;
    const k = ctNat(c);
    const p = per + ((<usize>k * CT_STATE_COUNT + st) << 2);
    store<u32>(p, load<u32>(p) + 1);
    const udp = (ctFlags(c) & CF_UDP) != 0;
    for (let dir: u32 = 0; dir < 2; dir++) {
      const f = ctFind(k, tupleSrc(c, dir), tupleSport(c, dir), tupleDst(c, dir), tupleDport(c, dir), udp);
      if (f != <i32>(c << 1 | dir)) { ctWant = c << 1 | dir; ctGot = <u32>f; return <i32>c + 1; }
    }
  }
  let inHash: u32 = 0;
  for (let i: u32 = 0; i <= htMask; i++) if (load<u32>(HT + (<usize>i << 2)) != 0) inHash++;
  if (live != ctLive || inHash != 2 * live) { ctWant = 2 * ctLive; ctGot = inHash; return <i32>ctTop + 1; }
  for (let k: u32 = 0; k < nNats; k++) {
    for (let st: u32 = 1; st < <u32>CT_STATE_COUNT; st++) {
      const got = load<u32>(per + ((<usize>k * CT_STATE_COUNT + st) << 2));
      if (got != natStates(k, st)) { ctWant = natStates(k, st); ctGot = got; return -(<i32>k + 1); }
    }
  }
  return 0;
}

// A host that forwards: SNAT as Linux's nf_nat does it (net/netfilter/nf_nat_core.c),
// with conntrack (conntrack.ts) deciding what each packet is. A segment that reaches a
// NAT host is looked up by its tuple: a new flow's first packet gets an entry and a
// public tuple, the original side's packets leave with the public source, the reply
// side's with the inside destination, each over its own next hop (each hop its own
// latency, loss and rules). Routes toward destinations are given by the SDK (shortest
// total latency, or the scenario's `via`).
//
// The public tuple (get_unique_tuple for an SNAT range with ports, no random flags):
//   1. the address: one of the public addresses by a hash of the (source, destination)
//      addresses (find_best_ips_proto), so one pair always leaves by one address;
//   2. the client's own port, when it is in the range and the reply tuple it makes is free;
//   3. else nf_nat_l4proto_unique_tuple: from a random offset, `attempts` = min(range, 128)
//      ports in a row; if none is free, another random offset with half the attempts, down
//      to 8 (128, 64, 32, 16, 8). A tuple is taken when an entry of either direction has it;
//      but in the last 32 attempts of each round a TCP SYN may take over an entry in
//      TIME_WAIT or CLOSE whose original side's sequence end its own is after
//      (nf_nat_used_tuple_harder): the old entry is killed.
//   4. nothing free: the packet is dropped at confirmation (insert_failed); the client
//      retransmits its SYN, and each retransmission searches again.
// Every tuple's uniqueness is the whole tuple's (endpoint-dependent mapping): one public
// port serves flows to different destinations at once.

import { alloc, DEBUG, regrow } from "../mem";
import { CT_STATE_COUNT, CtState, CtTimeout, Flag, NatStat, Stat } from "../abi";
import { mix4, next64, seedStream } from "../rng";
import { now } from "../wheel";
import { bump, traced, traceNat, traceSegment } from "../metrics";
import { dirRev, dirSrc, freeSegment, markForwarding, nHosts, runSeed, sgAck, sgConn, sgDir, sgDport, sgDst, sgFlags, sgLen, sgOpts, sgSeq, sgSport, sgSrc, sgTsecr, sgTsval, sgWl } from "../net";
import { hop } from "../tcp";
import {
  addNatBooks, ctNat, CF_ASSURED, CF_CLOSE_INIT, CF_SEEN_REPLY, CF_UDP, countNat, ctBorn, ctConfirm, ctDirIn, ctDirOut, ctDiscard, ctDport,
  ctDst, ctEnd, ctEvent, ctFind, ctFlags, ctKill, ctNew, ctPport, ctPub, ctRefresh, ctSetState, ctSport, ctSrc, ctState,
  EV_RST, IG, IV, insideEntries, natFull, natStat, natStates, nNats, setCtEnd, setCtFlag, setOnHold, setPubAddrOf, transition,
} from "./conntrack";

const MAX_ATTEMPTS: u32 = 128;            // NF_NAT_MAX_ATTEMPTS
const HARDER_THRESH: u32 = MAX_ATTEMPTS / 4; // NF_NAT_HARDER_THRESH

// ---- NATs ------------------------------------------------------------------------------
let NHOST: usize = 0;    // u32 [nat] its host
let NLO: usize = 0;      // u32 [nat] port range
let NHI: usize = 0;
let NPUB0: usize = 0;    // u32 [nat] its first public address index
let NPUBN: usize = 0;    // u32 [nat] how many
let NRNG: usize = 0;     // u64 [nat] random stream (get_random_u16)
let NTAKE: usize = 0;    // u8  [nat] 1: a SYN may take over a TIME_WAIT or CLOSE entry (Linux); 0: a closed flow holds its port to the end of its timeout
let NRESET: usize = 0;   // u8  [nat] 1: a TCP packet from inside for a flow with no entry is answered with an RST (AWS NAT gateway); 0: dropped as invalid (Linux)
let NSCAN: usize = 0;    // u8  [nat] 1: the port search tries the whole range (a cloud gateway's documented count); 0: Linux's rounds of random runs
let NBLKN: usize = 0;    // u32 [nat] ports per inside host (a cloud gateway's per-VM block); 0: every host searches the whole range (Linux)
let NBLK: usize = 0;     // usize [nat] -> u32[nHosts]: the inside host's block, (public address index + 1) << 16 | first port; 0 = none
let nCap: u32 = 0;
let natsAdded: u32 = 0;

// Public addresses: the address, and per port how many entries hold it.
let PADDR: usize = 0;    // u32 [pub]
let PENTRIES: usize = 0; // u32 [pub] entries using the address
let PPORTS: usize = 0;   // u32 [pub] ports with at least one entry
let PUSE: usize = 0;     // usize [pub] -> u16[65536]
let pCap: u32 = 0;
export let nPubs: u32 = 0;

export function pubAddr(p: u32): u32 { return load<u32>(PADDR + (<usize>p << 2)); }
@inline export function pubEntries(p: u32): u32 { return load<u32>(PENTRIES + (<usize>p << 2)); }
@inline export function pubPorts(p: u32): u32 { return load<u32>(PPORTS + (<usize>p << 2)); }
@inline function pubUsePtr(p: u32, port: u32): usize { return load<usize>(PUSE + (<usize>p << alignof<usize>())) + (<usize>port << 1); }

/** Host h forwards, as NAT number k (its index among NATs, from 0): SNAT to `lo`-`hi`. `stream` numbers its random stream. */
export function addNat(h: u32, lo: u32, hi: u32, stream: u32): u32 {
  const k = addNatBooks();
  if (k == nCap) {
    const c = nCap; const n = max(c * 2, 4);
    NHOST = regrow(NHOST, <usize>c * 4, <usize>n * 4); NLO = regrow(NLO, <usize>c * 4, <usize>n * 4); NHI = regrow(NHI, <usize>c * 4, <usize>n * 4);
    NPUB0 = regrow(NPUB0, <usize>c * 4, <usize>n * 4); NPUBN = regrow(NPUBN, <usize>c * 4, <usize>n * 4); NRNG = regrow(NRNG, <usize>c * 8, <usize>n * 8);
    NTAKE = regrow(NTAKE, <usize>c, <usize>n); NRESET = regrow(NRESET, <usize>c, <usize>n); NSCAN = regrow(NSCAN, <usize>c, <usize>n);
    NBLKN = regrow(NBLKN, <usize>c * 4, <usize>n * 4); NBLK = regrow(NBLK, <usize>c * sizeof<usize>(), <usize>n * sizeof<usize>());
    nCap = n;
  }
  natsAdded = k + 1;
  store<u32>(NHOST + (<usize>k << 2), h); store<u32>(NLO + (<usize>k << 2), lo); store<u32>(NHI + (<usize>k << 2), hi);
  store<u32>(NPUB0 + (<usize>k << 2), nPubs); store<u32>(NPUBN + (<usize>k << 2), 0);
  store<u64>(NRNG + (<usize>k << 3), seedStream(runSeed, 0x80000 + <u64>stream));
  store<u8>(NTAKE + <usize>k, 1); store<u8>(NRESET + <usize>k, 0); store<u8>(NSCAN + <usize>k, 0);
  store<u32>(NBLKN + (<usize>k << 2), 0); store<usize>(NBLK + (<usize>k << alignof<usize>()), 0);
  markForwarding(h, k);
  return k;
}
/** A public address of the NAT added last (a NAT's addresses are added right after it). */
export function addPublic(k: u32, addr: u32): u32 {
  if (k + 1 != natsAdded) abort("engine configuration: a NAT's public addresses follow it");
  if (nPubs == pCap) {
    const c = pCap; const n = max(c * 2, 4);
    PADDR = regrow(PADDR, <usize>c * 4, <usize>n * 4); PENTRIES = regrow(PENTRIES, <usize>c * 4, <usize>n * 4);
    PPORTS = regrow(PPORTS, <usize>c * 4, <usize>n * 4); PUSE = regrow(PUSE, <usize>c * sizeof<usize>(), <usize>n * sizeof<usize>());
    pCap = n;
  }
  const p = nPubs++;
  store<u32>(PADDR + (<usize>p << 2), addr);
  store<usize>(PUSE + (<usize>p << alignof<usize>()), alloc(65536 * 2));
  store<u32>(NPUBN + (<usize>k << 2), load<u32>(NPUBN + (<usize>k << 2)) + 1);
  return p;
}
export function natHost(k: u32): u32 { return load<u32>(NHOST + (<usize>k << 2)); }
export function setNatTakeover(k: u32, on: bool): void { store<u8>(NTAKE + <usize>k, on ? 1 : 0); }
export function setNatReset(k: u32, on: bool): void { store<u8>(NRESET + <usize>k, on ? 1 : 0); }
export function setNatScan(k: u32, on: bool): void { store<u8>(NSCAN + <usize>k, on ? 1 : 0); }
/** Inside host h of NAT k takes its public ports from `n` ports from `first` on the NAT's public address j (its index among the NAT's). */
export function setNatBlock(k: u32, h: u32, j: u32, first: u32, n: u32): void {
  const was = load<u32>(NBLKN + (<usize>k << 2));
  if (was != 0 && was != n) abort("engine configuration: a NAT's blocks differ in size");
  if (j >= load<u32>(NPUBN + (<usize>k << 2))) abort("engine configuration: a NAT's block is on an address it does not have");
  if (n == 0 || first < load<u32>(NLO + (<usize>k << 2)) || first + n - 1 > load<u32>(NHI + (<usize>k << 2))) abort("engine configuration: a NAT's block is outside its port range");
  store<u32>(NBLKN + (<usize>k << 2), n);
  const at = NBLK + (<usize>k << alignof<usize>());
  if (load<usize>(at) == 0) store<usize>(at, alloc(<usize>max(nHosts, 1) << 2));
  store<u32>(load<usize>(at) + (<usize>h << 2), (j + 1) << 16 | first);
}

function holdPublic(c: u32, d: i32): void {
  const p = ctPub(c);
  const q = pubUsePtr(p, ctPport(c));
  const v = <i32>load<u16>(q) + d;
  store<u16>(q, <u16>v);
  if (v == 0 && d < 0) store<u32>(PPORTS + (<usize>p << 2), pubPorts(p) - 1);
  if (v == 1 && d > 0) store<u32>(PPORTS + (<usize>p << 2), pubPorts(p) + 1);
  store<u32>(PENTRIES + (<usize>p << 2), <u32>(<i32>pubEntries(p) + d));
  if (load<u8>(NSCAN + <usize>ctNat(c)) != 0) addToDest(c, d);
}

// ---- tuples taken per (public address, destination), for the whole-range search ----------
// A key is (public address index << 49 | udp << 48 | port << 32 | address) + 1, 0 = empty;
// its value: the entries toward it and a bitmap of the public ports they hold (8 KB, made
// on first use). A key stays once made (a run meets few destinations): no tombstones.
let DKEY: usize = 0; let DCOUNT: usize = 0; let DBITS: usize = 0; let dMask: u32 = 0; let nDests: u32 = 0;
@inline function destKey(p: u32, da: u32, dp: u32, udp: bool): u64 { return (<u64>p << 49 | (udp ? <u64>1 << 48 : 0) | <u64>dp << 32 | <u64>da) + 1; }
function destSlot(key: u64): u32 {
  let i = mix4(<u32>key, <u32>(key >> 32), 0x64657374, 0) & dMask;
  while (true) {
    const k = load<u64>(DKEY + (<usize>i << 3));
    if (k == 0 || k == key) return i;
    i = (i + 1) & dMask;
  }
  return 0;
}
/** The slot of (p, da, dp), or -1 when no entry went there yet. */
function destFind(p: u32, da: u32, dp: u32, udp: bool): i32 {
  if (dMask == 0) return -1;
  const i = destSlot(destKey(p, da, dp, udp));
  return load<u64>(DKEY + (<usize>i << 3)) == 0 ? -1 : <i32>i;
}
function addToDest(c: u32, d: i32): void {
  if ((nDests + 1) * 2 > dMask + 1) {
    const oldK = DKEY; const oldC = DCOUNT; const oldB = DBITS; const size: u32 = oldK == 0 ? 0 : dMask + 1;
    dMask = max(size * 2, <u32>16) - 1;
    DKEY = alloc(<usize>(dMask + 1) << 3); DCOUNT = alloc(<usize>(dMask + 1) << 2); DBITS = alloc(<usize>(dMask + 1) * sizeof<usize>());
    for (let i: u32 = 0; i < size; i++) {
      const k = load<u64>(oldK + (<usize>i << 3));
      if (k == 0) continue;
      const j = destSlot(k);
      store<u64>(DKEY + (<usize>j << 3), k); store<u32>(DCOUNT + (<usize>j << 2), load<u32>(oldC + (<usize>i << 2)));
      store<usize>(DBITS + (<usize>j << alignof<usize>()), load<usize>(oldB + (<usize>i << alignof<usize>())));
    }
  }
  const key = destKey(ctPub(c), ctDst(c), ctDport(c), (ctFlags(c) & CF_UDP) != 0);
  const i = destSlot(key);
  if (load<u64>(DKEY + (<usize>i << 3)) == 0) {
    store<u64>(DKEY + (<usize>i << 3), key); nDests++;
    store<usize>(DBITS + (<usize>i << alignof<usize>()), alloc(65536 / 8));
  }
  const q = DCOUNT + (<usize>i << 2);
  store<u32>(q, <u32>(<i32>load<u32>(q) + d));
  const pp = ctPport(c);
  const w = load<usize>(DBITS + (<usize>i << alignof<usize>())) + (<usize>(pp >> 6) << 3);
  const bit = <u64>1 << (pp & 63);
  store<u64>(w, d > 0 ? load<u64>(w) | bit : load<u64>(w) & ~bit);
}
/** The first port in [from, to] with no entry toward slot i's destination, or -1. */
function freeIn(i: u32, from: u32, to: u32): i32 {
  const bits = load<usize>(DBITS + (<usize>i << alignof<usize>()));
  let w = from >> 6;
  let free = ~load<u64>(bits + (<usize>w << 3)) & (<u64>-1 << (from & 63));
  while (free == 0) {
    w++;
    if (w << 6 > to) return -1;
    free = ~load<u64>(bits + (<usize>w << 3));
  }
  const q = w << 6 | <u32>ctz(free);
  return q <= to ? <i32>q : -1;
}

// ---- routes: (forwarding host, destination address) -> direction --------------------------
let RKEY: usize = 0;   // u64 [slot] host << 32 | address, + 1 (0 = empty)
let RDIR: usize = 0;   // u32 [slot]
let rMask: u32 = 0; let nRoutes: u32 = 0;

@inline function routeSlot(h: u32, a: u32): u32 { return mix4(h, a, 0x707465, 0x524F55) & rMask; }
export function addRoute(h: u32, addr: u32, d: u32): void {
  if ((nRoutes + 1) * 2 > rMask + 1) {
    const oldK = RKEY; const oldD = RDIR; const size = rMask + 1;
    rMask = size * 2 - 1;
    RKEY = alloc(<usize>(rMask + 1) << 3); RDIR = alloc(<usize>(rMask + 1) << 2);
    for (let i: u32 = 0; i < size; i++) {
      const k = load<u64>(oldK + (<usize>i << 3));
      if (k != 0) put(<u32>((k - 1) >> 32), <u32>(k - 1), load<u32>(oldD + (<usize>i << 2)));
    }
  }
  if (put(h, addr, d)) nRoutes++;
}
function put(h: u32, a: u32, d: u32): bool {
  const key = (<u64>h << 32 | <u64>a) + 1;
  let i = routeSlot(h, a);
  while (true) {
    const k = load<u64>(RKEY + (<usize>i << 3));
    if (k == 0 || k == key) {
      store<u64>(RKEY + (<usize>i << 3), key); store<u32>(RDIR + (<usize>i << 2), d);
      return k == 0;
    }
    i = (i + 1) & rMask;
  }
  return false;
}
/** The direction host h forwards a packet for `addr` on, or -1: no route. */
function route(h: u32, a: u32): i32 {
  const key = (<u64>h << 32 | <u64>a) + 1;
  let i = routeSlot(h, a);
  while (true) {
    const k = load<u64>(RKEY + (<usize>i << 3));
    if (k == 0) return -1;
    if (k == key) return <i32>load<u32>(RDIR + (<usize>i << 2));
    i = (i + 1) & rMask;
  }
  return -1;
}

// ---- a packet reaches NAT k -----------------------------------------------------------
/** Segment g arrived at the host of NAT k: tracked, translated and forwarded, or dropped. */
export function natArrives(g: u32, k: u32): void {
  const d = sgDir(g); const fl = sgFlags(g);
  const sa = sgSrc(g); const sp = sgSport(g); const da = sgDst(g); const dp = sgDport(g);
  const seq = sgSeq(g); const ack = sgAck(g); const len = sgLen(g); const w = sgWl(g); const conn = sgConn(g);
  const opts = sgOpts(g); const tsval = sgTsval(g); const tsecr = sgTsecr(g);
  freeSegment(g);
  const udp = (fl & Flag.UDP) != 0;
  let found = ctFind(k, sa, sp, da, dp, udp);
  let c: u32 = 0; let dir: u32 = 0;
  if (found >= 0) {
    c = <u32>found >> 1; dir = <u32>found & 1;
    if (!udp) {
      const st = ctState(c);
      const next = transition(dir, ctEvent(fl), st);
      // A SYN reopening a closed tuple (sTW/sCL -> sSS after a FIN or RST): the old entry
      // is deleted and the SYN looked up again, as a new flow (nf_conntrack_tcp_packet).
      if (next == CtState.SYN_SENT) { if (st >= <u32>CtState.TIME_WAIT) { if (ctFlags(c) & CF_CLOSE_INIT) { ctKill(c); found = -1; } } }
    }
  }
  if (found < 0) {
    // A new flow: only a datagram of the original side or a SYN starts one (no pick-up in mid-stream).
    const starts = udp ? (fl & (Flag.ACK | Flag.RST)) == 0 : (fl & (Flag.SYN | Flag.ACK | Flag.RST)) == Flag.SYN;
    const out = route(natHost(k), da);
    if (!starts) {
      countNat(k, NatStat.Invalid); dropAt(d, conn, fl, seq, ack, len, opts, tsval, tsecr);
      // A cloud gateway answers an inside host's packet for a flow it dropped (idle) with an RST, as the
      // receiver of a segment for no connection does (RFC 9293 3.10.7.1): seq from its ACK, else ACK what it covered.
      if (!udp && out >= 0 && !(fl & Flag.RST) && load<u8>(NRESET + <usize>k) != 0) {
        countNat(k, NatStat.Resets);
        const end = seq + len + (fl & Flag.SYN ? 1 : 0) + (fl & Flag.FIN ? 1 : 0);
        if (fl & Flag.ACK) hop(dirRev(d), da, dp, sa, sp, Flag.RST, ack, 0, 0, 0, conn, 0, 0, 0);
        else hop(dirRev(d), da, dp, sa, sp, Flag.RST | Flag.ACK, 0, end, 0, 0, conn, 0, 0, 0);
      }
      return;
    }
    if (out < 0) { countNat(k, NatStat.Invalid); dropAt(d, conn, fl, seq, ack, len, opts, tsval, tsecr); return; }
    if (natFull(k)) { countNat(k, NatStat.TableFull); dropAt(<u32>out, conn, fl, seq, ack, len, opts, tsval, tsecr); return; }
    const end = seq + len + (fl & Flag.SYN ? 1 : 0) + (fl & Flag.FIN ? 1 : 0);
    c = ctNew(k, udp, sa, sp, da, dp, d, <u32>out, end, conn);
    if (!uniqueTuple(k, c, udp)) {
      ctDiscard(c);
      countNat(k, NatStat.InsertFailed);
      dropAt(<u32>out, conn, fl, seq, ack, len, opts, tsval, tsecr);
      return;
    }
    if (traced(conn)) traceNat(now, conn, natHost(k), sa, sp, pubAddr(ctPub(c)), ctPport(c));
    if (udp) { ctRefresh(c, CtTimeout.UDP); }
    else { ctRefresh(c, CtState.SYN_SENT); }
    dir = 0;
  } else if (udp) {
    if (dir == 1) {
      if (!(ctFlags(c) & CF_SEEN_REPLY)) { setCtFlag(c, CF_SEEN_REPLY); ctSetState(c, CtState.UDP_REPLIED); }
    }
    // nf_conntrack_udp_packet: both ways seen and still in use 2 s after the first packet: a stream, assured.
    if (ctFlags(c) & CF_SEEN_REPLY) {
      if (now > ctBorn(c) + 2000000) {
        if (!(ctFlags(c) & CF_ASSURED)) { setCtFlag(c, CF_ASSURED); ctSetState(c, CtState.UDP_ASSURED); }
        ctRefresh(c, CtTimeout.UDP_STREAM);
      } else ctRefresh(c, CtTimeout.UDP);
    } else ctRefresh(c, CtTimeout.UDP);
  } else {
    const ev = ctEvent(fl);
    const next = transition(dir, ev, ctState(c));
    if (next == IV) { countNat(k, NatStat.Invalid); dropAt(dir == 0 ? ctDirOut(c) : dirRev(ctDirIn(c)), conn, fl, seq, ack, len, opts, tsval, tsecr); return; }
    if (next != IG) {
      if (dir == 1) setCtFlag(c, CF_SEEN_REPLY);
      if (ev == EV_RST || (fl & Flag.FIN)) setCtFlag(c, CF_CLOSE_INIT);
      if (dir == 0) {
        const end = seq + len + (fl & Flag.SYN ? 1 : 0) + (fl & Flag.FIN ? 1 : 0);
        if (<i32>(end - ctEnd(c)) > 0) setCtEnd(c, end);
      }
      if (next == CtState.ESTABLISHED) setCtFlag(c, CF_ASSURED);
      ctSetState(c, next);
      ctRefresh(c, ev == EV_RST ? CtState.CLOSE : next); // an RST's entry lasts the CLOSE timeout
    }
  }
  countNat(k, NatStat.Forwarded);
  if (dir == 0) hop(ctDirOut(c), pubAddr(ctPub(c)), ctPport(c), da, dp, fl, seq, ack, len, w, conn, opts, tsval, tsecr);
  else hop(dirRev(ctDirIn(c)), sa, sp, ctSrc(c), ctSport(c), fl, seq, ack, len, w, conn, opts, tsval, tsecr);
}

/** The NAT drops a packet it would have sent over direction d (traced there as dropped). */
function dropAt(d: u32, conn: u32, fl: u32, seq: u32, ack: u32, len: u32, opts: u32, tsval: u32, tsecr: u32): void {
  bump(Stat.SegDropped);
  if (traced(conn)) traceSegment(now, conn, d, fl, true, seq, ack, len, opts, tsval, tsecr);
}

/**
 * get_unique_tuple for SNAT: picks entry c's public address and port and confirms it;
 * false when every try was taken (the caller drops the packet: insert_failed).
 */
function uniqueTuple(k: u32, c: u32, udp: bool): bool {
  if (load<u32>(NBLKN + (<usize>k << 2)) != 0) return blockTuple(k, c, udp);
  const n = load<u32>(NPUBN + (<usize>k << 2));
  const p = load<u32>(NPUB0 + (<usize>k << 2)) + (n == 1 ? 0 : <u32>((<u64>mix4(ctSrc(c), ctDst(c), 0x6A686173, 0) * n) >> 32));
  const pa = pubAddr(p);
  const lo = load<u32>(NLO + (<usize>k << 2)); const hi = load<u32>(NHI + (<usize>k << 2));
  const da = ctDst(c); const dp = ctDport(c);
  const first = udp ? CtState.UDP_UNREPLIED : CtState.SYN_SENT;
  // 2. the client's port, in range and free
  const sp = ctSport(c);
  if (sp >= lo && sp <= hi) {
    if (lo == hi || ctFind(k, da, dp, pa, sp, udp) < 0) { ctConfirm(c, p, sp, first); return true; }
  }
  const size = hi - lo + 1;
  const harder = !udp && load<u8>(NTAKE + <usize>k) != 0;
  if (load<u8>(NSCAN + <usize>k) != 0) return scanTuple(k, c, p, lo, size, udp, harder);
  // 3. random rounds
  let attempts = min(size, MAX_ATTEMPTS);
  let off = <u32>(next64(NRNG + (<usize>k << 3)) >> 48); // get_random_u16
  while (true) {
    for (let i: u32 = 0; i < attempts; i++) {
      const port = lo + off % size;
      off = (off + 1) & 0xFFFF; // a u16
      const f = ctFind(k, da, dp, pa, port, udp);
      if (f < 0) { ctConfirm(c, p, port, first); return true; }
      if (harder) { if (attempts - i <= HARDER_THRESH) { if (mayTakeOver(<u32>f, c)) {
        ctKill(<u32>f >> 1);
        countNat(k, NatStat.Takeovers);
        ctConfirm(c, p, port, first);
        return true;
      } } }
    }
    if (attempts >= size || attempts < 16) return false;
    attempts >>= 1;
    off = <u32>(next64(NRNG + (<usize>k << 3)) >> 48);
  }
  return false;
}
/**
 * A cloud gateway's per-VM port block: entry c takes a port of its inside host's block,
 * any one whose tuple to the destination is free (searched from a random port of the
 * block, all of it: the vendors do not say how they pick, only that a VM runs out when
 * every port of its block is in use toward that destination); false when none is.
 */
function blockTuple(k: u32, c: u32, udp: bool): bool {
  const tab = load<usize>(NBLK + (<usize>k << alignof<usize>()));
  const b = tab == 0 ? 0 : load<u32>(tab + (<usize>dirSrc(ctDirIn(c)) << 2));
  if (b == 0) return false; // a host the scenario gave no block
  const p = load<u32>(NPUB0 + (<usize>k << 2)) + (b >> 16) - 1;
  const first = b & 0xFFFF; const size = load<u32>(NBLKN + (<usize>k << 2));
  const harder = !udp && load<u8>(NTAKE + <usize>k) != 0;
  const off = <u32>((next64(NRNG + (<usize>k << 3)) >> 32) % <u64>size);
  return walkRange(k, c, p, first, size, off, udp, harder);
}
/**
 * The whole-range search (a cloud gateway that documents a count, not a search): from a
 * random port, the first whose tuple is free; at once false when every port of the range
 * has an entry toward the destination (and none may be taken over).
 */
function scanTuple(k: u32, c: u32, p: u32, lo: u32, size: u32, udp: bool, harder: bool): bool {
  const off = <u32>((next64(NRNG + (<usize>k << 3)) >> 32) % <u64>size);
  if (!harder) {
    // Without takeover a port is free exactly when no entry toward the destination holds it: the bitmap says which.
    const da = ctDst(c); const dp = ctDport(c);
    const i = destFind(p, da, dp, udp);
    let port = lo + off;
    if (i >= 0) {
      if (load<u32>(DCOUNT + (<usize>i << 2)) >= size) return false;
      let q = freeIn(<u32>i, lo + off, lo + size - 1);
      if (q < 0) q = freeIn(<u32>i, lo, lo + off);
      port = <u32>q;
    }
    if (DEBUG) assert(ctFind(k, da, dp, pubAddr(p), port, udp) < 0, "the bitmap's free port has no entry");
    ctConfirm(c, p, port, udp ? CtState.UDP_UNREPLIED : CtState.SYN_SENT);
    return true;
  }
  return walkRange(k, c, p, lo, size, off, udp, true);
}
/**
 * Every port of [lo, lo + size) once, from lo + off round: entry c is confirmed on the
 * first whose tuple to its destination is free, or held by an entry it may take over.
 */
function walkRange(k: u32, c: u32, p: u32, lo: u32, size: u32, off: u32, udp: bool, harder: bool): bool {
  const pa = pubAddr(p); const da = ctDst(c); const dp = ctDport(c);
  for (let i: u32 = 0; i < size; i++) {
    const port = lo + off;
    off = off + 1 == size ? 0 : off + 1;
    const f = ctFind(k, da, dp, pa, port, udp);
    if (f < 0 || (harder && mayTakeOver(<u32>f, c))) {
      if (f >= 0) { ctKill(<u32>f >> 1); countNat(k, NatStat.Takeovers); }
      ctConfirm(c, p, port, udp ? CtState.UDP_UNREPLIED : CtState.SYN_SENT);
      return true;
    }
  }
  return false;
}
/** nf_nat_used_tuple_harder's test: the holder is a reply tuple of an SNAT entry in TIME_WAIT or CLOSE, and the new SYN is ahead of it. */
function mayTakeOver(f: u32, c: u32): bool {
  if ((f & 1) == 0) return false; // the tuple is someone's original tuple
  const old = f >> 1;
  if (ctState(old) < <u32>CtState.TIME_WAIT) return false;
  if (ctState(old) > <u32>CtState.SYN_SENT2) return false; // (a UDP entry)
  return <i32>(ctEnd(c) - ctEnd(old)) > 0; // nf_seq_has_advanced
}

export function natReset(): void {
  nCap = 0; natsAdded = 0; nPubs = 0; pCap = 0;
  NHOST = 0; NLO = 0; NHI = 0; NPUB0 = 0; NPUBN = 0; NRNG = 0; NTAKE = 0; NRESET = 0; NSCAN = 0; NBLKN = 0; NBLK = 0; PADDR = 0; PENTRIES = 0; PPORTS = 0; PUSE = 0;
  rMask = 15; nRoutes = 0; RKEY = alloc(16 * 8); RDIR = alloc(16 * 4);
  DKEY = 0; DCOUNT = 0; DBITS = 0; dMask = 0; nDests = 0;
  setPubAddrOf(pubAddr);
  setOnHold(holdPublic);
}

/** The NAT columns of a sample row (metrics.ts): per NAT its entries by state and its counters, per public address its entries and ports. */
export function natSampleWords(): u32 { return nNats == 0 ? 0 : nNats * (CT_STATE_COUNT + NatStat.COUNT) + nPubs * 2 + nHosts; }
export function writeNatSample(p: usize): void {
  for (let k: u32 = 0; k < nNats; k++) {
    for (let s: u32 = 0; s < <u32>CT_STATE_COUNT; s++) { store<u32>(p, natStates(k, s)); p += 4; }
    for (let i: u32 = 0; i < <u32>NatStat.COUNT; i++) { store<u32>(p, <u32>Math.round(natStat(k, i))); p += 4; }
  }
  for (let q: u32 = 0; q < nPubs; q++) { store<u32>(p, pubEntries(q)); store<u32>(p, pubPorts(q), 4); p += 8; }
  for (let h: u32 = 0; h < nHosts; h++) { store<u32>(p, insideEntries(h)); p += 4; }
}

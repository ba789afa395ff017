// The network the sockets live on: hosts and their knobs, IPv4 addresses with a
// port table each, listeners, link directions with their loss kernels and rules,
// and the pool of segments in flight. Everything here is configured before the run
// and read on the hot path; tables start small and double as configuration adds to them.

import { alloc, DEBUG, regrow, regrowColumn as col } from "./mem";
import { HostParam, LossKind, State, STATE_COUNT } from "./abi";
import { mix4, nextUnit, seedStream } from "./rng";
import { FLIGHT_LANES, firstLane, laneEnter, laneLeave, laneNext } from "./lanes";

// The widths of the fields that hold these indexes (u16: sockets' IPIDX and DIR, a
// segment's dir, IPHOST, DSRC/DDST) bound the tables; past them configuration aborts.
export const MAX_HOSTS: u32 = 65536;
export const MAX_IPS: u32 = 65535; // (IPNEXT holds an address + 1)
export const MAX_DIRS: u32 = 65536;
const FIRST_CAP: u32 = 16;
let hostCap: u32 = 0; let ipCap: u32 = 0; let listenerCap: u32 = 0; let dirCap: u32 = 0; let ruleCap: u32 = 0;

export let nHosts: u32 = 0;
export let nIps: u32 = 0;
export let nDirs: u32 = 0;
export let nListeners: u32 = 0;
export let nRules: u32 = 0;
export let runSeed: u64 = 0;

// ---- hosts ---------------------------------------------------------------
let HPARAM: usize = 0;      // u32 [host][HostParam]
let HTW: usize = 0;         // u32 [host] sockets in TIME_WAIT
let HUDP: usize = 0;        // u32 [host] UDP sockets open
let HSTATES: usize = 0;     // u32 [host][state] live sockets per state
let HSECRET: usize = 0;     // u64 [host] ISN secret
let HRNG: usize = 0;        // u64 [host] random stream for port selection
let HPERTURB: usize = 0;    // usize [host] -> u32[256], Linux's table_perturb (RFC 6056 algorithm 3)
let HRESERVED: usize = 0;   // usize [host] -> u8[8192]: a bit per port that connect() must not pick
let HIPS: usize = 0;        // u32 [host] its last address + 1, 0 = none (the rest linked through IPNEXT)
let HPART: usize = 0;       // u8  [host] 0: this instance simulates it; else the part (a run split over workers) + 1
export const PERTURB_SIZE: u32 = 256;

@inline export function hostParam(h: u32, k: i32): u32 { return load<u32>(HPARAM + ((<usize>h * HostParam.COUNT + k) << 2)); }
export function setHostParam(h: u32, k: i32, v: u32): void {
  store<u32>(HPARAM + ((<usize>h * HostParam.COUNT + k) << 2), v);
  // The host's addresses' copies (its own list: a scan of every address made a fleet's set-up quadratic).
  for (let i = load<u32>(HIPS + (<usize>h << 2)); i != 0; i = load<u16>(IPNEXT + (<usize>(i - 1) << 1))) {
    store<u32>(IPPARAM + ((<usize>(i - 1) << 5 | k) << 2), v);
  }
}
@inline export function hostUdp(h: u32): u32 { return load<u32>(HUDP + (<usize>h << 2)); }
@inline export function addHostUdp(h: u32, d: i32): void { store<u32>(HUDP + (<usize>h << 2), load<u32>(HUDP + (<usize>h << 2)) + d); }
@inline export function hostTw(h: u32): u32 { return load<u32>(HTW + (<usize>h << 2)); }
@inline export function addHostTw(h: u32, d: i32): void { store<u32>(HTW + (<usize>h << 2), load<u32>(HTW + (<usize>h << 2)) + d); }
@inline export function hostSecret(h: u32): u64 { return load<u64>(HSECRET + (<usize>h << 3)); }
@inline export function stateCount(h: u32, st: u32): u32 { return load<u32>(HSTATES + ((<usize>h * STATE_COUNT + st) << 2)); }
@inline export function addStateCount(h: u32, st: u32, d: i32): void {
  const p = HSTATES + ((<usize>h * STATE_COUNT + st) << 2);
  store<u32>(p, load<u32>(p) + d);
}

// A host's and an address's tables are carved from blocks of up to 16 hosts' or addresses'
// (each block as many as were added before it): a block's header is written as it is
// allocated, the first touch of a fresh page, which a VM can take ~20 us to fault in.
const HOST_TABLES: usize = PERTURB_SIZE * 4 + 8192;
const ADDRESS_TABLES: usize = 65536 * 4 + 8192 * 2; // port use, TIME_WAIT use, UDP bits, held bits
const hostSlab = new StaticArray<usize>(2); // [next table, tables left]
const ipSlab = new StaticArray<usize>(2);
function carve(slab: StaticArray<usize>, size: usize, added: u32): usize {
  if (slab[1] == 0) { slab[1] = <usize>min(max(added, 1), 16); slab[0] = alloc(slab[1] * size); }
  const t = slab[0];
  slab[0] += size; slab[1]--;
  return t;
}

/** `stream` numbers the host's ISN secret: its index in the whole scenario (shards keep it). */
export function addHost(stream: u32): u32 {
  if (nHosts >= MAX_HOSTS) abort("engine table full: at most 65536 hosts");
  if (nHosts == hostCap) growHosts();
  const h = nHosts++;
  store<u64>(HSECRET + (<usize>h << 3), seedStream(runSeed, 0x10000 + <u64>stream));
  store<u64>(HRNG + (<usize>h << 3), seedStream(runSeed, 0x40000 + <u64>stream));
  const t = carve(hostSlab, HOST_TABLES, h);
  store<usize>(HPERTURB + (<usize>h << alignof<usize>()), t);
  store<usize>(HRESERVED + (<usize>h << alignof<usize>()), t + <usize>PERTURB_SIZE * 4);
  return h;
}
/** ip_local_reserved_ports: ephemeral selection skips these (bind() to them still works). */
@inline export function portReserved(h: u32, p: u32): bool {
  return (load<u8>(load<usize>(HRESERVED + (<usize>h << alignof<usize>())) + (<usize>p >> 3)) & (1 << (p & 7))) != 0;
}
export function reservePorts(h: u32, lo: u32, hi: u32): void {
  const t = load<usize>(HRESERVED + (<usize>h << alignof<usize>()));
  for (let p = lo; p <= hi && p < 65536; p++) {
    const q = t + (<usize>p >> 3);
    store<u8>(q, <u8>(<u32>load<u8>(q) | (<u32>1 << (p & 7))));
  }
}
function growHosts(): void {
  const c = hostCap; const n = c * 2;
  HPARAM = col(HPARAM, c, n, HostParam.COUNT * 4); HTW = col(HTW, c, n, 4); HUDP = col(HUDP, c, n, 4);
  HSTATES = col(HSTATES, c, n, STATE_COUNT * 4); HSECRET = col(HSECRET, c, n, 8); HRNG = col(HRNG, c, n, 8);
  HPERTURB = col(HPERTURB, c, n, sizeof<usize>()); HRESERVED = col(HRESERVED, c, n, sizeof<usize>()); HIPS = col(HIPS, c, n, 4);
  HPART = col(HPART, c, n, 1);
  hostCap = n;
}
@inline export function hostRng(h: u32): usize { return HRNG + (<usize>h << 3); }
@inline export function perturbPtr(h: u32, i: u32): usize { return load<usize>(HPERTURB + (<usize>h << alignof<usize>())) + (<usize>i << 2); }

// ---- addresses and their port tables ---------------------------------------
// For every port of every address: how many sockets hold it (bit 15 set when a
// listener is bound there) and how many of those are in TIME_WAIT.
let IPADDR: usize = 0;      // u32 [ip]
let IPHOST: usize = 0;      // u16 [ip]
let IPPARAM: usize = 0;     // u32 [ip][32] its host's HostParam row: a socket's knob without the ip -> host step
let IPNEXT: usize = 0;      // u16 [ip] the host's address added before it + 1, 0 = none
let IPUSED: usize = 0;      // u32 [ip] ports with at least one holder
let IPCURSOR: usize = 0;    // u32 [ip] next ephemeral offset to try
let IPEPOCH: usize = 0;     // u32 [ip] bumped whenever a socket on the address lets go of a port
let IPDEST: usize = 0;      // u32 [ip][4] TCP sockets' destinations: first's (raddr, rport), total, how many elsewhere
let UDPUSE: usize = 0;      // usize [ip] -> u8[8192]: UDP ports are a space of their own (a bit each, 1 = held)
let IPUDPCURSOR: usize = 0; // u32 [ip] next UDP ephemeral offset to try
let PORTUSE: usize = 0;     // usize [ip] -> u16[65536]
let PORTTW: usize = 0;      // usize [ip] -> u16[65536]
export const LISTENER_BIT: u32 = 0x8000;

@inline export function ipAddr(i: u32): u32 { return load<u32>(IPADDR + (<usize>i << 2)); }
@inline export function ipHost(i: u32): u32 { return load<u16>(IPHOST + (<usize>i << 1)); }
/** hostParam(ipHost(i), k), from the address's copy of the row. */
@inline export function ipParam(i: u32, k: i32): u32 { return load<u32>(IPPARAM + ((<usize>i << 5 | <usize>k) << 2)); }
@inline export function ipPortsUsed(i: u32): u32 { return load<u32>(IPUSED + (<usize>i << 2)); }
@inline export function ipCursor(i: u32): u32 { return load<u32>(IPCURSOR + (<usize>i << 2)); }
@inline export function setIpCursor(i: u32, v: u32): void { store<u32>(IPCURSOR + (<usize>i << 2), v); }
/** The address's port tables (u16[65536] each); the SDK reads them for a snapshot. */
@inline export function portUseTable(i: u32): usize { return load<usize>(PORTUSE + (<usize>i << alignof<usize>())); }
@inline export function portTwTable(i: u32): usize { return load<usize>(PORTTW + (<usize>i << alignof<usize>())); }
@inline function portUsePtr(i: u32, p: u32): usize { return portUseTable(i) + (<usize>p << 1); }
@inline function portTwPtr(i: u32, p: u32): usize { return portTwTable(i) + (<usize>p << 1); }
@inline export function portUse(i: u32, p: u32): u32 { return load<u16>(portUsePtr(i, p)); }
/** A bit per TCP port of address i, set while portUse is not 0: connect() scans it 64 ports a word. */
@inline export function heldBits(i: u32): usize { return portUseTable(i) + 65536 * 4 + 8192; }
@inline function flipHeld(i: u32, p: u32): void {
  const q = heldBits(i) + (<usize>p >> 3);
  store<u8>(q, <u8>(<u32>load<u8>(q) ^ (<u32>1 << (p & 7))));
}

export function holdPort(i: u32, p: u32, amount: u32): void {
  const q = portUsePtr(i, p);
  const v = load<u16>(q);
  if (v == 0) { store<u32>(IPUSED + (<usize>i << 2), ipPortsUsed(i) + 1); flipHeld(i, p); }
  store<u16>(q, <u16>(v + amount));
}
/** A TCP socket to (ra, rp) took (d 1) or let go (-1) of a port on address i. */
export function countDest(i: u32, p: u32, ra: u32, rp: u32, d: i32): void {
  const q = IPDEST + (<usize>i << 4);
  // With sockets to more than one destination (or about to be), the per-destination bitmaps.
  if (dbCount != 0 || (load<u32>(q, 8) != 0 && (load<u32>(q) ^ ra | load<u32>(q, 4) ^ rp) != 0)) markDest(i, p, ra, rp, d > 0);
  let total = load<u32>(q, 8);
  if (total == 0) { store<u32>(q, ra); store<u32>(q, rp, 4); }
  total += d;
  store<u32>(q, total, 8);
  if ((load<u32>(q) ^ ra | load<u32>(q, 4) ^ rp) != 0) store<u32>(q, load<u32>(q, 12) + d, 12);
}
// ---- per-destination port bitmaps (pickLinux's shortcut with several destinations) -------
// For an address with sockets to several destinations, a bitmap per (address, destination)
// of the ephemeral range's ports that have a TCP socket to that destination: connect()'s
// search skips them without a 4-tuple lookup each. A set bit always means a socket (take
// sets it, the last let-go clears it), so skipping never changes a result; a missing book
// (past the memory budget, or a port outside the range) only means the slow way.
// Slot: key (ip << 48 | rport << 32 | raddr) + 1 (0 = empty) | the bitmap (bit p - lo), or 0.
const DB_BUDGET: usize = 16 << 20;  // bytes of bitmaps at most (a run meeting more pairs searches the slow way)
let DBKEY: usize = 0; let DBMAP: usize = 0; let dbMask: u32 = 0; let dbCount: u32 = 0; let dbBytes: usize = 0;
@inline function dbKey(i: u32, ra: u32, rp: u32): u64 { return (<u64>i << 48 | <u64>rp << 32 | <u64>ra) + 1; }
function dbSlot(key: u64): u32 {
  let j = mix4(<u32>key, <u32>(key >> 32), 0x62697473, 0x64657374) & dbMask;
  while (true) {
    const k = load<u64>(DBKEY + (<usize>j << 3));
    if (k == 0 || k == key) return j;
    j = (j + 1) & dbMask;
  }
  return 0;
}
/** The bitmap of address i's ports with a socket to (ra, rp) (bit p - the range's first port), or 0: none kept. */
export function destBits(i: u32, ra: u32, rp: u32): usize {
  if (dbCount == 0) return 0;
  const key = dbKey(i, ra, rp);
  const j = dbSlot(key);
  return load<u64>(DBKEY + (<usize>j << 3)) == key ? load<usize>(DBMAP + (<usize>j << alignof<usize>())) : 0;
}
/** A TCP socket to (ra, rp) took (on) or let go of port p on address i: its bit in the destination's bitmap. */
function markDest(i: u32, p: u32, ra: u32, rp: u32, on: bool): void {
  const h = ipHost(i);
  const lo = hostParam(h, HostParam.PortLo); const hi = hostParam(h, HostParam.PortHi);
  if (p < lo || p > hi || i >= 0x10000) return;
  let bits = destBits(i, ra, rp);
  if (bits == 0) {
    const bytes = <usize>((hi - lo + 64) >> 6) << 3;
    if (!on || dbBytes + bytes > DB_BUDGET) return;
    if ((dbCount + 1) * 2 > dbMask + 1) {
      const oldK = DBKEY; const oldM = DBMAP; const size: u32 = dbMask + 1;
      dbMask = size * 2 - 1;
      DBKEY = alloc(<usize>(dbMask + 1) << 3); DBMAP = alloc(<usize>(dbMask + 1) * sizeof<usize>());
      for (let j: u32 = 0; j < size; j++) {
        const k = load<u64>(oldK + (<usize>j << 3));
        if (k == 0) continue;
        const t = dbSlot(k);
        store<u64>(DBKEY + (<usize>t << 3), k); store<usize>(DBMAP + (<usize>t << alignof<usize>()), load<usize>(oldM + (<usize>j << alignof<usize>())));
      }
    }
    const key = dbKey(i, ra, rp);
    const j = dbSlot(key);
    bits = alloc(bytes);
    dbBytes += bytes; dbCount++;
    store<u64>(DBKEY + (<usize>j << 3), key); store<usize>(DBMAP + (<usize>j << alignof<usize>()), bits);
  }
  const q = bits + (<usize>((p - lo) >> 3));
  const b = <u32>1 << ((p - lo) & 7);
  store<u8>(q, <u8>(on ? <u32>load<u8>(q) | b : <u32>load<u8>(q) & ~b));
}

/** Address i's destination book, word k: 0 raddr, 1 rport, 2 sockets, 3 sockets elsewhere (invariants.ts). */
@inline export function ipDest(i: u32, k: u32): u32 { return load<u32>(IPDEST + (<usize>i << 4) + (<usize>k << 2)); }
/** Does every TCP socket on address i (at least one) go to (ra, rp)? Then each held port has a socket to it. */
@inline export function ipOnlyTo(i: u32, ra: u32, rp: u32): bool {
  const q = IPDEST + (<usize>i << 4);
  return load<u32>(q, 8) != 0 && load<u32>(q, 12) == 0 && (load<u32>(q) ^ ra | load<u32>(q, 4) ^ rp) == 0;
}
@inline export function ipEpoch(i: u32): u32 { return load<u32>(IPEPOCH + (<usize>i << 2)); }
export function releasePort(i: u32, p: u32, amount: u32 = 1): void {
  store<u32>(IPEPOCH + (<usize>i << 2), ipEpoch(i) + 1);
  const q = portUsePtr(i, p);
  const v = <u32>load<u16>(q) - amount;
  store<u16>(q, <u16>v);
  if (v == 0) { store<u32>(IPUSED + (<usize>i << 2), ipPortsUsed(i) - 1); flipHeld(i, p); }
}
@inline export function addPortTw(i: u32, p: u32, d: i32): void {
  const q = portTwPtr(i, p);
  store<u16>(q, <u16>(<i32>load<u16>(q) + d));
}

@inline function udpByte(i: u32, p: u32): usize { return load<usize>(UDPUSE + (<usize>i << alignof<usize>())) + (<usize>p >> 3); }
@inline export function udpPortHeld(i: u32, p: u32): bool { return (<u32>load<u8>(udpByte(i, p)) & (<u32>1 << (p & 7))) != 0; }
export function setUdpPort(i: u32, p: u32, held: bool): void {
  const q = udpByte(i, p);
  const bit = <u32>1 << (p & 7);
  store<u8>(q, <u8>(held ? <u32>load<u8>(q) | bit : <u32>load<u8>(q) & ~bit));
}
@inline export function udpCursor(i: u32): u32 { return load<u32>(IPUDPCURSOR + (<usize>i << 2)); }
@inline export function setUdpCursor(i: u32, v: u32): void { store<u32>(IPUDPCURSOR + (<usize>i << 2), v); }

export function addIp(h: u32, addr: u32): u32 {
  if (nIps >= MAX_IPS) abort("engine table full: at most 65535 addresses");
  if (nIps == ipCap) growIps();
  const i = nIps++;
  const t = carve(ipSlab, ADDRESS_TABLES, i);
  store<usize>(UDPUSE + (<usize>i << alignof<usize>()), t + 65536 * 4);
  store<u32>(IPADDR + (<usize>i << 2), addr);
  store<u16>(IPHOST + (<usize>i << 1), <u16>h);
  memory.copy(IPPARAM + (<usize>i << 7), HPARAM + ((<usize>h * HostParam.COUNT) << 2), HostParam.COUNT * 4);
  store<u16>(IPNEXT + (<usize>i << 1), <u16>load<u32>(HIPS + (<usize>h << 2)));
  store<u32>(HIPS + (<usize>h << 2), i + 1);
  store<usize>(PORTUSE + (<usize>i << alignof<usize>()), t);
  store<usize>(PORTTW + (<usize>i << alignof<usize>()), t + 65536 * 2);
  return i;
}

function growIps(): void {
  const c = ipCap; const n = c * 2;
  IPADDR = col(IPADDR, c, n, 4); IPHOST = col(IPHOST, c, n, 2); IPPARAM = col(IPPARAM, c, n, 128); IPNEXT = col(IPNEXT, c, n, 2);
  IPUSED = col(IPUSED, c, n, 4); IPCURSOR = col(IPCURSOR, c, n, 4); IPEPOCH = col(IPEPOCH, c, n, 4);
  IPDEST = col(IPDEST, c, n, 16);
  UDPUSE = col(UDPUSE, c, n, sizeof<usize>()); IPUDPCURSOR = col(IPUDPCURSOR, c, n, 4);
  PORTUSE = col(PORTUSE, c, n, sizeof<usize>()); PORTTW = col(PORTTW, c, n, sizeof<usize>());
  ipCap = n;
}

// ---- listeners ---------------------------------------------------------------
// A listener is bound from the start unless given a start time; a server process that
// stops (at `stop`) and starts again (at `start`) unbinds and binds it again, and its
// bind can fail with EADDRINUSE (tcp.ts listenerBind decides).
let LSIP: usize = 0;        // u32 [listener] ip index
let LSPORT: usize = 0;      // u32
let LSBACKLOG: usize = 0;   // u32
let LSQUEUE: usize = 0;     // u32 half-open children (SYN_RCVD) right now
let LSBOUND: usize = 0;     // u8  1 while bound and listening
let LSREUSE: usize = 0;     // u8  SO_REUSEADDR
let LSUDP: usize = 0;       // u8  1: a UDP socket bound to the port (answers each datagram)
let LSSTART: usize = 0;     // u64 bind() time, us (0: bound from the start)
let LSSTOP: usize = 0;      // u64 the server process exits, us (0: never)
let LSRETRY: usize = 0;     // u32 delay before a failed bind() is tried again, us
// The accept queue (sk_ack_backlog): children that completed the handshake and wait for
// accept(), a ring of conn << 32 | slot, only for a listener whose application accepts at
// a finite rate (an unlimited one accepts each child as it arrives).
let LSACCQ: usize = 0;      // u32 children in the accept queue
let LSAIVL: usize = 0;      // u32 us between accept()s, 0: unlimited
let LSANEXT: usize = 0;     // u64 the earliest time of the next accept()
let LSAPEND: usize = 0;     // u8  1 while an accept event is filed
let LSRING: usize = 0;      // u32 the ring's address
let LSRCAP: usize = 0;      // u32 its entries
let LSRHEAD: usize = 0;     // u32 its oldest entry
let LSCOOKIE: usize = 0;    // u64 when the listener last sent a SYN cookie + 1 (0: never)

export function addListener(ip: u32, port: u32, backlog: u32): u32 {
  if (nListeners == listenerCap) growListeners();
  const l = nListeners++;
  store<u32>(LSIP + (<usize>l << 2), ip);
  store<u32>(LSPORT + (<usize>l << 2), port);
  store<u32>(LSBACKLOG + (<usize>l << 2), backlog);
  store<u32>(LSRETRY + (<usize>l << 2), 1000000);
  bindListener(l);
  lhPlace(l);
  return l;
}
function growListeners(): void {
  const c = listenerCap; const n = c * 2;
  LSIP = col(LSIP, c, n, 4); LSPORT = col(LSPORT, c, n, 4); LSBACKLOG = col(LSBACKLOG, c, n, 4); LSQUEUE = col(LSQUEUE, c, n, 4);
  LSBOUND = col(LSBOUND, c, n, 1); LSREUSE = col(LSREUSE, c, n, 1); LSUDP = col(LSUDP, c, n, 1);
  LSSTART = col(LSSTART, c, n, 8); LSSTOP = col(LSSTOP, c, n, 8); LSRETRY = col(LSRETRY, c, n, 4);
  LSACCQ = col(LSACCQ, c, n, 4); LSAIVL = col(LSAIVL, c, n, 4); LSANEXT = col(LSANEXT, c, n, 8); LSAPEND = col(LSAPEND, c, n, 1);
  LSRING = col(LSRING, c, n, 4); LSRCAP = col(LSRCAP, c, n, 4); LSRHEAD = col(LSRHEAD, c, n, 4); LSCOOKIE = col(LSCOOKIE, c, n, 8);
  listenerCap = n;
  lhSize(n * 2);
  for (let l: u32 = 0; l < nListeners; l++) lhPlace(l);
}

// Listeners by (address, port): open addressing over listener + 1, 0 = empty. A SYN with
// no socket looks here, so a fleet's thousands of listeners are not scanned per connection.
// Entries of one key lie along its probe chain in the order they were added.
let LH: usize = 0;
let lhMask: u32 = 0;
function lhSize(entries: u32): void { LH = alloc(<usize>entries << 2); lhMask = entries - 1; }
@inline function lhHome(addr: u32, port: u32): u32 {
  return <u32>(((<u64>addr << 16 | <u64>port) * 0x9E3779B97F4A7C15) >> 40) & lhMask;
}
function lhPlace(l: u32): void {
  let i = lhHome(ipAddr(listenerIp(l)), listenerPort(l));
  while (load<u32>(LH + (<usize>i << 2)) != 0) i = (i + 1) & lhMask;
  store<u32>(LH + (<usize>i << 2), l + 1);
}
/** When the listener's server process stops and starts; a start time means unbound until then. */
export function setListenerLife(l: u32, start: u64, stop: u64, retry: u32, reuse: bool): void {
  store<u64>(LSSTART + (<usize>l << 3), start);
  store<u64>(LSSTOP + (<usize>l << 3), stop);
  store<u32>(LSRETRY + (<usize>l << 2), max(retry, 1));
  store<u8>(LSREUSE + <usize>l, reuse ? 1 : 0);
  // Not yet listening when it starts before it ever stops; a restart (stop, then start) is bound from the beginning.
  if (start > 0 && (stop == 0 || start < stop) && listenerBound(l)) unbindListener(l);
}
export function bindListener(l: u32): void {
  const ip = listenerIp(l);
  store<u8>(LSBOUND + <usize>l, 1);
  if (listenerUdp(l)) { setUdpPort(ip, listenerPort(l), true); return; }
  holdPort(ip, listenerPort(l), LISTENER_BIT);
  addStateCount(ipHost(ip), State.LISTEN, 1);
}
export function unbindListener(l: u32): void {
  const ip = listenerIp(l);
  store<u8>(LSBOUND + <usize>l, 0);
  store<u32>(LSQUEUE + (<usize>l << 2), 0);
  store<u32>(LSACCQ + (<usize>l << 2), 0); // its children were closed (tcp.ts serverStops)
  if (listenerUdp(l)) { setUdpPort(ip, listenerPort(l), false); return; }
  releasePort(ip, listenerPort(l), LISTENER_BIT);
  addStateCount(ipHost(ip), State.LISTEN, -1);
}
/** Makes a freshly added listener a UDP one (bound in the UDP port space). */
export function setListenerUdp(l: u32): void {
  const bound = listenerBound(l);
  if (bound) unbindListener(l);
  store<u8>(LSUDP + <usize>l, 1);
  if (bound) bindListener(l);
}
@inline export function listenerUdp(l: u32): bool { return load<u8>(LSUDP + <usize>l) != 0; }
/** The bound listener on (address, port) of the protocol, or -1 (the first added, when several). */
export function findListener(addr: u32, port: u32, udp: bool = false): i32 {
  let i = lhHome(addr, port);
  while (true) {
    const v = load<u32>(LH + (<usize>i << 2));
    if (v == 0) return -1;
    const l = v - 1;
    if (listenerPort(l) == port) { if (ipAddr(listenerIp(l)) == addr) { if (listenerBound(l)) { if (listenerUdp(l) == udp) return <i32>l; } } }
    i = (i + 1) & lhMask;
  }
  return -1;
}
@inline export function listenerIp(l: u32): u32 { return load<u32>(LSIP + (<usize>l << 2)); }
@inline export function listenerPort(l: u32): u32 { return load<u32>(LSPORT + (<usize>l << 2)); }
@inline export function listenerBound(l: u32): bool { return load<u8>(LSBOUND + <usize>l) != 0; }
@inline export function listenerReuse(l: u32): bool { return load<u8>(LSREUSE + <usize>l) != 0; }
@inline export function listenerStartAt(l: u32): u64 { return load<u64>(LSSTART + (<usize>l << 3)); }
@inline export function listenerStopAt(l: u32): u64 { return load<u64>(LSSTOP + (<usize>l << 3)); }
@inline export function listenerRetry(l: u32): u32 { return load<u32>(LSRETRY + (<usize>l << 2)); }
@inline export function listenerBacklogUsed(l: u32): u32 { return load<u32>(LSQUEUE + (<usize>l << 2)); }
@inline export function addListenerQueue(l: u32, d: i32): void { store<u32>(LSQUEUE + (<usize>l << 2), load<u32>(LSQUEUE + (<usize>l << 2)) + d); }
@inline export function listenerBacklog(l: u32): u32 { return load<u32>(LSBACKLOG + (<usize>l << 2)); }

/** The application accept()s one child every `interval` us; its queue holds `entries` (Linux: sk_max_ack_backlog + 1). */
export function setListenerAccept(l: u32, interval: u32, entries: u32): void {
  store<u32>(LSAIVL + (<usize>l << 2), interval);
  store<u32>(LSRING + (<usize>l << 2), <u32>alloc(<usize>entries << 3));
  store<u32>(LSRCAP + (<usize>l << 2), entries);
}
@inline export function acceptInterval(l: u32): u32 { return load<u32>(LSAIVL + (<usize>l << 2)); }
@inline export function acceptQueued(l: u32): u32 { return load<u32>(LSACCQ + (<usize>l << 2)); }
@inline export function acceptNext(l: u32): u64 { return load<u64>(LSANEXT + (<usize>l << 3)); }
@inline export function setAcceptNext(l: u32, t: u64): void { store<u64>(LSANEXT + (<usize>l << 3), t); }
@inline export function acceptPending(l: u32): bool { return load<u8>(LSAPEND + <usize>l) != 0; }
@inline export function setAcceptPending(l: u32, v: bool): void { store<u8>(LSAPEND + <usize>l, v ? 1 : 0); }
/** Appends entry v to the accept queue (the caller checked there is room). */
export function acceptPush(l: u32, v: u64): void {
  const n = acceptQueued(l);
  const cap = load<u32>(LSRCAP + (<usize>l << 2));
  const i = (load<u32>(LSRHEAD + (<usize>l << 2)) + n) % cap;
  store<u64>(<usize>load<u32>(LSRING + (<usize>l << 2)) + (<usize>i << 3), v);
  store<u32>(LSACCQ + (<usize>l << 2), n + 1);
}
/** Takes the accept queue's oldest entry (the caller checked it is not empty). */
export function acceptPop(l: u32): u64 {
  const h = load<u32>(LSRHEAD + (<usize>l << 2));
  const v = load<u64>(<usize>load<u32>(LSRING + (<usize>l << 2)) + (<usize>h << 3));
  store<u32>(LSRHEAD + (<usize>l << 2), (h + 1) % load<u32>(LSRCAP + (<usize>l << 2)));
  store<u32>(LSACCQ + (<usize>l << 2), acceptQueued(l) - 1);
  return v;
}
@inline export function cookieSentAt(l: u32): u64 { return load<u64>(LSCOOKIE + (<usize>l << 3)); }
@inline export function setCookieSentAt(l: u32, t: u64): void { store<u64>(LSCOOKIE + (<usize>l << 3), t); }

// ---- link directions -------------------------------------------------------------
// A link is two directions; each has a one-way latency, a loss kernel with its own
// random stream, and optionally a chain of staged rules (drop or duplicate).
let DSRC: usize = 0;        // u16 [dir] sending host
let DDST: usize = 0;        // u16 [dir] receiving host
let DREV: usize = 0;        // u16 [dir] the opposite direction
let DLAT: usize = 0;        // u32 [dir] latency us
let DLOSS: usize = 0;       // u8  [dir] LossKind
let DBAD: usize = 0;        // u8  [dir] Gilbert-Elliott: in the bad state
let DP: usize = 0;          // f64 [dir][4] loss parameters
let DRNG: usize = 0;        // u64 [dir] random stream
let DRULE: usize = 0;       // i32 [dir] first rule or -1
let DTS: usize = 0;         // u8  [dir] 1: both hosts have tcp_timestamps on, so their connections negotiate the option
let DFWD: usize = 0;        // u16 [dir] the NAT (nat/ index + 1) of the host it leads to, 0: an endpoint
// A link's duplicating process (its `duplicate` field): a delivered segment whose flags
// match is copied with probability p, the copy arriving a drawn delay later. Set on a
// direction, it adds DUP_BIT to DLOSS, so the senders' plain path (no loss, no rules)
// goes on testing one byte.
let DDUP: usize = 0;        // f64 [dir][3] p, then the delay's two parameters (us)
let DDUPK: usize = 0;       // u8  [dir][3] the delay's shape (DupDelay), flags mask, flags value
let DDUPRNG: usize = 0;     // u64 [dir] its random stream, apart from the loss model's
export const DUP_BIT: u32 = 0x80;
/**
 * Set (with DUP_BIT's trick) on a direction whose receiver another instance simulates
 * (a run split over workers, sdk/pdes.ts): its segments leave through the outbox.
 */
export const REMOTE_BIT: u32 = 0x40;
/** A duplicate's delay: fixed (a), uniform in [a, b], exponential of mean a capped at b. */
export const DUP_FIXED: u32 = 0;
export const DUP_UNIFORM: u32 = 1;
export const DUP_EXPONENTIAL: u32 = 2;

@inline export function dirSrc(d: u32): u32 { return load<u16>(DSRC + (<usize>d << 1)); }
@inline export function dirDst(d: u32): u32 { return load<u16>(DDST + (<usize>d << 1)); }
@inline export function dirRev(d: u32): u32 { return load<u16>(DREV + (<usize>d << 1)); }
@inline export function dirLatency(d: u32): u32 { return load<u32>(DLAT + (<usize>d << 2)); }
/** The direction's LossKind, with DUP_BIT when it also duplicates (dirLossKind: the kind alone). */
@inline export function dirLoss(d: u32): u32 { return load<u8>(DLOSS + <usize>d); }
@inline export function dirLossKind(d: u32): u32 { return load<u8>(DLOSS + <usize>d) & ~(DUP_BIT | REMOTE_BIT); }
@inline export function dirBad(d: u32): bool { return load<u8>(DBAD + <usize>d) != 0; }
@inline export function setDirBad(d: u32, b: bool): void { store<u8>(DBAD + <usize>d, b ? 1 : 0); }
@inline export function dirP(d: u32, k: u32): f64 { return load<f64>(DP + ((<usize>d * 4 + k) << 3)); }
@inline export function dirRng(d: u32): usize { return DRNG + (<usize>d << 3); }
@inline export function dirFirstRule(d: u32): i32 { return load<i32>(DRULE + (<usize>d << 2)); }
/** Whether connections over direction d use timestamps: each end's SYN offers them only with tcp_timestamps on. */
@inline export function dirTs(d: u32): bool { return load<u8>(DTS + <usize>d) != 0; }
/** The NAT + 1 that a segment over direction d reaches (it forwards), 0 when d leads to an endpoint. */
@inline export function dirForwards(d: u32): u32 { return load<u16>(DFWD + (<usize>d << 1)); }
/** Host h is NAT k: the directions into it (links are added before it) lead to a forwarder. */
export function markForwarding(h: u32, k: u32): void {
  for (let d: u32 = 0; d < nDirs; d++) if (load<u16>(DDST + (<usize>d << 1)) == h) store<u16>(DFWD + (<usize>d << 1), <u16>(k + 1));
}

/** Both directions of a link between hosts a and b; returns the a->b direction. */
export function addLink(a: u32, b: u32, latAB: u32, latBA: u32, stream: u32): u32 {
  if (nDirs + 2 > MAX_DIRS) abort("engine table full: at most 32768 links (65536 directions)");
  if (nDirs == dirCap) growDirs(); // (directions come in pairs, capacities are even)
  const ab = nDirs++; const ba = nDirs++;
  store<u16>(DSRC + (<usize>ab << 1), <u16>a); store<u16>(DDST + (<usize>ab << 1), <u16>b);
  store<u16>(DSRC + (<usize>ba << 1), <u16>b); store<u16>(DDST + (<usize>ba << 1), <u16>a);
  store<u16>(DREV + (<usize>ab << 1), <u16>ba); store<u16>(DREV + (<usize>ba << 1), <u16>ab);
  store<u32>(DLAT + (<usize>ab << 2), latAB); store<u32>(DLAT + (<usize>ba << 2), latBA);
  store<u32>(QHEAD + (<usize>ab << 2), SG_NONE); store<u32>(QHEAD + (<usize>ba << 2), SG_NONE);
  // The link's index in the whole scenario numbers its streams, so a shard draws what a single run would.
  store<u64>(DRNG + (<usize>ab << 3), seedStream(runSeed, 0x20000 + 2 * <u64>stream));
  store<u64>(DRNG + (<usize>ba << 3), seedStream(runSeed, 0x20000 + 2 * <u64>stream + 1));
  store<i32>(DRULE + (<usize>ab << 2), -1); store<i32>(DRULE + (<usize>ba << 2), -1);
  // (The hosts' knobs are set before their links: configure in sdk/engine.ts.)
  const ts: u8 = hostParam(a, HostParam.Timestamps) != 0 && hostParam(b, HostParam.Timestamps) != 0 ? 1 : 0;
  store<u8>(DTS + <usize>ab, ts); store<u8>(DTS + <usize>ba, ts);
  return ab;
}
function growDirs(): void {
  const c = dirCap; const n = c * 2;
  DSRC = col(DSRC, c, n, 2); DDST = col(DDST, c, n, 2); DREV = col(DREV, c, n, 2); DLAT = col(DLAT, c, n, 4);
  DLOSS = col(DLOSS, c, n, 1); DBAD = col(DBAD, c, n, 1); DP = col(DP, c, n, 32); DRNG = col(DRNG, c, n, 8);
  DRULE = col(DRULE, c, n, 4); DTS = col(DTS, c, n, 1); DFWD = col(DFWD, c, n, 2);
  QHEAD = col(QHEAD, c, n, 4); QTAIL = col(QTAIL, c, n, 4);
  if (DDUP != 0) { DDUP = col(DDUP, c, n, 24); DDUPK = col(DDUPK, c, n, 3); DDUPRNG = col(DDUPRNG, c, n, 8); }
  dirCap = n;
}
export function setLoss(d: u32, kind: u32, p0: f64, p1: f64, p2: f64, p3: f64): void {
  store<u8>(DLOSS + <usize>d, <u8>(kind | (<u32>load<u8>(DLOSS + <usize>d) & (DUP_BIT | REMOTE_BIT))));
  store<f64>(DP + ((<usize>d * 4) << 3), p0); store<f64>(DP + ((<usize>d * 4 + 1) << 3), p1);
  store<f64>(DP + ((<usize>d * 4 + 2) << 3), p2); store<f64>(DP + ((<usize>d * 4 + 3) << 3), p3);
  if (kind == LossKind.GilbertElliott) store<u8>(DBAD + <usize>d, 0);
}

/** Direction d copies a matching segment (flags & mask == value) with probability p, `shape`'s delay (a, b us) later; `stream` numbers its random stream. */
export function setDuplicate(d: u32, p: f64, shape: u32, a: f64, b: f64, mask: u32, value: u32, stream: u64): void {
  if (DDUP == 0) { DDUP = alloc(<usize>dirCap * 24); DDUPK = alloc(<usize>dirCap * 3); DDUPRNG = alloc(<usize>dirCap * 8); }
  store<f64>(DDUP + <usize>d * 24, p); store<f64>(DDUP + <usize>d * 24 + 8, a); store<f64>(DDUP + <usize>d * 24 + 16, b);
  store<u8>(DDUPK + <usize>d * 3, <u8>shape); store<u8>(DDUPK + <usize>d * 3 + 1, <u8>mask); store<u8>(DDUPK + <usize>d * 3 + 2, <u8>value);
  store<u64>(DDUPRNG + (<usize>d << 3), seedStream(runSeed, 0xA0000 + stream));
  store<u8>(DLOSS + <usize>d, <u8>(<u32>load<u8>(DLOSS + <usize>d) | DUP_BIT));
}
/** The delay of a copy of a segment with flags `fl` over d, us, or -1 when it is not copied (draws only for a matching segment). */
export function duplicateDelay(d: u32, fl: u32): i64 {
  const k = DDUPK + <usize>d * 3;
  if ((fl & <u32>load<u8>(k, 1)) != <u32>load<u8>(k, 2)) return -1;
  const rng = DDUPRNG + (<usize>d << 3);
  const q = DDUP + <usize>d * 24;
  if (nextUnit(rng) >= load<f64>(q)) return -1;
  const a = load<f64>(q, 8); const b = load<f64>(q, 16);
  const shape = <u32>load<u8>(k);
  if (shape == DUP_UNIFORM) return <i64>(a + nextUnit(rng) * (b - a));
  if (shape == DUP_EXPONENTIAL) return <i64>min(-a * Math.log(1 - nextUnit(rng)), b);
  return <i64>a;
}

// ---- staged rules ---------------------------------------------------------------------
// "The Nth segment on this direction whose flags match, sent from this state, of this
// connection": drop it, or deliver an extra copy later (an old duplicate).
let RNEXT: usize = 0;       // i32 [rule] next rule of the same direction
let RMASK: usize = 0;       // u8 flags mask
let RVALUE: usize = 0;      // u8 flags value after masking
let RSTATE: usize = 0;      // u8 sender state + 1, 0 = any
let RCONN: usize = 0;       // i32 connection id, -1 = any
let RNTH: usize = 0;        // u32 which match fires (1-based), 0 = every match
let RSEEN: usize = 0;       // u32 matches so far
let RACTION: usize = 0;     // u8 RuleAction
let RDELAY: usize = 0;      // u32 extra delay for duplicates, us

export function addRule(d: u32, mask: u32, value: u32, senderState: i32, connId: i32, nth: u32, action: u32, delay: u32): u32 {
  if (nRules == ruleCap) growRules();
  const r = nRules++;
  // Append so rules fire in the order the scenario lists them.
  store<i32>(RNEXT + (<usize>r << 2), -1);
  let last = dirFirstRule(d);
  if (last < 0) store<i32>(DRULE + (<usize>d << 2), <i32>r);
  else {
    while (load<i32>(RNEXT + (<usize>last << 2)) >= 0) last = load<i32>(RNEXT + (<usize>last << 2));
    store<i32>(RNEXT + (<usize>last << 2), <i32>r);
  }
  store<u8>(RMASK + <usize>r, <u8>mask); store<u8>(RVALUE + <usize>r, <u8>value);
  store<u8>(RSTATE + <usize>r, <u8>(senderState + 1));
  store<i32>(RCONN + (<usize>r << 2), connId);
  store<u32>(RNTH + (<usize>r << 2), nth);
  store<u8>(RACTION + <usize>r, <u8>action);
  store<u32>(RDELAY + (<usize>r << 2), delay);
  return r;
}
function growRules(): void {
  const c = ruleCap; const n = c * 2;
  RNEXT = col(RNEXT, c, n, 4); RMASK = col(RMASK, c, n, 1); RVALUE = col(RVALUE, c, n, 1); RSTATE = col(RSTATE, c, n, 1);
  RCONN = col(RCONN, c, n, 4); RNTH = col(RNTH, c, n, 4); RSEEN = col(RSEEN, c, n, 4); RACTION = col(RACTION, c, n, 1);
  RDELAY = col(RDELAY, c, n, 4);
  ruleCap = n;
}
@inline export function ruleNext(r: i32): i32 { return load<i32>(RNEXT + (<usize>r << 2)); }
@inline export function ruleAction(r: i32): u32 { return load<u8>(RACTION + <usize>r); }
@inline export function ruleDelay(r: i32): u32 { return load<u32>(RDELAY + (<usize>r << 2)); }
/** Whether the rule fires for this segment; counts the match. */
export function ruleFires(r: i32, fl: u32, senderState: u32, connId: u32): bool {
  if ((fl & load<u8>(RMASK + <usize>r)) != load<u8>(RVALUE + <usize>r)) return false;
  const st = load<u8>(RSTATE + <usize>r);
  if (st != 0 && <u32>st - 1 != senderState) return false;
  const c = load<i32>(RCONN + (<usize>r << 2));
  if (c >= 0 && <u32>c != connId) return false;
  const seen = load<u32>(RSEEN + (<usize>r << 2)) + 1;
  store<u32>(RSEEN + (<usize>r << 2), seen);
  const nth = load<u32>(RNTH + (<usize>r << 2));
  return nth == 0 || nth == seen;
}

// ---- segments in flight ----------------------------------------------------------------
// A segment is a small record (payload bytes are counted, never stored), read whole on
// arrival, so it is laid out as one 64-byte record rather than in columns:
//
//   0 src u32 | 4 dst u32 | 8 sport u16 | 10 dport u16 | 12 seq u32 | 16 ack u32 (free-list link)
//   20 len u16 | 22 flags u8 | 23 fate u8 | 24 dir u16 | 26 wl u16 | 28 conn u32
//   32 next u32 (its direction's queue) | 36 tsval u32 | 40 at u64 (arrival, us) | 48 order u64 (filing number, wheel.ts)
//   56 tsecr u32 | 60 opts u8 (1: the timestamps option, RFC 7323: tsval and tsecr hold it)
//
// fate: 0 deliver, 1 a hook has not decided yet, 2 a hook dropped it (freed on arrival).
//
// Links have fixed latency and no queueing, so a direction's segments arrive in the
// order they were sent: they wait in one FIFO queue per direction (head and tail,
// linked through `next`), a lane of lanes.ts, which merges the queues' first segments
// with the engine's other lanes. (A delayed duplicate copy, which keeps no such order,
// still goes through the wheel.)
const SG_SIZE: usize = 64;
const SG_NONE: u32 = 0xFFFFFFFF;
let sgCap: u32 = 0; let sgTop: u32 = 0; let sgFree: u32 = SG_NONE;
let SG: usize = 0;

@inline function sg(g: u32): usize { return SG + (<usize>g << 6); }
@inline export function sgSrc(g: u32): u32 { return load<u32>(sg(g), 0); }
@inline export function sgDst(g: u32): u32 { return load<u32>(sg(g), 4); }
@inline export function sgSport(g: u32): u32 { return load<u16>(sg(g), 8); }
@inline export function sgDport(g: u32): u32 { return load<u16>(sg(g), 10); }
@inline export function sgSeq(g: u32): u32 { return load<u32>(sg(g), 12); }
@inline export function sgAck(g: u32): u32 { return load<u32>(sg(g), 16); }
@inline export function sgLen(g: u32): u32 { return load<u16>(sg(g), 20); }
@inline export function sgFlags(g: u32): u32 { return load<u8>(sg(g), 22); }
@inline export function sgDir(g: u32): u32 { return load<u16>(sg(g), 24); }
@inline export function sgWl(g: u32): u32 { return load<u16>(sg(g), 26); }
@inline export function sgConn(g: u32): u32 { return load<u32>(sg(g), 28); }
@inline export function sgFate(g: u32): u32 { return load<u8>(sg(g), 23); }
@inline export function setSgFate(g: u32, v: u32): void { store<u8>(sg(g), <u8>v, 23); }
@inline export function sgOpts(g: u32): u32 { return load<u8>(sg(g), 60); }
@inline export function sgTsval(g: u32): u32 { return load<u32>(sg(g), 36); }
@inline export function sgTsecr(g: u32): u32 { return load<u32>(sg(g), 56); }
/** Writes record g's options: `opts` 1 with the timestamps option (tsval, tsecr), 0 without (the values then unread). */
@inline export function setSgOpts(g: u32, opts: u32, tsval: u32, tsecr: u32): void {
  const p = sg(g);
  store<u8>(p, <u8>opts, 60); store<u32>(p, tsval, 36); store<u32>(p, tsecr, 56);
}

/** Fills record g (fate 0: deliver). */
@inline function writeSegment(g: u32, d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32, w: u32, c: u32): void {
  const p = sg(g);
  store<u32>(p, sa, 0); store<u32>(p, da, 4); store<u16>(p, <u16>sp, 8); store<u16>(p, <u16>dp, 10);
  store<u32>(p, seq, 12); store<u32>(p, ack, 16); store<u16>(p, <u16>len, 20); store<u8>(p, <u8>fl, 22); store<u8>(p, 0, 23);
  store<u16>(p, <u16>d, 24); store<u16>(p, <u16>w, 26); store<u32>(p, c, 28);
}
export function newSegment(d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32, w: u32, c: u32): u32 {
  return newSegmentInline(d, sa, sp, da, dp, fl, seq, ack, len, w, c);
}
/** newSegment, inlined where the segment path sends (no call of eleven arguments). */
@inline export function newSegmentInline(d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32, w: u32, c: u32): u32 {
  let g: u32;
  if (sgFree != SG_NONE) { g = sgFree; sgFree = sgAck(g); }
  else {
    if (sgTop >= sgCap) { SG = regrow(SG, <usize>sgCap * SG_SIZE, <usize>sgCap * 2 * SG_SIZE); sgCap <<= 1; }
    g = sgTop++;
  }
  writeSegment(g, d, sa, sp, da, dp, fl, seq, ack, len, w, c);
  return g;
}
/** Whether the free list has a record (takeFreeSegment). */
@inline export function segmentFree(): bool { return sgFree != SG_NONE; }
/** newSegmentInline when segmentFree(): no call to grow the pool, so callers keep their values in registers. */
@inline export function takeFreeSegment(d: u32, sa: u32, sp: u32, da: u32, dp: u32, fl: u32, seq: u32, ack: u32, len: u32, w: u32, c: u32): u32 {
  const g = sgFree; sgFree = sgAck(g);
  writeSegment(g, d, sa, sp, da, dp, fl, seq, ack, len, w, c);
  return g;
}
/** Returns a delivered segment's record to the pool (its ack field links the free list). */
@inline export function freeSegment(g: u32): void {
  store<u32>(sg(g), sgFree, 16);
  sgFree = g;
}

let QHEAD: usize = 0;       // u32 [dir] first segment in flight, SG_NONE when none
let QTAIL: usize = 0;       // u32 [dir] last segment in flight

/** Puts segment g in flight on direction d, to arrive at `at` (now + its latency), filed as number `order`. */
export function putInFlight(g: u32, d: u32, at: u64, order: u64): void {
  if (dirLoss(d) & REMOTE_BIT) { post(g, at, order, 0); return; }
  putInFlightInline(g, d, at, order);
}
/** putInFlight, inlined where a socket sends on a plain direction (tcp.ts sendFrom). */
@inline export function putInFlightInline(g: u32, d: u32, at: u64, order: u64): void {
  const p = sg(g);
  store<u32>(p, SG_NONE, 32); store<u64>(p, at, 40); store<u64>(p, order, 48);
  const q = QHEAD + (<usize>d << 2);
  const t = QTAIL + (<usize>d << 2);
  if (load<u32>(q) != SG_NONE) {
    if (DEBUG) assert(load<u64>(sg(load<u32>(t)), 40) <= at, "a direction delivers in order");
    store<u32>(sg(load<u32>(t)), g, 32);
    store<u32>(t, g);
    return;
  }
  store<u32>(q, g); store<u32>(t, g);
  laneEnter(d, at, order); // its first segment
}

/** Takes the first lane's first segment (the lane is a direction's queue); the queue's next segment takes its place. */
export function takeSegment(): u32 {
  const lane = firstLane();
  const q = QHEAD + (<usize>lane << 2);
  const g = load<u32>(q);
  const n = load<u32>(sg(g), 32);
  store<u32>(q, n);
  if (n != SG_NONE) {
    const pn = sg(n);
    laneNext(lane, load<u64>(pn, 40), load<u64>(pn, 48));
  } else {
    laneLeave();
  }
  return g;
}

/** Segments in flight, for the invariant checks: the first of lane l and the next of a segment (SG_NONE ends). */
export function flightHead(l: u32): u32 { return load<u32>(QHEAD + (<usize>l << 2)); }
export function flightNext(g: u32): u32 { return load<u32>(sg(g), 32); }
export function flightArrival(g: u32): u64 { return load<u64>(sg(g), 40); }
export function flightOrder(g: u32): u64 { return load<u64>(sg(g), 48); }
export const FLIGHT_END: u32 = SG_NONE;

export function netReset(seed: u64, segmentCapacity: u32): void {
  if (HostParam.COUNT > 32) ERROR("an address's copy of its host's knobs (IPPARAM) holds 32");
  if (MAX_DIRS > FLIGHT_LANES) ERROR("each direction has a lane of its own (lanes.ts)");
  runSeed = seed;
  nHosts = 0; nIps = 0; nDirs = 0; nListeners = 0; nRules = 0;
  hostSlab[1] = 0; ipSlab[1] = 0;
  const c = FIRST_CAP;
  hostCap = c; ipCap = c; listenerCap = c; dirCap = c; ruleCap = c;
  HPARAM = alloc(<usize>c * HostParam.COUNT * 4);
  HTW = alloc(<usize>c * 4);
  HUDP = alloc(<usize>c * 4);
  HSTATES = alloc(<usize>c * STATE_COUNT * 4);
  HSECRET = alloc(<usize>c * 8);
  HRNG = alloc(<usize>c * 8);
  HPERTURB = alloc(<usize>c * sizeof<usize>());
  HRESERVED = alloc(<usize>c * sizeof<usize>());
  HIPS = alloc(<usize>c * 4); IPNEXT = alloc(<usize>c * 2);
  IPADDR = alloc(<usize>c * 4); IPHOST = alloc(<usize>c * 2); IPPARAM = alloc(<usize>c * 128);
  IPUSED = alloc(<usize>c * 4); IPCURSOR = alloc(<usize>c * 4);
  IPEPOCH = alloc(<usize>c * 4); IPDEST = alloc(<usize>c * 16);
  dbMask = 255; dbCount = 0; dbBytes = 0; DBKEY = alloc(256 * 8); DBMAP = alloc(256 * sizeof<usize>());
  UDPUSE = alloc(<usize>c * sizeof<usize>()); IPUDPCURSOR = alloc(<usize>c * 4);
  PORTUSE = alloc(<usize>c * sizeof<usize>()); PORTTW = alloc(<usize>c * sizeof<usize>());
  LSIP = alloc(<usize>c * 4); LSPORT = alloc(<usize>c * 4);
  LSBACKLOG = alloc(<usize>c * 4); LSQUEUE = alloc(<usize>c * 4);
  LSBOUND = alloc(<usize>c); LSREUSE = alloc(<usize>c); LSUDP = alloc(<usize>c);
  LSSTART = alloc(<usize>c * 8); LSSTOP = alloc(<usize>c * 8);
  LSRETRY = alloc(<usize>c * 4);
  LSACCQ = alloc(<usize>c * 4); LSAIVL = alloc(<usize>c * 4); LSANEXT = alloc(<usize>c * 8); LSAPEND = alloc(<usize>c);
  LSRING = alloc(<usize>c * 4); LSRCAP = alloc(<usize>c * 4); LSRHEAD = alloc(<usize>c * 4); LSCOOKIE = alloc(<usize>c * 8);
  lhSize(c * 2);
  DSRC = alloc(<usize>c * 2); DDST = alloc(<usize>c * 2); DREV = alloc(<usize>c * 2);
  DLAT = alloc(<usize>c * 4); DLOSS = alloc(<usize>c); DBAD = alloc(<usize>c);
  DP = alloc(<usize>c * 32); DRNG = alloc(<usize>c * 8); DRULE = alloc(<usize>c * 4);
  RNEXT = alloc(<usize>c * 4); RMASK = alloc(<usize>c); RVALUE = alloc(<usize>c);
  RSTATE = alloc(<usize>c); RCONN = alloc(<usize>c * 4); RNTH = alloc(<usize>c * 4);
  RSEEN = alloc(<usize>c * 4); RACTION = alloc(<usize>c); RDELAY = alloc(<usize>c * 4);
  sgCap = segmentCapacity; sgTop = 0; sgFree = SG_NONE;
  SG = alloc(<usize>sgCap * SG_SIZE);
  DTS = alloc(<usize>c); DFWD = alloc(<usize>c * 2);
  DDUP = 0; DDUPK = 0; DDUPRNG = 0;
  QHEAD = alloc(<usize>c * 4); QTAIL = alloc(<usize>c * 4);
  HPART = alloc(<usize>c); OUTS = 0;
}

// ---- a run split over workers (sdk/pdes.ts) ---------------------------------------------
// Every instance is configured with the whole scenario, so hosts, directions and
// workloads have the same indexes everywhere, and a segment crosses as its record. An
// instance simulates only its own hosts: the others are remote (their workloads and
// listeners never start here), and a segment for a remote host, sent over a direction
// marked REMOTE_BIT, is posted to its part's outbox with its arrival time and filing number.
// The SDK hands each posted record to the instance that simulates its receiver
// (receive), between windows no longer than the smallest latency of a crossing link.

// One outbox per part a segment can go to (the SDK copies each whole): address, capacity, count.
export const MAX_PARTS: u32 = 64;
let OUTS: usize = 0;
/** Host h is simulated by another instance, part `part`: the directions into it post their segments there. */
export function setRemote(h: u32, part: u32): void {
  if (OUTS == 0) OUTS = alloc(<usize>MAX_PARTS * 12);
  store<u8>(HPART + <usize>h, <u8>(part + 1));
  for (let d: u32 = 0; d < nDirs; d++) {
    if (dirDst(d) == h) store<u8>(DLOSS + <usize>d, <u8>(<u32>load<u8>(DLOSS + <usize>d) | REMOTE_BIT));
  }
}
@inline export function hostRemote(h: u32): bool { return load<u8>(HPART + <usize>h) != 0; }
/** Whether direction d leads to a host another instance simulates. */
@inline export function dirRemote(d: u32): bool { return (<u32>load<u8>(DLOSS + <usize>d) & REMOTE_BIT) != 0; }

/** Posts segment g (arriving at `at`, numbered `order`; `copy` 1: a delayed duplicate, for the wheel) to its receiver's part's outbox, and frees its record. */
export function post(g: u32, at: u64, order: u64, copy: u32): void {
  const o = OUTS + <usize>(load<u8>(HPART + <usize>dirDst(sgDir(g))) - 1) * 12;
  let box = <usize>load<u32>(o); const cap = load<u32>(o, 4); const n = load<u32>(o, 8);
  if (n == cap) { const c = max(cap * 2, 256); box = regrow(box, <usize>cap * SG_SIZE, <usize>c * SG_SIZE); store<u32>(o, <u32>box); store<u32>(o, c, 4); }
  const p = sg(g);
  store<u64>(p, at, 40); store<u64>(p, order, 48); store<u32>(p, copy, 32);
  memory.copy(box + <usize>n * SG_SIZE, p, SG_SIZE);
  store<u32>(o, n + 1, 8);
  if (at < outEarliest) outEarliest = at;
  freeSegment(g);
}
let outEarliest: u64 = u64.MAX_VALUE;
/** The earliest arrival posted since the outboxes were last cleared (u64.MAX_VALUE: none). */
export function outboxEarliest(): u64 { return outEarliest; }
/** Part p's outbox: its records and their count; outboxClear empties them all. */
export function outboxPtr(p: u32): usize { return OUTS == 0 ? 0 : <usize>load<u32>(OUTS + <usize>p * 12); }
export function outboxCount(p: u32): u32 { return OUTS == 0 ? 0 : load<u32>(OUTS + <usize>p * 12, 8); }
export function outboxClear(): void {
  if (OUTS != 0) for (let p: u32 = 0; p < MAX_PARTS; p++) store<u32>(OUTS + <usize>p * 12, 0, 8);
  outEarliest = u64.MAX_VALUE;
}
export const SEGMENT_RECORD_BYTES: u32 = <u32>SG_SIZE;
/** A posted record, copied in at p: a segment in flight on its direction again, or (copy) a new record for the caller to file in the wheel. */
export function receive(p: usize): u32 {
  const g = newSegment(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  const q = sg(g);
  memory.copy(q, p, SG_SIZE);
  if (load<u32>(q, 32) != 0) return g;
  putInFlightInline(g, sgDir(g), load<u64>(q, 40), load<u64>(q, 48));
  return SG_NONE;
}
/** A received copy's arrival time and filing number. */
export function sgAt(g: u32): u64 { return load<u64>(sg(g), 40); }
export function sgOrder(g: u32): u64 { return load<u64>(sg(g), 48); }

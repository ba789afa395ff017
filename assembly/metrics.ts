// What the engine reports: counters, a sample row per `sample` interval, and trace
// records for the connections chosen for tracing. Rows and records are appended to
// buffers in linear memory that the SDK reads and drains after every run slice.
//
//   sample row (u32 words): index | states[host][11] | portsInUse[host] | udpSockets[host] | synQueue[host] | acceptQueue[host] | failures[5]
//   | with NATs: per NAT, entries per CtState[13] and NatStat counters[6]; per public address, entries and ports in use
//   trace record: see TraceField in abi.ts (40 bytes)

import { alloc, regrow } from "./mem";
import { now } from "./wheel";
import { ERRNO_COUNT, Stat, STATE_COUNT, TraceField } from "./abi";
import { acceptQueued, hostUdp, ipHost, ipPortsUsed, listenerBacklogUsed, listenerIp, nHosts, nIps, nListeners, stateCount } from "./net";

let STATS: usize = 0;          // f64 [Stat]
let FAILS: usize = 0;          // u32 [errno] failures in the current interval
export let traceFirst: u32 = 0;

let SAMPLES: usize = 0; let sampleBytes: usize = 0; let sampleCap: usize = 0; let sampleRows: u32 = 0;
let TRACE: usize = 0; let traceBytes: usize = 0; let traceCap: usize = 0;
// A run split over workers merges its parts' trace records in the order a single run
// writes them: by the time and filing number of the event being handled (index.ts
// sets them), kept for each record in a column of their own when asked for.
let TRACEKEYS: usize = 0;
/** Trace records keep their keys (a split run): only then does the run loop say which event is being handled. */
export let keyed = false;
let handledOrder: u64 = 0;
/** The filing number of the event being handled (its time is `now`). */
@inline export function handling(order: u64): void { handledOrder = order; }
export function keyTrace(): void { keyed = true; TRACEKEYS = alloc(<usize>(traceCap / TraceField.SIZE + 1) << 4); }

export function metricsReset(): void {
  STATS = alloc(Stat.COUNT * 8);
  FAILS = alloc(ERRNO_COUNT * 4);
  sampleCap = 1 << 16; SAMPLES = alloc(sampleCap); sampleBytes = 0; sampleRows = 0;
  traceCap = 1 << 16; TRACE = alloc(traceCap); traceBytes = 0;
  traceFirst = 0;
  extraWords = 0;
  keyed = false; TRACEKEYS = 0;
}
export function setTraceFirst(n: u32): void { traceFirst = n; }

@inline export function bump(k: i32): void { store<f64>(STATS + (<usize>k << 3), load<f64>(STATS + (<usize>k << 3)) + 1.0); }
@inline export function stat(k: i32): f64 { return load<f64>(STATS + (<usize>k << 3)); }
@inline export function setStat(k: i32, v: f64): void { store<f64>(STATS + (<usize>k << 3), v); }

/** Counts a failure of errno index e (0 EADDRNOTAVAIL .. 4 EADDRINUSE). */
export function countFailure(e: i32): void {
  bump(Stat.EADDRNOTAVAIL + e);
  const p = FAILS + (<usize>e << 2);
  store<u32>(p, load<u32>(p) + 1);
}

export function rowWords(): u32 { return 1 + nHosts * STATE_COUNT + nHosts * 4 + ERRNO_COUNT + extraWords; }

/** Columns after the failures, written by another module (nat/: its NATs' books), and their writer. */
let extraWords: u32 = 0;
let writeExtra: (p: usize) => void = (p: usize): void => {};
export function setExtraColumns(words: u32, writer: (p: usize) => void): void { extraWords = words; writeExtra = writer; }

export function takeSample(index: u32): void {
  const bytes = <usize>rowWords() << 2;
  if (sampleBytes + bytes > sampleCap) {
    const cap = max(sampleCap << 1, sampleBytes + bytes);
    SAMPLES = regrow(SAMPLES, sampleBytes, cap); sampleCap = cap;
  }
  let p = SAMPLES + sampleBytes;
  store<u32>(p, index); p += 4;
  for (let h: u32 = 0; h < nHosts; h++) {
    for (let s: u32 = 0; s < <u32>STATE_COUNT; s++) { store<u32>(p, stateCount(h, s)); p += 4; }
  }
  const ports = p;
  memory.fill(ports, 0, <usize>nHosts << 2);
  for (let i: u32 = 0; i < nIps; i++) {
    const q = ports + (<usize>ipHost(i) << 2);
    store<u32>(q, load<u32>(q) + ipPortsUsed(i));
  }
  p += <usize>nHosts << 2;
  for (let h: u32 = 0; h < nHosts; h++) { store<u32>(p, hostUdp(h)); p += 4; }
  // The listeners' SYN queues (half-open children) and accept queues, summed per host.
  memory.fill(p, 0, <usize>nHosts << 3);
  for (let l: u32 = 0; l < nListeners; l++) {
    const q = p + (<usize>ipHost(listenerIp(l)) << 2);
    store<u32>(q, load<u32>(q) + listenerBacklogUsed(l));
    const a = q + (<usize>nHosts << 2);
    store<u32>(a, load<u32>(a) + acceptQueued(l));
  }
  p += <usize>nHosts << 3;
  memory.copy(p, FAILS, ERRNO_COUNT * 4);
  memory.fill(FAILS, 0, ERRNO_COUNT * 4);
  if (extraWords != 0) writeExtra(p + ERRNO_COUNT * 4);
  sampleBytes += bytes;
  sampleRows++;
}
export function samplesPtr(): usize { return SAMPLES; }
export function samplesRows(): u32 { return sampleRows; }
export function drainSamples(): void { sampleBytes = 0; sampleRows = 0; }

@inline export function traced(conn: u32): bool { return conn < traceFirst; }

function traceRecord(t: u64, conn: u32, kind: u32, a: u32, b: u32, where: u32, seq: u32, ack: u32, len: u32, opts: u32, tsval: u32, tsecr: u32): void {
  if (traceBytes + TraceField.SIZE > traceCap) {
    const cap = traceCap << 1;
    TRACE = regrow(TRACE, traceBytes, cap);
    if (keyed) TRACEKEYS = regrow(TRACEKEYS, <usize>(traceBytes / TraceField.SIZE) << 4, <usize>(cap / TraceField.SIZE + 1) << 4);
    traceCap = cap;
  }
  if (keyed) {
    const k = TRACEKEYS + (<usize>(traceBytes / TraceField.SIZE) << 4);
    store<u64>(k, now); store<u64>(k, handledOrder, 8);
  }
  const p = TRACE + traceBytes;
  store<u64>(p + TraceField.Time, t);
  store<u32>(p + TraceField.Conn, conn);
  store<u8>(p + TraceField.Kind, <u8>kind);
  store<u8>(p + TraceField.A, <u8>a);
  store<u8>(p + TraceField.B, <u8>b);
  store<u16>(p + TraceField.Where, <u16>where);
  store<u32>(p + TraceField.Seq, seq);
  store<u32>(p + TraceField.Ack, ack);
  store<u32>(p + TraceField.Len, len);
  store<u8>(p + TraceField.Opts, <u8>opts);
  store<u32>(p + TraceField.TsVal, tsval);
  store<u32>(p + TraceField.TsEcr, tsecr);
  traceBytes += TraceField.SIZE;
}
export function traceState(t: u64, conn: u32, host: u32, from: u32, to: u32): void {
  traceRecord(t, conn, 0, from, to, host, 0, 0, 0, 0, 0, 0);
}
/** A segment: `opts` 1 when it carries the timestamps option (tsval, tsecr). */
export function traceSegment(t: u64, conn: u32, dir: u32, flags: u32, dropped: bool, seq: u32, ack: u32, len: u32, opts: u32, tsval: u32, tsecr: u32): void {
  traceRecord(t, conn, 1, flags, dropped ? 1 : 0, dir, seq, ack, len, opts, opts != 0 ? tsval : 0, opts != 0 ? tsecr : 0);
}
/** A NAT gave traced connection `conn` its public tuple: (inside address, port) -> (public address, port), at NAT host `host`. */
export function traceNat(t: u64, conn: u32, host: u32, ia: u32, ip: u32, pa: u32, pp: u32): void {
  traceRecord(t, conn, 3, 0, 0, host, ia, ip << 16 | pp, pa, 0, 0, 0);
}
/** Names a traced connection's endpoints: addresses and ports of the client. */
export function traceOpen(t: u64, conn: u32, host: u32, la: u32, lp: u32, ra: u32, rp: u32): void {
  traceRecord(t, conn, 2, 0, 0, host, la, lp << 16 | rp, ra, 0, 0, 0);
}
export function tracePtr(): usize { return TRACE; }
/** u64 [record][2]: the time and filing number of the event that wrote each record (keyTrace). */
export function traceKeysPtr(): usize { return TRACEKEYS; }
export function traceCount(): u32 { return <u32>(traceBytes / TraceField.SIZE); }
export function drainTrace(): void { traceBytes = 0; }

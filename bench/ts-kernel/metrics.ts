// assembly/metrics.ts in TypeScript: counters (f64), sample rows (u32 words:
// index | states[host][11] | portsInUse[host] | udpSockets[host] | synQueue[host] | acceptQueue[host] | failures[5]) and 40-byte trace
// records laid out as TraceField says, in growable buffers drained by the caller.
// The buffers have the engine's byte layout, so the check compares them bytewise.

import { ERRNO_COUNT, Stat, STATE_COUNT, TraceField } from "../../assembly/abi.js";
import { acceptQueued, ipHost, ipPortsUsed, listenerBacklogUsed, listenerIp, nHosts, nIps, nListeners, stateCount } from "./net.js";

let STATS = new Float64Array(Stat.COUNT);
let FAILS = new Uint32Array(ERRNO_COUNT);
export let traceFirst = 0;

let SAMPLES = new Uint32Array(0); let sampleBytes = 0; let sampleCap = 0; let sampleRows = 0;
let TRACE = new ArrayBuffer(0); let T8 = new Uint8Array(0); let T16 = new Uint16Array(0); let T32 = new Uint32Array(0);
let traceBytes = 0; let traceCap = 0;

export function metricsReset(): void {
  STATS = new Float64Array(Stat.COUNT);
  FAILS = new Uint32Array(ERRNO_COUNT);
  sampleCap = 1 << 16; SAMPLES = new Uint32Array(sampleCap >> 2); sampleBytes = 0; sampleRows = 0;
  traceCap = 1 << 16; setTrace(new ArrayBuffer(traceCap)); traceBytes = 0;
  traceFirst = 0;
}
function setTrace(b: ArrayBuffer): void {
  TRACE = b; T8 = new Uint8Array(b); T16 = new Uint16Array(b); T32 = new Uint32Array(b);
}
export function setTraceFirst(n: number): void { traceFirst = n; }

export function bump(k: number): void { STATS[k] += 1.0; }
export function stat(k: number): number { return STATS[k]; }
export function setStat(k: number, v: number): void { STATS[k] = v; }

export function countFailure(e: number): void {
  bump(Stat.EADDRNOTAVAIL + e);
  FAILS[e] += 1;
}

export function rowWords(): number { return 1 + nHosts * STATE_COUNT + nHosts * 4 + ERRNO_COUNT; }

export function takeSample(index: number): void {
  const bytes = rowWords() << 2;
  if (sampleBytes + bytes > sampleCap) {
    const cap = Math.max(sampleCap * 2, sampleBytes + bytes);
    const n = new Uint32Array(cap >> 2);
    n.set(SAMPLES.subarray(0, sampleBytes >> 2));
    SAMPLES = n; sampleCap = cap;
  }
  let p = sampleBytes >> 2;
  SAMPLES[p++] = index;
  for (let h = 0; h < nHosts; h++) {
    for (let s = 0; s < STATE_COUNT; s++) SAMPLES[p++] = stateCount(h, s);
  }
  const ports = p;
  SAMPLES.fill(0, ports, ports + nHosts);
  for (let i = 0; i < nIps; i++) SAMPLES[ports + ipHost(i)] += ipPortsUsed(i);
  p += nHosts;
  SAMPLES.fill(0, p, p + nHosts); // UDP sockets per host: UDP is not ported (udp-request is not benchmarked)
  p += nHosts;
  SAMPLES.fill(0, p, p + 2 * nHosts);
  for (let l = 0; l < nListeners; l++) {
    SAMPLES[p + ipHost(listenerIp(l))] += listenerBacklogUsed(l);
    SAMPLES[p + nHosts + ipHost(listenerIp(l))] += acceptQueued(l);
  }
  p += 2 * nHosts;
  SAMPLES.set(FAILS, p);
  FAILS.fill(0);
  sampleBytes += bytes;
  sampleRows++;
}
/** The rows written since the last drain (a view; copy before draining). */
export function samplesView(): Uint32Array { return SAMPLES.subarray(0, sampleBytes >> 2); }
export function samplesRows(): number { return sampleRows; }
export function drainSamples(): void { sampleBytes = 0; sampleRows = 0; }
export function metricsBytes(): number { return STATS.byteLength + FAILS.byteLength + SAMPLES.byteLength + TRACE.byteLength; }

export function traced(c: number): boolean { return c < traceFirst; }

function traceRecord(t: number, c: number, kind: number, a: number, b: number, where: number, seq: number, ack: number, len: number,
                     opts: number, tsval: number, tsecr: number): void {
  if (traceBytes + TraceField.SIZE > traceCap) {
    const cap = traceCap * 2;
    const old = T8;
    setTrace(new ArrayBuffer(cap));
    T8.set(old.subarray(0, traceBytes));
    traceCap = cap;
  }
  const p = traceBytes;
  T32[(p + TraceField.Time) >> 2] = t % 4294967296;
  T32[(p + TraceField.Time + 4) >> 2] = Math.floor(t / 4294967296);
  T32[(p + TraceField.Conn) >> 2] = c;
  T8[p + TraceField.Kind] = kind;
  T8[p + TraceField.A] = a;
  T8[p + TraceField.B] = b;
  T16[(p + TraceField.Where) >> 1] = where;
  T32[(p + TraceField.Seq) >> 2] = seq;
  T32[(p + TraceField.Ack) >> 2] = ack;
  T32[(p + TraceField.Len) >> 2] = len;
  T8[p + TraceField.Opts] = opts;
  T32[(p + TraceField.TsVal) >> 2] = tsval;
  T32[(p + TraceField.TsEcr) >> 2] = tsecr;
  traceBytes += TraceField.SIZE;
}
export function traceState(t: number, c: number, host: number, from: number, to: number): void {
  traceRecord(t, c, 0, from, to, host, 0, 0, 0, 0, 0, 0);
}
export function traceSegment(t: number, c: number, dir: number, fl: number, dropped: boolean, seq: number, ack: number, len: number,
                             opts: number, tsval: number, tsecr: number): void {
  traceRecord(t, c, 1, fl, dropped ? 1 : 0, dir, seq, ack, len, opts, opts !== 0 ? tsval : 0, opts !== 0 ? tsecr : 0);
}
export function traceOpen(t: number, c: number, host: number, la: number, lp: number, ra: number, rp: number): void {
  traceRecord(t, c, 2, 0, 0, host, la, (lp << 16 | rp) >>> 0, ra, 0, 0, 0);
}
/** The records written since the last drain (a view; copy before draining). */
export function traceView(): Uint8Array { return T8.subarray(0, traceBytes); }
export function traceCount(): number { return traceBytes / TraceField.SIZE; }
export function drainTrace(): void { traceBytes = 0; }

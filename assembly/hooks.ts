// Decisions deferred to a TypeScript plugin hook, in batches (DESIGN "The JS/WASM
// boundary"): a segment sent on a direction whose loss model is a hook goes on the
// link at once with its fate undecided, and a record of it is appended here. Before
// the clock passes the end of the epoch-long window (on a grid from 0) that the first
// record falls in (the epoch is never more than the smallest latency of a hooked
// direction, so no undecided segment can arrive yet), run() returns
// RunStatus.HookBatch; the SDK calls each hook once for its records, writes a verdict
// per record (1 = drop) and calls applyVerdicts(). One crossing per epoch, none per
// segment.
//
//   record: see HookField in abi.ts (32 bytes); verdicts: u8 per record
//
// Workloads whose arrivals a hook chooses work in windows of `workloadEpoch` us:
// before the clock reaches a window's start, run() returns RunStatus.WorkloadBatch and
// the SDK files that window's arrivals (apps.ts addArrivals), one call per hooked
// workload per window. Windows are fixed in simulated time, so the result does not
// depend on how the run is sliced.

import { HookField, Stat } from "./abi";
import { alloc, regrow } from "./mem";
import { bump, traced, traceSegment } from "./metrics";
import { setSgFate, sgOpts, sgTsecr, sgTsval } from "./net";

const UNDECIDED: u32 = 1;
const DROPPED: u32 = 2;

let BUF: usize = 0;
let VERDICTS: usize = 0;
let cap: u32 = 0;
export let pendingHooks: u32 = 0;
let firstAt: u64 = 0;
let epochUs: u64 = 0;

export function hooksReset(): void {
  cap = 1024;
  BUF = alloc(<usize>cap * HookField.SIZE);
  VERDICTS = alloc(<usize>cap);
  pendingHooks = 0;
  epochUs = 0;
  workloadEpoch = 0;
  workloadDue = 0;
}
export function setHookEpoch(us: u64): void { epochUs = max(us, 1); }

let workloadEpoch: u64 = 0;
/** The start of the next window whose arrivals are not filed yet. */
export let workloadDue: u64 = 0;
export function setWorkloadEpoch(us: u64): void { workloadEpoch = us; workloadDue = 0; }
@inline export function workloadHooked(): bool { return workloadEpoch > 0; }
/** The SDK filed the window's arrivals: the next window is due. */
export function workloadBatchDone(): void { workloadDue += workloadEpoch; }

/**
 * The time by which the pending batch must be decided: the end of the epoch-long window
 * (on a grid from 0) its first record falls in, no later than that record + the epoch.
 * A fixed grid and the whole scenario's epoch (the SDK's) make which segments share a
 * hook call the scenario's, not the shard's.
 */
@inline export function hookDue(): u64 { return (firstAt / epochUs + 1) * epochUs; }

export function deferLoss(t: u64, g: u32, d: u32, fl: u32, senderState: u32, seq: u32, ack: u32, len: u32, c: u32): void {
  if (pendingHooks == cap) {
    BUF = regrow(BUF, <usize>cap * HookField.SIZE, <usize>cap * 2 * HookField.SIZE);
    VERDICTS = regrow(VERDICTS, <usize>cap, <usize>cap * 2);
    cap <<= 1;
  }
  if (pendingHooks == 0) firstAt = t;
  const p = BUF + <usize>pendingHooks * HookField.SIZE;
  store<u64>(p + HookField.Time, t);
  store<u32>(p + HookField.Segment, g);
  store<u16>(p + HookField.Dir, <u16>d);
  store<u8>(p + HookField.Flags, <u8>fl);
  store<u8>(p + HookField.State, <u8>senderState);
  store<u32>(p + HookField.Seq, seq);
  store<u32>(p + HookField.Ack, ack);
  store<u32>(p + HookField.Len, len);
  store<u32>(p + HookField.Conn, c);
  setSgFate(g, UNDECIDED);
  pendingHooks++;
}

export function hookPtr(): usize { return BUF; }
export function verdictPtr(): usize { return VERDICTS; }

/** Applies the verdicts the SDK wrote for every pending record; the batch empties. */
export function applyVerdicts(): void {
  for (let i: u32 = 0; i < pendingHooks; i++) {
    const p = BUF + <usize>i * HookField.SIZE;
    const drop = load<u8>(VERDICTS + <usize>i) != 0;
    const g = load<u32>(p + HookField.Segment);
    setSgFate(g, drop ? DROPPED : 0);
    const c = load<u32>(p + HookField.Conn);
    if (traced(c)) {
      traceSegment(load<u64>(p + HookField.Time), c, load<u16>(p + HookField.Dir), load<u8>(p + HookField.Flags), drop,
        load<u32>(p + HookField.Seq), load<u32>(p + HookField.Ack), load<u32>(p + HookField.Len), sgOpts(g), sgTsval(g), sgTsecr(g));
    }
    if (drop) bump(Stat.SegDropped);
  }
  memory.fill(VERDICTS, 0, <usize>pendingHooks);
  pendingHooks = 0;
}

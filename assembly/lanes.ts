// The merge of the engine's lanes. A lane is a queue whose items come due in the order
// they join it, each with its due time and filing number (wheel.ts takeSeq):
//
//   lanes 0 .. FLIGHT_LANES-1  segments in flight, one queue per link direction (net.ts:
//                              links have fixed latency and no queueing, so a
//                              direction's segments arrive in the order they were sent)
//   TIME_WAIT_LANES + h        host h's TIME_WAIT FIFO (wheel.ts: timers of one length)
//   ARRIVAL_LANES + w          workload w's arrival stream (apps.ts: one arrival pending)
//
// Each lane's items are filed by one host (a direction's sender, the FIFO's host, the
// workload's host), so a lane is in filing-number order as well as in time order.
// Only each lane's first item is ordered, in a binary min-heap of the lanes by
// (due time, filing number). The run loop (index.ts) takes the heap's first item while
// it comes before the wheel's next event, and so fires everything in exactly the order
// in which the wheel alone would have fired it, without a wheel event per item.
//
// Heap entries are 24 bytes: at u64 | order u64 | lane u32.

import { alloc, DEBUG } from "./mem";

// Lane numbers are fixed (the run loop tells lanes apart by constants): room for a
// direction per u16 index (net.ts MAX_DIRS), a host per u16 index (MAX_HOSTS) and a
// workload per u16 index (apps.ts).
export const FLIGHT_LANES: u32 = 65536;
export const TIME_WAIT_LANES: u32 = FLIGHT_LANES;
export const ARRIVAL_LANES: u32 = TIME_WAIT_LANES + 65536;

const HE_SIZE: usize = 24;
let HEAP: usize = 0;
let heapSize: u32 = 0;
let heapCap: u32 = 0;
/** The first item of all lanes: its due time (u64.MAX_VALUE when every lane is empty) and filing number. */
export let firstAt: u64 = u64.MAX_VALUE;
export let firstOrder: u64 = 0;

@inline function he(i: u32): usize { return HEAP + <usize>i * HE_SIZE; }
@inline function heCopy(to: usize, from: usize): void {
  store<u64>(to, load<u64>(from)); store<u64>(to, load<u64>(from, 8), 8); store<u32>(to, load<u32>(from, 16), 16);
}

export function lanesReset(): void {
  HEAP = 0; heapSize = 0; heapCap = 0;
  firstAt = u64.MAX_VALUE; firstOrder = 0;
}
/**
 * The heap for `lanes` lanes, as the run starts (a lane is in it at most once): the
 * directions, the hosts' TIME_WAIT FIFOs and the workloads, all configured by then.
 */
export function lanesStart(lanes: u32): void {
  heapCap = lanes; HEAP = alloc(<usize>lanes * HE_SIZE);
}

/** The lane whose item is first (firstAt); only while some lane has one. */
@inline export function firstLane(): u32 { return load<u32>(HEAP, 16); }

/** An empty lane gets an item, due at `at` and filed as `order`. */
@inline export function laneEnter(lane: u32, at: u64, order: u64): void {
  if (DEBUG) assert(heapSize < heapCap, "a lane is in the heap at most once");
  let i = heapSize++;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pp = he(parent);
    const tp = load<u64>(pp);
    if (tp < at) break;
    if (tp == at) { if (load<u64>(pp, 8) < order) break; } // (numbers are per host: a tie goes either way)
    heCopy(he(i), pp);
    i = parent;
  }
  const pi = he(i);
  store<u64>(pi, at); store<u64>(pi, order, 8); store<u32>(pi, lane, 16);
  if (i == 0) { firstAt = at; firstOrder = order; }
}

/** The first lane (`lane`, which its caller knows) had its first item taken; its next item is due at `at`, filed as `order`. */
@inline export function laneNext(lane: u32, at: u64, order: u64): void {
  if (DEBUG) assert(lane == firstLane(), "the first lane moves on");
  siftFirst(at, order, lane);
}

/** The first lane's last item was taken: the lane leaves the heap. */
export function laneLeave(): void {
  if (--heapSize == 0) { firstAt = u64.MAX_VALUE; return; }
  const pl = he(heapSize);
  siftFirst(load<u64>(pl), load<u64>(pl, 8), load<u32>(pl, 16));
}

/** (at, order, lane) goes into the root's place and down to where it belongs. */
@inline function siftFirst(at: u64, order: u64, lane: u32): void {
  let i: u32 = 0;
  while (true) {
    let c: u32 = 2 * i + 1;
    if (c >= heapSize) break;
    let pc = he(c);
    // (Tests as branches, not && / || chains: binaryen folds those into selects computed in full.)
    if (c + 1 < heapSize) { // the earlier child, by (time, filing number)
      const pr = pc + HE_SIZE;
      const tr = load<u64>(pr); const tl = load<u64>(pc);
      if (tr < tl) { c++; pc = pr; }
      else if (tr == tl) { if (load<u64>(pr, 8) < load<u64>(pc, 8)) { c++; pc = pr; } }
    }
    const tc = load<u64>(pc);
    if (tc > at) break;
    if (tc == at) { if (load<u64>(pc, 8) > order) break; }
    heCopy(he(i), pc);
    i = c;
  }
  const p = he(i);
  store<u64>(p, at); store<u64>(p, order, 8); store<u32>(p, lane, 16);
  if (i == 0) { firstAt = at; firstOrder = order; } // usually: the lane's next item stays first
  else { firstAt = load<u64>(HEAP); firstOrder = load<u64>(HEAP, 8); }
}

/** The heap, for the invariant checks: its size, and entry i's lane, due time and filing number. */
export function laneCount(): u32 { return heapSize; }
export function laneEntry(i: u32): u32 { return load<u32>(he(i), 16); }
export function laneEntryAt(i: u32): u64 { return load<u64>(he(i)); }
export function laneEntryOrder(i: u32): u64 { return load<u64>(he(i), 8); }

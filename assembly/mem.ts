// Linear memory for the engine's tables. The stub runtime's bump allocator hands
// out blocks and never frees them, so tables are sized from a capacity and grown by
// doubling: a grown column is copied into a new block. The old block is no longer
// abandoned when its owner says so (giveBack): it joins a short list of free ranges
// that tables grown in fixed-size chunks (the TIME_WAIT table and FIFO, which hold
// most of a run's memory when millions of connections wait) are carved from first.
// So the blocks a doubling leaves behind hold live connections instead of nothing.

/** Bytes of linear memory the engine may grow to (0: WebAssembly's own 4 GiB). */
let limit: usize = 0;
export function setMemoryLimit(bytes: usize): void { limit = bytes; }
/** The end of the last block handed out. */
let heapEnd: u64 = 0;
// The stub allocator's arithmetic is u32: at 65536 pages (4 GiB) memory's end wraps to 0
// and its next block traps, however much room is left. alloc grows memory itself, up to this.
const MAX_PAGES: i32 = 65535;

/**
 * A zeroed block of `bytes`. Past the limit the run stops with a message the SDK recognises.
 * The block is memory never used before (nothing in the engine frees, so the stub
 * allocator only bumps), and WebAssembly zeroes the pages memory.grow adds: no fill,
 * so the pages of a table nobody touches (most of an address's port tables) are never
 * made resident.
 */
export function alloc(bytes: usize): usize {
  const most = limit != 0 ? min(<i32>(<u64>limit >> 16), MAX_PAGES) : MAX_PAGES;
  const end = heapEnd + <u64>bytes + 64; // (with the block's header and alignment)
  const pages = <i32>min((end + 0xFFFF) >> 16, <u64>MAX_PAGES + 1);
  if (pages > most) abort("engine memory limit");
  const have = memory.size();
  if (pages > have) { // a sixteenth more than needed, within the limit: memory's size stays close to what tables hold
    if (memory.grow(min(max(have + (have >> 4), pages), most) - have) < 0 && memory.grow(pages - have) < 0) abort("engine memory limit");
  }
  const p = heap.alloc(bytes);
  heapEnd = <u64>p + <u64>bytes;
  if (DEBUG) { for (let i: usize = 0; i < bytes; i += 4096) assert(load<u8>(p + i) == 0, "a fresh block"); }
  return p;
}

// Free ranges: FREE_MAX (address, bytes) pairs of u32, the blocks owners released.
const FREE_MAX: u32 = 256;
let FREE: usize = 0;
let freeCount: u32 = 0;
/** Bytes in released blocks not yet carved again. */
let freeBytes: u64 = 0;

/** Gives back a block (of `bytes`) nothing refers to any more; only chunks (allocChunk) are carved from it. */
export function giveBack(p: usize, bytes: usize): void {
  if (FREE == 0) FREE = alloc(<usize>FREE_MAX << 3);
  freeBytes += <u64>bytes;
  // A table's columns were handed out one after another, so their old blocks adjoin (but
  // for the allocator's block header): a block next to a range joins it, and the columns
  // of a grown table make one range big enough for chunks.
  for (let i: u32 = 0; i < freeCount; i++) {
    const q = FREE + (<usize>i << 3);
    const at = <usize>load<u32>(q); const size = <usize>load<u32>(q, 4);
    if (p >= at + size && p - (at + size) <= 64) { store<u32>(q, <u32>(p + bytes - at), 4); return; }
    if (at >= p + bytes && at - (p + bytes) <= 64) { store<u32>(q, <u32>p); store<u32>(q, <u32>(at + size - p), 4); return; }
  }
  if (freeCount == FREE_MAX) { freeBytes -= <u64>bytes; return; } // (abandoned, as before)
  store<u32>(FREE + (<usize>freeCount << 3), <u32>p); store<u32>(FREE + (<usize>freeCount << 3), <u32>bytes, 4);
  freeCount++;
}

/** A block of `bytes` (not zeroed) for a table grown in chunks: from a released range when one is big enough. */
export function allocChunk(bytes: usize): usize {
  for (let i: u32 = 0; i < freeCount; i++) {
    const q = FREE + (<usize>i << 3);
    const size = <usize>load<u32>(q, 4);
    if (size < bytes) continue;
    const p = <usize>load<u32>(q);
    freeBytes -= <u64>bytes;
    if (size - bytes < 4096) { // the rest goes too (it stays unused): drop the range
      freeBytes -= <u64>(size - bytes);
      freeCount--;
      store<u64>(q, load<u64>(FREE + (<usize>freeCount << 3)));
    } else {
      store<u32>(q, <u32>(p + bytes)); store<u32>(q, <u32>(size - bytes), 4);
    }
    return p;
  }
  return alloc(bytes);
}

/** A column grown from `oldBytes` to `newBytes`, contents kept, the rest zeroed. */
export function regrow(old: usize, oldBytes: usize, newBytes: usize): usize {
  const p = alloc(newBytes);
  memory.copy(p, old, oldBytes);
  return p;
}

/** A column of `n` items of `size` bytes grown to `m` items (tables sized as configuration adds to them). */
export function regrowColumn(old: usize, n: u32, m: u32, size: usize): usize {
  return regrow(old, <usize>n * size, <usize>m * size);
}

/** Bytes of linear memory handed out (the end of the last block), of which `releasedBytes` are free again. */
export function heapBytes(): f64 { return <f64>heapEnd; }
export function releasedBytes(): f64 { return <f64>freeBytes; }

/** Bytes of linear memory the engine holds. */
export function memoryBytes(): f64 {
  return <f64>memory.size() * 65536.0;
}

/** Invariant checks run in the debug build only (asc --noAssert drops them in release). */
// @ts-ignore: decorator
@inline export const DEBUG: bool = !ASC_NO_ASSERT;

// Linear memory for the engine's tables. The stub runtime's bump allocator hands
// out blocks and never frees them, so tables are sized from a capacity and grown by
// doubling: a grown column is copied into a new block and the old one abandoned,
// which keeps total memory under twice the high-water mark with no GC anywhere.

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
  if (pages > have) { // doubling, as the stub would, within the limit
    if (memory.grow(min(max(have * 2, pages), most) - have) < 0 && memory.grow(pages - have) < 0) abort("engine memory limit");
  }
  const p = heap.alloc(bytes);
  heapEnd = <u64>p + <u64>bytes;
  if (DEBUG) { for (let i: usize = 0; i < bytes; i += 4096) assert(load<u8>(p + i) == 0, "a fresh block"); }
  return p;
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

/** Bytes of linear memory the engine holds. */
export function memoryBytes(): f64 {
  return <f64>memory.size() * 65536.0;
}

/** Invariant checks run in the debug build only (asc --noAssert drops them in release). */
// @ts-ignore: decorator
@inline export const DEBUG: bool = !ASC_NO_ASSERT;

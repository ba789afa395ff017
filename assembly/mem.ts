// Linear memory for the engine's tables. The stub runtime's bump allocator hands
// out blocks and never frees them, so tables are sized from a capacity and grown by
// doubling: a grown column is copied into a new block and the old one abandoned,
// which keeps total memory under twice the high-water mark with no GC anywhere.

/** Bytes of linear memory the engine may grow to (0: WebAssembly's own 4 GiB). */
let limit: usize = 0;
export function setMemoryLimit(bytes: usize): void { limit = bytes; }

/**
 * A zeroed block of `bytes`. Past the limit the run stops with a message the SDK recognises.
 * The block is memory never used before (nothing in the engine frees, so the stub
 * allocator only bumps), and WebAssembly zeroes the pages memory.grow adds: no fill,
 * so the pages of a table nobody touches (most of an address's port tables) are never
 * made resident.
 */
export function alloc(bytes: usize): usize {
  if (limit != 0 && (<u64>memory.size() << 16) + <u64>bytes > <u64>limit) abort("engine memory limit");
  const p = heap.alloc(bytes);
  if (DEBUG) { for (let i: usize = 0; i < bytes; i += 4096) assert(load<u8>(p + i) == 0, "a fresh block"); }
  return p;
}

/** A column grown from `oldBytes` to `newBytes`, contents kept, the rest zeroed. */
export function regrow(old: usize, oldBytes: usize, newBytes: usize): usize {
  const p = alloc(newBytes);
  memory.copy(p, old, oldBytes);
  return p;
}

/** Bytes of linear memory the engine holds. */
export function memoryBytes(): f64 {
  return <f64>memory.size() * 65536.0;
}

/** Invariant checks run in the debug build only (asc --noAssert drops them in release). */
// @ts-ignore: decorator
@inline export const DEBUG: bool = !ASC_NO_ASSERT;

// A Result crosses from a worker to the main thread with its series (the bulk of it:
// one number per host, state and sample) packed into one Float64Array whose buffer is
// transferred, not copied; the rest is small and goes by structured clone.

import type { Result } from "../result.js";

export interface PackedResult {
  head: Result;            // series arrays left empty
  layout: [path: string[], length: number][];
  columns: Float64Array;
}

type Tree = { [k: string]: Tree | number[] };

export function packResult(result: Result): PackedResult {
  const layout: [string[], number][] = [];
  const arrays: number[][] = [];
  const empty = (node: Tree, path: string[]): Tree => {
    const out: Tree = {};
    for (const [k, v] of Object.entries(node)) {
      if (Array.isArray(v)) { layout.push([[...path, k], v.length]); arrays.push(v); out[k] = []; }
      else out[k] = empty(v, [...path, k]);
    }
    return out;
  };
  const head = { ...result, series: empty(result.series as unknown as Tree, []) as unknown as Result["series"] };
  const columns = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) { columns.set(a, o); o += a.length; }
  return { head, layout, columns };
}

export function unpackResult(p: PackedResult): Result {
  const result = p.head;
  let o = 0;
  for (const [path, length] of p.layout) {
    let node = result.series as unknown as Tree;
    for (const k of path.slice(0, -1)) node = node[k] as Tree;
    node[path[path.length - 1]] = Array.from(p.columns.subarray(o, o + length));
    o += length;
  }
  return result;
}

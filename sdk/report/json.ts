// JSON.stringify's text, in pieces: a result with millions of samples (or traces) is
// longer than V8's longest string (2^29 characters), so outputs are written piece by
// piece and no single string holds the whole. Byte for byte what
// JSON.stringify(value, null, indent) gives for plain data (objects, arrays, numbers,
// strings, booleans, null; undefined members left out as JSON.stringify leaves them).

/** Pieces of about `size` characters (a string, or an object of under 512 members, longer than that is one piece). */
export function* jsonChunks(value: unknown, indent = 0, size = 1 << 20): Generator<string> {
  const step = " ".repeat(indent);
  let parts: string[] = [];
  let length = 0;
  const put = (s: string) => { parts.push(s); length += s.length; };
  function* flush(): Generator<string> {
    if (length >= size) { yield parts.join(""); parts = []; length = 0; }
  }
  // Objects and arrays open, list their members and close; anything else is JSON.stringify's.
  function* walk(v: unknown, pad: string): Generator<string> {
    if (v === null || typeof v !== "object" || typeof (v as { toJSON?: unknown }).toJSON === "function") {
      put(JSON.stringify(v) ?? "null");
      return;
    }
    // A small subtree (a trace, a segment) is JSON.stringify's own text, re-indented:
    // walking millions of small objects one by one here would be ten times slower.
    if (within(v, 512) >= 0) {
      const text = JSON.stringify(v, null, indent);
      put(indent && pad ? text.replaceAll("\n", "\n" + pad) : text);
      return;
    }
    const inner = pad + step;
    const open = indent ? `\n${inner}` : "";
    const sep = indent ? `,\n${inner}` : ",";
    const close = indent ? `\n${pad}` : "";
    if (Array.isArray(v)) {
      if (v.length === 0) { put("[]"); return; }
      put("[" + open);
      const BLOCK = Math.max(1, Math.min(1 << 14, size >> 3));
      for (let i = 0; i < v.length; i += BLOCK) {
        const block = v.slice(i, i + BLOCK);
        if (i) put(sep);
        // A series is millions of finite numbers: joined a block at a time, as String() writes them as JSON does.
        if (block.every((x) => typeof x === "number" && Number.isFinite(x))) put(block.join(sep));
        else {
          for (let j = 0; j < block.length; j++) {
            if (j) put(sep);
            const x = block[j];
            if (x !== null && typeof x === "object") yield* walk(x, inner);
            else put(JSON.stringify(x) ?? "null");
            yield* flush();
          }
        }
        yield* flush();
      }
      put(close + "]");
      return;
    }
    const keys = Object.keys(v).filter((k) => {
      const x = (v as Record<string, unknown>)[k];
      return x !== undefined && typeof x !== "function" && typeof x !== "symbol";
    });
    if (keys.length === 0) { put("{}"); return; }
    put("{" + open);
    for (let i = 0; i < keys.length; i++) {
      put((i ? sep : "") + JSON.stringify(keys[i]) + (indent ? ": " : ":"));
      yield* walk((v as Record<string, unknown>)[keys[i]], inner);
      yield* flush();
    }
    put(close + "}");
  }
  yield* walk(value, "");
  if (parts.length) yield parts.join("");
}

/** What is left of `budget` after counting the members of `v`, all the way down; below 0 once over it. */
function within(v: unknown, budget: number): number {
  if (v === null || typeof v !== "object") return budget;
  const values = Array.isArray(v) ? v : Object.values(v);
  budget -= values.length;
  for (let i = 0; i < values.length && budget >= 0; i++) {
    const x = values[i];
    if (x !== null && typeof x === "object") budget = within(x, budget);
  }
  return budget;
}

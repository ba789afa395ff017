// Durations, addresses and port ranges as users write them, turned into the
// integers the engine uses. Each parser returns a value or a message saying what
// is allowed; the caller adds the field's name.

const UNIT_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6, d: 86400e6 };

/** Microseconds from "60s", "500us", "2ms", "1.5s", "2m", "1h", "10d" or a number of seconds. */
export function parseDuration(v: unknown): number | string {
  let us: number;
  if (typeof v === "number") {
    us = v * 1e6;
  } else if (typeof v === "string") {
    const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|ms|s|m|h|d)\s*$/.exec(v);
    if (!m && /^\s*-/.test(v)) return `${JSON.stringify(v)} is negative; a duration is zero or more, like "60s"`;
    if (!m) return `${JSON.stringify(v)} is not a duration; write it like "60s", "500us", "2ms", "1.5s", "2m", "1h", "10d" or as a number of seconds`;
    us = Number(m[1]) * UNIT_US[m[2]];
  } else {
    return `expected a duration like "60s" or a number of seconds, got ${typeName(v)}`;
  }
  if (!Number.isFinite(us) || us < 0) return `${JSON.stringify(v)} is not a duration of zero or more`;
  return Math.round(us);
}

/** A dotted-quad IPv4 address as an unsigned 32-bit number. */
export function parseIPv4(v: string): number | string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (!m || m.slice(1).some((p) => Number(p) > 255)) return `${JSON.stringify(v)} is not an IPv4 address like "10.0.0.1"`;
  return ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
}

export function formatIPv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** "40000-40999" (or one port "80") as [low, high]. */
export function parsePortRange(v: string): [number, number] | string {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v);
  if (!m) return `${JSON.stringify(v)} is not a port range; write it like "40000-40999"`;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535) return `${JSON.stringify(v)} is outside 1-65535`;
  if (lo > hi) return `${JSON.stringify(v)} is inverted: the low port ${lo} is above the high port ${hi}`;
  return [lo, hi];
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  if (typeof v === "bigint" || typeof v === "symbol" || typeof v === "function") return `a ${typeof v}`;
  if (typeof v === "number") return `number ${v}`; // NaN and Infinity by name (JSON says null)
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The closest allowed word, for "did you mean" hints; undefined when nothing is close. */
export function closest(word: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = editDistance(word.toLowerCase(), a.toLowerCase());
    if (d < bestD) { bestD = d; best = a; }
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edits between two words, a swap of two neighbours counting as one ("tpc" -> "tcp"). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length];
}

/**
 * Text for a terminal: control characters (C0, DEL, C1) and bidirectional overrides
 * written as visible escapes (ESC as \x1b), so a name cannot move the cursor, recolour
 * or hide what follows. Characters in `keep` (a report's own newlines) pass.
 */
export function visible(text: string, keep = ""): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (keep.includes(c)) return c;
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}

// A run's traces as the conformance suite's readable lines (README.md in this folder):
//
//   0.001 server > client S. seq server ack client+1 len 0
//   0.002 client SYN_SENT -> ESTABLISHED
//
// Sequence numbers are written from the initial sequence numbers (ISNs) they belong
// to: each distinct ISN a host sends in a SYN is named after the host (`client`, then
// `client.2`, ...), and a number is the nearest ISN plus or minus an offset, so cases
// do not depend on the hash that makes ISNs.

import type { Trace } from "../../sdk/index.js";

export interface Line { t: number; kind: 0 | 1; text: string }

const FAR = 2 ** 28; // a number further than this from every ISN is written as it is

/** The traces of one run as lines, states before segments at the same instant. */
export function traceLines(traces: Trace[]): string[] {
  const tagged = traces.length > 1;
  const segs = traces.flatMap((tr) => tr.segments.map((s) => ({ ...s, id: tr.id })))
    .sort((a, b) => a.t - b.t); // stable: each trace's order at equal times is kept
  // ISNs, named in order of first appearance.
  const isns: { value: number; name: string }[] = [];
  const perHost = new Map<string, number>();
  for (const s of segs) {
    if (!s.flags.includes("S") || isns.some((b) => b.value === s.seq)) continue;
    const k = (perHost.get(s.from) ?? 0) + 1;
    perHost.set(s.from, k);
    isns.push({ value: s.seq, name: k === 1 ? s.from : `${s.from}.${k}` });
  }
  const num = (v: number): string => {
    if (v === 0) return "0";
    let best: { name: string; d: number } | undefined;
    for (const b of isns) {
      const d = ((v - b.value) | 0); // signed 32-bit distance, as sequence space compares
      if (!best || Math.abs(d) < Math.abs(best.d)) best = { name: b.name, d };
    }
    if (!best || Math.abs(best.d) > FAR) return String(v);
    return best.d === 0 ? best.name : best.d > 0 ? `${best.name}+${best.d}` : `${best.name}${best.d}`;
  };
  const pre = (id: number) => (tagged ? ` #${id}` : "");
  const lines: Line[] = [];
  for (const tr of traces) {
    for (const s of tr.states) lines.push({ t: s.t, kind: 0, text: `${time(s.t)}${pre(tr.id)} ${s.host} ${s.from} -> ${s.to}` });
  }
  for (const s of segs) {
    const fate = s.fate === "dropped" ? " dropped" : "";
    lines.push({ t: s.t, kind: 1, text: `${time(s.t)}${pre(s.id)} ${s.from} > ${s.to} ${s.flags} seq ${num(s.seq)} ack ${num(s.ack)} len ${s.len}${fate}` });
  }
  return canonical(lines);
}

/** Seconds with 3 to 6 decimals: 0.000, 0.202, 1.0085. */
function time(t: number): string {
  return t.toFixed(6).replace(/(\.\d{3}\d*?)0+$/, "$1");
}

/** Expected lines as written in a case, in the order traceLines gives (a line's time and kind decide; spaces are collapsed). */
export function expectedLines(written: string[]): string[] {
  return canonical(written.map((raw, i) => {
    const text = raw.trim().replace(/\s+/g, " ");
    const m = /^(\d+(?:\.\d+)?) /.exec(text);
    if (!m) throw new Error(`expect[${i}]: a line starts with its time in seconds, e.g. "0.001 server > client S. seq server ack client+1 len 0"; got "${raw}"`);
    const t = Number(m[1]);
    return { t, kind: / > /.test(text) ? 1 : 0, text: time(t) + text.slice(m[1].length) } as Line;
  }));
}

function canonical(lines: Line[]): string[] {
  return lines.map((l, i) => ({ ...l, i }))
    .sort((a, b) => a.t - b.t || a.kind - b.kind || a.i - b.i)
    .map((l) => l.text);
}

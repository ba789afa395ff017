// Outputs too big for one string are written piece by piece: the pieces join to
// exactly what JSON.stringify and the string writers give.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { runScenario } from "../sdk/index.js";
import { seriesCsv, seriesCsvChunks } from "../sdk/report/csv.js";
import { htmlPage, htmlReportPieces } from "../sdk/report/html.js";
import { jsonChunks } from "../sdk/report/json.js";
import { pair } from "./helpers.js";

describe("jsonChunks", () => {
  test.each([0, 2])("any JSON value, indent %i, any piece size: the pieces join to JSON.stringify's text", (indent) => {
    fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 64 }), (v, size) => {
      expect([...jsonChunks(v, indent, size)].join("")).toBe(JSON.stringify(v, null, indent));
    }), { numRuns: 300 });
  });

  test("undefined members, functions, NaN and -0 as JSON.stringify has them", () => {
    const v = { a: undefined, b: [1, undefined, () => 1, NaN, -0], c: { d: 'x\n"' }, e: {}, f: [], g: Infinity };
    for (const indent of [0, 2]) expect([...jsonChunks(v, indent, 3)].join("")).toBe(JSON.stringify(v, null, indent));
  });

  test("a result: pieces of about the size asked, joined equal to JSON.stringify", async () => {
    const r = await runScenario(pair({ duration: "30s", sample: "10ms", workload: { rate: 20, count: 0 }, trace: 3 }));
    const pieces = [...jsonChunks(r, 2, 4096)];
    const text = JSON.stringify(r, null, 2);
    expect(pieces.join("")).toBe(text);
    // A piece overshoots by at most one small subtree (up to 512 values, written whole):
    // here a trace of 10 segments with their timestamps, about 8 KB indented.
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(4 * 4096);
    expect(pieces.length).toBeGreaterThan(text.length / (4 * 4096));
  });
});

describe("CSV and HTML in pieces", () => {
  test("the CSV's pieces are whole rows and join to seriesCsv", async () => {
    const r = await runScenario(pair({ duration: "30s", sample: "10ms", workload: { rate: 20, count: 0 } }));
    const pieces = [...seriesCsvChunks(r, 4096)];
    expect(pieces.length).toBeGreaterThan(10);
    for (const p of pieces) expect(p.endsWith("\n")).toBe(true);
    expect(pieces.join("")).toBe(seriesCsv(r));
    expect(pieces.join("").split("\n")).toHaveLength(r.series.t.length + 2);
  });

  test("a 20 MB description of '<' and '&' is escaped in pieces of at most 5 MB, and the page is the one htmlPage gives", async () => {
    // One replace over 100 MB of such characters was a V8 fatal error (a native stack, no exception).
    const description = "<a href=\"x\">&amp;</a>\u{1F600}".repeat(20e6 / 24);
    const scenario = { ...pair({ duration: "5s" }), description };
    const r = await runScenario(scenario);
    const pieces = [...await htmlReportPieces(r, scenario, { client: 1000 })];
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(5 << 20);
    const page = pieces.join("");
    expect(page).toBe(await htmlPage(r, scenario, { client: 1000 }));
    expect(page).toContain(`<p class="description">&#60;a href=&#34;x&#34;&#62;&#38;amp;&#60;/a&#62;\u{1F600}&#60;a`);
    // Each piece is encoded alone when written: none may end between the halves of a surrogate pair.
    expect(pieces.filter((p) => /[\uD800-\uDBFF]$/.test(p))).toEqual([]);
  });
});

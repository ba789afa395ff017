// The conformance suite: every case in test/conformance/*.json is a scenario and the
// trace it must give, segment by segment (flags, seq, ack, len, fate) and state by
// state on both ends (test/conformance/README.md). A case with an empty "expect"
// fails with the lines the engine gave, ready to check and paste. CONFORMANCE_ENGINE=
// path/to/engine.debug.wasm runs the suite against another build of the engine.

import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Scenario } from "../sdk/index.js";
import { runScenario } from "../sdk/index.js";
import { expectedLines, traceLines } from "./conformance/trace-lines.js";

const DIR = join(import.meta.dirname, "conformance");
const ENGINE = process.env.CONFORMANCE_ENGINE;
const engineModule = ENGINE ? readFile(ENGINE).then((b) => WebAssembly.compile(b)) : undefined;
const run = async (s: Scenario) => runScenario(s, { flavour: "debug", engineModule: await engineModule });
const FIELDS = ["title", "rule", "scenario", "expect", "totals"];

interface Case { title: string; rule: string; scenario: Omit<Scenario, "name">; expect: string[]; totals?: Record<string, unknown> }

function load(file: string): Case {
  const c = JSON.parse(readFileSync(join(DIR, file), "utf8"));
  for (const k of Object.keys(c)) {
    if (!FIELDS.includes(k)) throw new Error(`${file}: unknown field "${k}" (allowed: ${FIELDS.join(", ")})`);
  }
  for (const k of ["title", "rule"]) if (typeof c[k] !== "string") throw new Error(`${file}: "${k}" must be a string`);
  if (typeof c.scenario !== "object" || c.scenario === null) throw new Error(`${file}: "scenario" must be a scenario object`);
  if (!Array.isArray(c.expect)) throw new Error(`${file}: "expect" must be an array of trace lines`);
  return c;
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();

describe("conformance", () => {
  test("the suite has cases", () => expect(files.length).toBeGreaterThan(0));
  for (const file of files) {
    const c = load(file);
    test(`${file.replace(/\.json$/, "")}: ${c.title}`, async () => {
      const r = await run({ seed: 1, trace: 1, ...c.scenario, name: file } as Scenario);
      const got = traceLines(r.traces ?? []);
      if (c.expect.length === 0) throw new Error(`${file}: no "expect" yet; the engine gave:\n${JSON.stringify(got, null, 2)}`);
      expect(got).toEqual(expectedLines(c.expect));
      if (c.totals) expect(r.totals).toMatchObject(c.totals);
    });
  }
});

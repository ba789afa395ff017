// --expect's paths (sdk/expect.ts) are the result's numbers: every number under totals and
// peak of a real result can be checked, and nothing else, so the two cannot drift apart.

import { expect, test } from "vitest";
import { checkExpectations, parseExpectation, runScenario } from "../sdk/index.js";
import { pair } from "./helpers.js";

/** "totals.failed.EADDRNOTAVAIL" for every number under `value`. */
function leaves(value: unknown, at: string): string[] {
  if (typeof value === "number") return [at];
  return Object.entries(value as object).flatMap(([k, v]) => leaves(v, `${at}.${k}`));
}

test("every number of totals and peak is a check's path, with or without totals.; groups and other roots are not", async () => {
  const r = await runScenario(pair({ duration: "5s", workload: { rate: 10 } }));
  const paths = [...leaves(r.totals, "totals"), ...leaves(r.peak, "peak")];
  expect(paths.length).toBeGreaterThan(30);
  const outcomes = checkExpectations(r, paths.map((p) => `${p}>=0`));
  expect(outcomes.every((o) => o.held && Number.isFinite(o.actual))).toBe(true);
  for (const p of paths.filter((x) => x.startsWith("totals."))) {
    expect(parseExpectation(`${p.slice("totals.".length)}==1`)).toMatchObject({ path: p.split(".") });
  }
  expect(checkExpectations(r, ["completed==50", "completed!=50", "peak.TIME_WAIT>0"]).map((o) => o.held)).toEqual([r.totals.completed === 50, r.totals.completed !== 50, true]);
  for (const bad of ["totals.failed<1", "engine.events>0", "series.t>0", "totals.nope==0", "peak==0"]) expect(typeof parseExpectation(bad), bad).toBe("string");
});

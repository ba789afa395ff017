// Sweeps: one scenario run over a grid of values (`--vary path=values`), every run
// checked before any starts, fanned out over a worker pool, and gathered into one
// table in grid order whatever order the runs finish in. A run that fails keeps its
// row with the reason; the others are reported.

import { loadPlugins } from "../plugin-loader.js";
import { PluginError, type Plugin } from "../plugins.js";
import { csvCell } from "../report/csv.js";
import { WHY_KEYS, type Result } from "../result.js";
import { estimateEvents, planScenario, ScenarioError, type Plan } from "../scenario.js";
import { closest } from "../units.js";

export type Value = number | string | boolean;
export interface Vary { path: string; values: Value[] }
export interface SweepRow { values: Record<string, Value>; result?: Result; error?: string }

/** A pool as the sweep needs it: Node's WorkerPool and the browser's have this shape. */
export interface RunPool { run(plan: Plan): Promise<Result> }

/** Values one range may make (each is a run; an array that size would not even fit in memory past 2^32). */

/**
 * `path=v1,v2,v3` or `path=from:to:count` (count values evenly spaced, both ends
 * included). Numbers and true/false are read as such; anything else stays a string.
 */
export function parseVary(spec: string): Vary {
  const eq = spec.indexOf("=");
  if (eq <= 0 || eq === spec.length - 1) {
    throw new ScenarioError(`--vary ${spec}`, 'expected path=values, e.g. "workloads.0.rate=100,200" or "workloads.0.rate=100:2000:5"');
  }
  const path = spec.slice(0, eq);
  const text = spec.slice(eq + 1);
  const range = /^(-?[\d.]+):(-?[\d.]+):(\d+)$/.exec(text);
  if (range) {
    const [from, to, count] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (!Number.isFinite(from) || !Number.isFinite(to) || !(count >= 2)) {
      throw new ScenarioError(`--vary ${spec}`, "a range is from:to:count with numbers and a count of at least 2");
    }
    if (count > MAX_RUNS) throw new ScenarioError(`--vary ${spec}`, `${fmt(count)} values; a sweep runs at most ${fmt(MAX_RUNS)} combinations`);
    const step = (to - from) / (count - 1);
    return { path, values: Array.from({ length: count }, (_, i) => Number((from + i * step).toPrecision(12))) };
  }
  const values = text.split(",").map((v): Value => {
    const s = v.trim();
    if (s === "true" || s === "false") return s === "true";
    return s !== "" && Number.isFinite(Number(s)) ? Number(s) : s;
  });
  return { path, values };
}

/**
 * The sweep a scenario declares in its `vary` ({ "path": [values] }), or undefined when it
 * declares none; a malformed one is a ScenarioError naming it.
 */
export function declaredVary(scenario: unknown): Vary[] | undefined {
  if (scenario === null || typeof scenario !== "object" || !Object.hasOwn(scenario, "vary")) return undefined;
  const vary = (scenario as { vary: unknown }).vary;
  if (vary === null || typeof vary !== "object" || Array.isArray(vary) || Object.keys(vary).length === 0) {
    throw new ScenarioError("scenario.vary", 'expected { "path": [values] } with at least one path, e.g. { "variant": ["none", "noTimeWait"] }');
  }
  return Object.entries(vary).map(([path, values]) => {
    const ok = Array.isArray(values) && values.length > 0 && values.every((v) => ["number", "string", "boolean"].includes(typeof v));
    if (!ok) throw new ScenarioError(`scenario.vary.${path}`, "expected a list of at least one number, string or true/false");
    return { path, values: values as Value[] };
  });
}

/**
 * Runs one sweep may make: every plan is made before any runs and every result is held
 * for the table (a default-sized result is ~30 KB), so 10^8 of them abort the process.
 */
export const MAX_RUNS = 10_000;

const fmt = (n: number) => n.toLocaleString("en-US");

/** Every combination, the first --vary outermost; counted before any is made. */
export function sweepGrid(varies: Vary[]): Record<string, Value>[] {
  const total = varies.reduce((n, v) => n * v.values.length, 1);
  if (total > MAX_RUNS) {
    throw new ScenarioError("--vary", `${varies.map((v) => fmt(v.values.length)).join(" x ")} = ${fmt(total)} combinations; a sweep runs at most ${fmt(MAX_RUNS)}`);
  }
  let grid: Record<string, Value>[] = [{}];
  for (const v of varies) grid = grid.flatMap((g) => v.values.map((x) => ({ ...g, [v.path]: x })));
  return grid;
}

/**
 * A copy of the scenario with `path` set; a misspelt step names the key it meant. Keys
 * are data: only own properties are followed, and a key is defined, never assigned, so
 * "__proto__" or "constructor" name a field (which the scenario check then judges)
 * instead of reaching Object.prototype.
 */
export function applyVary(scenario: unknown, path: string, value: Value): unknown {
  const copy = structuredClone(scenario) as Record<string, unknown>;
  const keys = path.split(".");
  let node: Record<string, unknown> = copy;
  const set = (k: string, v: unknown) => Object.defineProperty(node, k, { value: v, writable: true, enumerable: true, configurable: true });
  keys.forEach((k, i) => {
    // A list takes its own items only: not "length", not a hole past its end.
    if (Array.isArray(node) && !(/^\d+$/.test(k) && Number(k) < node.length)) {
      const list = keys.slice(0, i).join(".") || "the scenario";
      throw new ScenarioError(`--vary ${path}`, `no ${JSON.stringify(k)} in ${list}: a list of ${node.length}${node.length ? `, indices 0 to ${node.length - 1}` : ""}`);
    }
    if (i === keys.length - 1) { set(k, value); return; }
    let next = Object.hasOwn(node, k) ? node[k] : undefined;
    if (next === undefined) {
      const hint = closest(k, Object.keys(node));
      if (hint) {
        throw new ScenarioError(`--vary ${path}`, `no ${JSON.stringify(k)} in ${keys.slice(0, i).join(".") || "the scenario"}${hint ? `; did you mean "${hint}"?` : ""}`);
      }
      next = {};
      set(k, next);
    }
    if (next === null || typeof next !== "object") {
      throw new ScenarioError(`--vary ${path}`, `${keys.slice(0, i + 1).join(".")} is ${JSON.stringify(next)}, not an object or list`);
    }
    node = next as Record<string, unknown>;
  });
  return copy;
}

export interface SweepOptions {
  seed?: number;
  onRun?: (done: number, total: number) => void;
  /** Plugin objects the scenario names, as runScenario takes them; modules named by path load themselves (runSweep). */
  plugins?: Plugin[];
  /** The directory relative plugin paths in the scenario are resolved against (default: the working directory). */
  baseDir?: string;
  /** Called with every plan once all are checked, before any runs (warnings about a long run). */
  onPlanned?: (plans: Plan[], grid: Record<string, Value>[]) => void;
}

/** Every combination checked and planned; a bad one throws naming its values. Plugin modules must be loaded (loadPlugins), as for planScenario. */
export function planSweep(scenario: unknown, varies: Vary[], options: Pick<SweepOptions, "seed" | "plugins"> = {}): { grid: Record<string, Value>[]; plans: Plan[] } {
  const seen = new Set<string>();
  for (const v of varies) {
    if (seen.has(v.path)) throw new ScenarioError(`--vary ${v.path}`, "is varied twice; give its values in one --vary");
    seen.add(v.path);
  }
  const grid = sweepGrid(varies);
  const plans = grid.map((values) => {
    let s = scenario;
    for (const [path, v] of Object.entries(values)) s = applyVary(s, path, v);
    try {
      return planScenario(s, { seed: options.seed, plugins: options.plugins });
    } catch (e) {
      if (e instanceof ScenarioError || e instanceof PluginError) {
        const which = Object.entries(values).map(([p, v]) => `${p}=${v}`).join(" ");
        throw new ScenarioError(`--vary ${which}`, e.message);
      }
      throw e;
    }
  });
  return { grid, plans };
}

/**
 * Checks every combination, then runs them all on the pool, the longest first (by
 * estimateEvents; ties in grid order): a long run started last would leave the other
 * workers idle while it finishes. The rows are in grid order whatever order they ran in.
 */
export async function runSweep(scenario: unknown, varies: Vary[], pool: RunPool, options: SweepOptions = {}): Promise<SweepRow[]> {
  const plugins = await loadPlugins(scenario, options.plugins, options.baseDir); // workers import the modules again
  const { grid, plans } = planSweep(scenario, varies, { seed: options.seed, plugins });
  options.onPlanned?.(plans, grid);
  let done = 0;
  const cost = plans.map(estimateEvents);
  const order = plans.map((_, i) => i).sort((a, b) => cost[b] - cost[a] || a - b);
  const rows: Promise<SweepRow>[] = [];
  for (const i of order) rows[i] = runRow(plans[i], i);
  return Promise.all(rows);

  async function runRow(plan: Plan, i: number): Promise<SweepRow> {
    const row: SweepRow = { values: grid[i] };
    try {
      row.result = await pool.run(plan);
      if (row.result.error) row.error = row.result.error;
    } catch (e) {
      row.error = (e as Error).message;
    }
    options.onRun?.(++done, plans.length);
    return row;
  }
}

/** The headline figures of each run, as a table: the varied values first. */
export function sweepTable(varies: Vary[], rows: SweepRow[]): string[][] {
  const figures: [string, (r: Result) => number][] = [
    ["attempted", (r) => r.totals.attempted], ["established", (r) => r.totals.established],
    ["completed", (r) => r.totals.completed],
    ["EADDRNOTAVAIL", (r) => r.totals.failed.EADDRNOTAVAIL], ["ECONNREFUSED", (r) => r.totals.failed.ECONNREFUSED],
    ["ETIMEDOUT", (r) => r.totals.failed.ETIMEDOUT], ["ECONNRESET", (r) => r.totals.failed.ECONNRESET],
    ["peak TIME_WAIT", (r) => r.peak.TIME_WAIT], ["retransmitted", (r) => r.totals.segments.retransmitted],
  ];
  // A "why" study's counters, when its runs have them (docs/why.md).
  if (rows.some((r) => r.result?.totals.why)) {
    for (const k of WHY_KEYS) figures.push([k, (r) => r.totals.why?.[k] ?? 0]);
  }
  const header = [...varies.map((v) => v.path), ...figures.map(([name]) => name), "error"];
  return [header, ...rows.map((row) => [
    ...varies.map((v) => String(row.values[v.path])),
    ...figures.map(([, get]) => (row.result ? String(get(row.result)) : "")),
    row.error ?? "",
  ])];
}

/** What `connsim sweep --csv` writes: sweepTable as CSV. */
export function sweepCsv(varies: Vary[], rows: SweepRow[]): string {
  return sweepTable(varies, rows).map((r) => r.map(csvCell).join(",") + "\n").join("");
}

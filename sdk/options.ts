// The options of the SDK's entry points (runScenario, runPlan, planScenario, the worker
// pools) and the CLI's numeric flags, checked as the scenario is: before anything runs,
// one ScenarioError line naming the field (`options.seed`, `--seed`) and what is allowed.
// A number the engine takes as u32 halves (seed) or a u32 (trace, sliceEvents) must fit,
// so nothing wraps, and NaN never reaches a loop condition.

import { definePlugin, PluginError, type LossPlugin } from "./plugins.js";
import { ScenarioError } from "./scenario.js";
import { closest, typeName } from "./units.js";

/** Whole-number ranges, inclusive. */
export const LIMITS = {
  seed: [0, Number.MAX_SAFE_INTEGER],
  trace: [0, 2 ** 32 - 1],
  sliceEvents: [1, 2 ** 32 - 1],
  memoryLimit: [2 ** 20, 2 ** 32],
  hookTimeout: [1, 2 ** 31 - 1], // setTimeout fires at once past 2^31-1 ms
  stallTimeout: [0, 2 ** 31 - 1],
  workers: [1, 1024],
} as const satisfies Record<string, readonly [number, number]>;

type Check = (v: unknown) => string | undefined;

const whole = (lo: number, hi: number, what = "a whole number"): Check => (v) =>
  typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `expected ${what} from ${lo} to ${hi}, got ${typeName(v)}`;
const func: Check = (v) => (typeof v === "function" ? undefined : `expected a function, got ${typeName(v)}`);
const bool: Check = (v) => (typeof v === "boolean" ? undefined : `expected true or false, got ${typeName(v)}`);
const signal: Check = (v) => (v !== null && typeof v === "object" && typeof (v as AbortSignal).aborted === "boolean"
  && typeof (v as AbortSignal).addEventListener === "function" ? undefined : `expected an AbortSignal (new AbortController().signal), got ${typeName(v)}`);

/** What a run takes both in this thread and on a worker pool. */
const SHARED: Record<string, Check> = {
  onProgress: func,
  signal,
  sliceEvents: whole(...LIMITS.sliceEvents),
  memoryLimit: whole(LIMITS.memoryLimit[0], LIMITS.memoryLimit[1], "a whole number of bytes"),
  hookTimeout: whole(LIMITS.hookTimeout[0], LIMITS.hookTimeout[1], "a whole number of milliseconds"),
};

const POOL_RUN: Record<string, Check> = {
  ...SHARED,
  stallTimeout: whole(LIMITS.stallTimeout[0], LIMITS.stallTimeout[1], "a whole number of milliseconds"),
  onCheckpoint: func,
  splitEvents: whole(0, Number.MAX_SAFE_INTEGER, "a whole number of events"),
};

const RUN: Record<string, Check> = {
  seed: whole(...LIMITS.seed),
  trace: whole(...LIMITS.trace),
  flavour: (v) => (v === "release" || v === "debug" ? undefined : `expected "release" or "debug", got ${typeName(v)}`),
  ...SHARED,
  onSlice: func,
  engineBytes: func,
  engineModule: (v) => (v instanceof WebAssembly.Module ? undefined : `expected a WebAssembly.Module, got ${typeName(v)}`),
  plugins: () => undefined, // checkPlugins
  checkInvariants: bool,
  workers: whole(...LIMITS.workers),
  baseDir: (v) => (typeof v === "string" && v !== "" ? undefined : `expected a directory path (a string), got ${typeName(v)}`),
};

/** Checks every field of an options object against `checks`; undefined fields are defaults. */
function checkFields(options: unknown, checks: Record<string, Check>, at: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ScenarioError(at, `expected an object of options, got ${typeName(options)}`);
  }
  for (const [key, value] of Object.entries(options)) {
    const check = Object.hasOwn(checks, key) ? checks[key] : undefined;
    if (!check) {
      const hint = closest(key, Object.keys(checks));
      throw new ScenarioError(`${at}.${fieldName(key)}`, `unknown option${hint ? `; did you mean "${hint}"?` : "."} Allowed: ${Object.keys(checks).join(", ")}`);
    }
    if (value === undefined) continue;
    const problem = check(value);
    if (problem) throw new ScenarioError(`${at}.${key}`, problem);
  }
  return options as Record<string, unknown>;
}

/** A key as part of a field name: quoted when it would not read as one word. */
function fieldName(key: string): string {
  return /^[\w$-]+$/.test(key) ? key : JSON.stringify(key);
}

/** Plugin objects (RunOptions.plugins): each one checked as definePlugin checks it. */
function checkPlugins(v: unknown, at: string): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw new ScenarioError(at, `expected a list of plugins made with definePlugin, got ${typeName(v)}`);
  v.forEach((p, i) => {
    if (p === null || typeof p !== "object") throw new ScenarioError(`${at}.${i}`, `expected a plugin made with definePlugin({...}), got ${typeName(p)}`);
    try {
      definePlugin(p as LossPlugin);
    } catch (e) {
      if (e instanceof PluginError) throw new ScenarioError(`${at}.${i}`, e.message);
      throw e;
    }
  });
}

/** runScenario's and runPlan's options. */
export function checkRunOptions(options: unknown): void {
  const o = checkFields(options, RUN, "options");
  checkPlugins(o.plugins, "options.plugins");
}

/** A worker pool's per-run options (WorkerPool.run, BrowserPool.run, runOnPool). */
export function checkPoolRunOptions(options: unknown): void {
  checkFields(options, POOL_RUN, "options");
}

/** planScenario's overrides: seed, trace, and plugin objects, as runScenario takes them. */
export function checkPlanOptions(options: unknown): void {
  const o = checkFields(options, { seed: RUN.seed, trace: RUN.trace, plugins: () => undefined }, "options");
  checkPlugins(o.plugins, "options.plugins");
}

/** A pool's size (`workers`): a whole number of threads. */
export function checkWorkers(v: unknown, field = "options.workers"): number {
  const problem = whole(...LIMITS.workers)(v);
  if (problem) throw new ScenarioError(field, problem);
  return v as number;
}

/** A CLI flag's whole number (`--seed 7`), in its limits; undefined when the flag is absent. */
export function wholeFlag(flag: string, text: string | undefined, [lo, hi]: readonly [number, number]): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= lo && n <= hi) || (n > Number.MAX_SAFE_INTEGER)) {
    throw new ScenarioError(flag, `expected a whole number from ${lo} to ${hi}, got ${JSON.stringify(text)}`);
  }
  return n;
}

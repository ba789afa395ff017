// What a page imports (bundled to dist/browser/connsim.js): scenarios checked and
// planned here, runs in a pool of Web Workers that host the engine.

import "../plugins/index.js"; // the built-in plugins, by name, for planScenario

export { BrowserPool, runOnBrowserPool, type BrowserPoolOptions, type PoolRunOptions } from "../sdk/workers/browser-pool.js";
export { planScenario, ScenarioError, type Scenario, type Plan } from "../sdk/scenario.js";
export { PROFILES, PROFILE_NAMES, type Profile, type TcpKnobs } from "../sdk/profiles.js";
export { parseDuration } from "../sdk/units.js";
export type { Progress, SamplePoint } from "../sdk/run.js";
export type { Result, Trace, TraceState, TraceSegment, StateName } from "../sdk/result.js";

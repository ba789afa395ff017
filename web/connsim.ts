// What a page imports (`connsim/browser`, bundled to dist/browser/connsim.js): scenarios
// checked and planned here, runs in a pool of Web Workers that host the engine
// (dist/browser/worker.js, dist/browser/engine.wasm beside this module), the writers of
// the CLI's outputs that need no files, and the whole plugin API, so a page can define
// and register kernel plugins, and a hook plugin module (served at a URL, importing this
// module) can be named in a scenario by that URL.

import "../plugins/index.js"; // the built-in plugins, by name, for planScenario

export { BrowserPool, runOnBrowserPool, type BrowserPoolOptions, type PoolRunOptions } from "../sdk/workers/browser-pool.js";
export { planScenario, estimateEvents, ScenarioError, type Scenario, type Plan, type PlanOptions } from "../sdk/scenario.js";
export { loadPlugins } from "../sdk/plugin-loader.js";
export { PROFILES, PROFILE_NAMES, wheelTimer, type Profile, type TcpKnobs } from "../sdk/profiles.js";
export { parseDuration } from "../sdk/units.js";
export { VERSION, type Progress, type SamplePoint } from "../sdk/run.js";
export type { Result, Trace, TraceState, TraceSegment, StateName, FleetSummary } from "../sdk/result.js";
export { parseJsonText } from "../sdk/json-text.js";
export { summary } from "../sdk/report/summary.js";
export { seriesCsv } from "../sdk/report/csv.js";
export { pcapBytes } from "../sdk/report/pcap.js";
export { htmlReportWith, reportRanges } from "../sdk/report/html.js";
export { jsonChunks } from "../sdk/report/json.js";
export { checkExpectations, parseExpectation, type Expectation, type CheckOutcome } from "../sdk/expect.js";
export { parseVary, planSweep, runSweep, sweepTable, sweepCsv, type Vary, type SweepRow, type Value } from "../sdk/workers/sweep.js";
export * from "../sdk/plugins.js";

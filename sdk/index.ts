// connsim's public API. Everything a user or a plugin may import is exported here;
// the other modules of sdk/ are internals.

export { loadPlugins } from "./plugin-loader.js";
export { runScenario, runPlan, VERSION, type RunOptions, type Progress, type SamplePoint } from "./run.js";
export {
  definePlugin, registerPlugins, registeredPlugin, PluginError, z,
  type Plugin, type PluginKind, type LossPlugin, type PortAllocatorPlugin, type WorkloadPlugin,
  type LossHook, type LossBatch, type WorkloadHook, type WorkloadWindow, type WorkloadOutcomes, type PluginContext,
  type LossKernel, type LossRule, type AllocatorKernel, type WorkloadKernel, type SizeSpec, type ModulePlugin, fields,
} from "./plugins.js";
export { WorkerPool, type PoolOptions, type PoolRunOptions } from "./workers/pool.js";
export { runOnPool } from "./workers/parallel.js";
export { planScenario, scenarioJsonSchema, ScenarioError, type Scenario, type Plan, type PlanOptions } from "./scenario.js";
export type { Result, Trace, TraceState, TraceSegment, StateName, FleetSummary, WhyCounters } from "./result.js";
export { PROFILES, PROFILE_NAMES, wheelTimer, type Profile, type TcpKnobs } from "./profiles.js";
export { parseDuration } from "./units.js";
export { checkExpectations, parseExpectation, EXPECT_OPERATORS, type Expectation, type CheckOutcome } from "./expect.js";
export { snapshotScenario, type Snapshot, type HostSnapshot, type PortUse, type SnapshotOptions } from "./snapshot.js";
// What the CLI does, from code: sweeps (`connsim sweep`) and the files `connsim run` writes.
export {
  runSweep, planSweep, parseVary, sweepTable, sweepCsv, MAX_RUNS,
  type Vary, type Value, type SweepRow, type SweepOptions, type RunPool,
} from "./workers/sweep.js";
export { resultJson, seriesCsv, htmlReport, pcapBytes, type HtmlReportOptions } from "./report/outputs.js";

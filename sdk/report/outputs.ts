// The files `connsim run` writes, from code: each function gives the bytes its flag
// writes (--json, --csv, --html, --pcap), so a program that runs scenarios can keep the
// same artefacts without the CLI.

import { loadPlugins } from "../plugin-loader.js";
import type { Plugin } from "../plugins.js";
import type { Result } from "../result.js";
import { planScenario } from "../scenario.js";
import { htmlReportPieces, reportRanges } from "./html.js";
import { jsonChunks } from "./json.js";

export { seriesCsv } from "./csv.js";
export { pcapBytes } from "./pcap.js";

/** What --json writes: the result as JSON, two-space indented, and a newline. */
export function resultJson(result: Result): string {
  return [...jsonChunks(result, 2)].join("") + "\n";
}

export interface HtmlReportOptions {
  /** The plugin objects the run was given (RunOptions.plugins). */
  plugins?: Plugin[];
  /** Where the scenario's plugin paths are relative to (RunOptions.baseDir). */
  baseDir?: string;
}

/**
 * What --html writes: one self-contained page (no network) of a run of `scenario`. The
 * scenario is planned again, with the run's plugins, for each host's ephemeral range.
 */
export async function htmlReport(result: Result, scenario: unknown, options: HtmlReportOptions = {}): Promise<string> {
  const plan = planScenario(scenario, { plugins: await loadPlugins(scenario, options.plugins, options.baseDir) });
  return [...await htmlReportPieces(result, scenario, reportRanges(plan))].join("");
}

// The files `connsim run examples/default.json --trace 10 --json --csv --html --pcap`
// writes, from code: the same bytes for the same result.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { htmlReport, pcapBytes, resultJson, runScenario, seriesCsv } from "connsim";

const dir = process.argv[2] ?? "out/code";
const scenario = JSON.parse(readFileSync(new URL("../default.json", import.meta.url), "utf8"));
const result = await runScenario(scenario, { trace: 10 }); // traces for the pcap

mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "result.json"), resultJson(result));
writeFileSync(join(dir, "series.csv"), seriesCsv(result));
writeFileSync(join(dir, "report.html"), await htmlReport(result, scenario));
writeFileSync(join(dir, "trace.pcap"), pcapBytes(result.traces ?? []));
console.log(`wrote ${dir}: result.json, series.csv, report.html, trace.pcap`);

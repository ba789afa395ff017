// The study page (npm run web): pick or edit a scenario, check it as the CLI would while
// it is typed, run it in Web Workers with live charts, read the CLI's summary, download
// the CLI's outputs, sweep one or two fields. The engine runs only in the workers; this
// thread checks scenarios, draws and writes files. Everything comes from ./connsim.js,
// the package's browser entry (connsim/browser), served beside this file.

import {
  BrowserPool, estimateEvents, htmlReportWith, isModuleRef, jsonChunks, loadPlugins, parseJsonText, parseVary, pcapBytes, planScenario,
  reportRanges, runOnBrowserPool, runSweep, ScenarioError, seriesCsv, summary, sweepTable,
  type Plan, type Plugin, type Progress, type Result, type SweepRow, type Vary,
} from "../connsim.js";
import { addSamples, emptySeries, resultSeries, RunCharts, sweepChart, type Series } from "./charts.js";
import { el, JsonEditor } from "./editor.js";
import { locateField, syntaxSpot, type Spot } from "./locate.js";
import { decodeScenario, encodeScenario } from "./share.js";
import "uplot/dist/uPlot.min.css";
import "./app.css";

declare const __EXAMPLES__: [name: string, text: string][];

/** Connections traced for the pcap download when the scenario traces none (as `connsim run --pcap`). */
const PCAP_TRACE = 10;
/** Sweep runs drawn as charts; the table lists every run. */
const MAX_SWEEP_CHARTS = 48;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });

interface Checked { scenario: unknown; plan: Plan; plugins: Plugin[] }
interface Finished { result: Result; plan: Plan; scenario: unknown }

const pool = new BrowserPool({ workers: Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 8)) });
const charts = new RunCharts({ states: $("chart-states"), ports: $("chart-ports"), failures: $("chart-failures") });
const editor = new JsonEditor((text) => scheduleCheck(text));
$("editor-host").append(editor.root);

let running: AbortController | undefined;
let finished: Finished | undefined;
let checkToken = 0;
let checkTimer = 0;

/** For tests and the curious: the last run's result and plan, and the page's state. */
const page = { get finished() { return finished; }, pool };
(window as unknown as { connsimPage: typeof page }).connsimPage = page;

function setState(state: "idle" | "running" | "done" | "cancelled" | "failed" | "sweeping"): void {
  document.body.dataset.state = state;
  const busy = state === "running" || state === "sweeping";
  $<HTMLButtonElement>("run").disabled = busy;
  $<HTMLButtonElement>("sweep-run").disabled = busy;
  $<HTMLButtonElement>("cancel").disabled = !busy;
}

// ---- checking ---------------------------------------------------------------------------

function scheduleCheck(text: string): void {
  clearTimeout(checkTimer);
  checkTimer = window.setTimeout(() => { void check(text); }, 120);
}

/** Module plugins are named by URL, or by a path relative to the examples (as a scenario file's are to its folder). */
function withPluginUrls(scenario: unknown): unknown {
  const base = new URL("examples/", document.baseURI);
  return JSON.parse(JSON.stringify(scenario), (key, v) =>
    key === "plugin" && typeof v === "string" && isModuleRef(v) && !/^https?:/.test(v) ? new URL(v, base).href : v);
}

/** The CLI's check of the text: the same message, and its place in the text marked. */
async function check(text: string, share = true): Promise<Checked | undefined> {
  const token = ++checkToken;
  const parsed = parseJsonText(text);
  if ("error" in parsed) {
    problem(`the scenario is not valid JSON: ${parsed.error}`, syntaxSpot(text, parsed.error));
    return undefined;
  }
  try {
    const scenario = withPluginUrls(parsed.value);
    const plugins = await loadPlugins(scenario);
    const plan = planScenario(scenario, { plugins });
    if (token !== checkToken) return undefined; // an older text's answer
    problem(undefined);
    const events = estimateEvents(plan);
    $("check").textContent = `${plan.hosts.length} host${plan.hosts.length === 1 ? "" : "s"}, ${plan.workloads.length} workload${plan.workloads.length === 1 ? "" : "s"}, ${fmt(plan.duration / 1e6)} s simulated; about ${events < 1e6 ? fmt(Math.round(events / 1e3)) + " thousand" : fmt(events / 1e6) + " million"} events`;
    if (share) void shareInAddress(text);
    return { scenario, plan, plugins };
  } catch (e) {
    if (token !== checkToken) return undefined;
    const field = e instanceof ScenarioError ? e.field : undefined;
    problem((e as Error).message, field ? locateField(text, field) : undefined);
    return undefined;
  }
}

function problem(message: string | undefined, spot?: Spot): void {
  const box = $("problem");
  editor.mark(message ? spot : undefined);
  box.hidden = !message;
  box.textContent = "";
  $("check").hidden = !!message;
  if (!message) return;
  if (spot) {
    const where = el("button", "where", `line ${spot.line}, column ${spot.column}`);
    where.type = "button";
    where.title = "show it in the editor";
    where.addEventListener("click", () => editor.reveal());
    box.append(where, " ");
  }
  box.append(el("span", "message", message));
}

async function shareInAddress(text: string): Promise<void> {
  const hash = `#s=${await encodeScenario(text)}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

// ---- running ----------------------------------------------------------------------------

/**
 * A run or a sweep under way from the click on (the check may wait for plugin modules, and
 * a second click is not a second run), then the editor's scenario checked; undefined, back
 * to idle with the mistake shown, when it does not pass.
 */
async function begin(state: "running" | "sweeping"): Promise<{ controller: AbortController; checked: Checked } | undefined> {
  const controller = new AbortController();
  running = controller;
  setState(state);
  const checked = await check(editor.text);
  if (checked) return { controller, checked };
  running = undefined;
  setState("idle");
  editor.reveal();
  return undefined;
}

async function run(): Promise<void> {
  if (running) return;
  clearTimeout(checkTimer);
  finished = undefined;
  const begun = await begin("running");
  if (!begun) return;
  const { controller, checked } = begun;
  const { scenario } = checked;
  // A few connections traced for the pcap, as `connsim run --pcap` does; tracing changes no figure.
  const plan = checked.plan.trace > 0 ? checked.plan : { ...checked.plan, trace: PCAP_TRACE };
  showDownloads(false);
  $("summary").textContent = "";
  $("run-title").textContent = plan.name;
  const ranges = reportRanges(plan);
  charts.setRanges(ranges);
  const live: Series = emptySeries();
  const duration = plan.duration / 1e6;
  let failures = 0;
  const started = performance.now();
  const onProgress = (p: Progress) => {
    addSamples(live, p.samples);
    for (const s of p.samples) failures += s.failures;
    const last = p.samples.at(-1);
    stat("t", `${fmt(p.t)} s`, `of ${fmt(p.duration)} s`);
    stat("events", fmt(p.events), `${fmt(p.events / Math.max(0.001, (performance.now() - started) / 1000) / 1e6)} M/s`);
    if (last) {
      stat("tw", fmt(last.states.TIME_WAIT));
      stat("est", fmt(last.states.ESTABLISHED));
      stat("ports", fmt(Object.values(last.portsInUse).reduce((a, b) => a + b, 0)));
    }
    stat("failures", fmt(failures));
    $<HTMLProgressElement>("progress").value = p.duration > 0 ? p.t / p.duration : 1;
    charts.show(live, duration);
  };
  $("status").textContent = "running in a Web Worker…";
  // Slices of about 1% of the run (progress comes between them), not so small that the pauses cost.
  const sliceEvents = Math.round(Math.min(500_000, Math.max(20_000, estimateEvents(plan) / 100)));
  try {
    const result = await runOnBrowserPool(plan, pool, { onProgress, signal: controller.signal, sliceEvents });
    finished = { result, plan, scenario };
    charts.drawNow(resultSeries(result), duration);
    $<HTMLProgressElement>("progress").value = result.engine.simulatedSeconds / duration;
    $("summary").textContent = summary(result, plan);
    const e = result.engine;
    if (e.wallSeconds > 0) stat("events", fmt(e.events), `${fmt(e.events / e.wallSeconds / 1e6)} M/s in the worker`);
    showDownloads(true);
    const cancelled = result.error === "cancelled";
    $("status").textContent = cancelled ? `cancelled at t=${fmt(result.engine.simulatedSeconds)} s of ${fmt(duration)} s: the samples so far are kept`
      : result.error ? `stopped early: ${result.error}` : `done: ${fmt(result.engine.events)} events in ${result.engine.wallSeconds.toFixed(2)} s`;
    setState(cancelled ? "cancelled" : result.error ? "failed" : "done");
  } catch (e) {
    $("status").textContent = `the run failed: ${(e as Error).message}`;
    setState("failed");
  } finally {
    running = undefined;
  }
}

function stat(id: string, value: string, note = ""): void {
  const box = $(`stat-${id}`);
  box.querySelector(".value")!.textContent = value;
  box.querySelector(".note")!.textContent = note;
}

function resetStats(): void {
  for (const id of ["t", "events", "tw", "est", "ports", "failures"]) stat(id, "–");
  $<HTMLProgressElement>("progress").value = 0;
}

// ---- downloads --------------------------------------------------------------------------

function showDownloads(on: boolean): void {
  document.querySelectorAll<HTMLButtonElement>("#downloads button").forEach((b) => { b.disabled = !on; });
}

function save(name: string, parts: BlobPart[], type: string): void {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const a = el("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The file names the CLI's --out writes, after the scenario's name. */
const base = () => (finished?.result.name ?? "connsim").replace(/[^\w.-]+/g, "_");

async function download(kind: string): Promise<void> {
  if (!finished) return;
  const { result, plan, scenario } = finished;
  if (kind === "json") save(`${base()}.json`, [...jsonChunks(result, 2), "\n"], "application/json");
  if (kind === "csv") save(`${base()}.csv`, [seriesCsv(result)], "text/csv");
  if (kind === "pcap") save(`${base()}.pcap`, [pcapBytes(result.traces ?? []) as BlobPart], "application/vnd.tcpdump.pcap");
  if (kind === "html") {
    // The report's chart code and CSS, served beside the page (relative: any static host, offline).
    const [js, css] = await Promise.all(["report.js", "report.css"].map(async (f) => {
      const r = await fetch(new URL(f, document.baseURI));
      if (!r.ok) throw new Error(`cannot fetch ${f}: HTTP ${r.status}`);
      return r.text();
    }));
    save(`${base()}.html`, [...htmlReportWith(result, scenario, reportRanges(plan), js, css)], "text/html");
  }
}

// ---- sweeps -----------------------------------------------------------------------------

async function sweep(): Promise<void> {
  if (running) return;
  const box = $("sweep-problem");
  box.hidden = true;
  let varies: Vary[];
  try {
    varies = ["vary-1", "vary-2"].map((id) => $<HTMLInputElement>(id).value.trim()).filter(Boolean).map(parseVary);
    if (!varies.length) throw new Error('give a field and its values, e.g. "workloads.0.rate=50,100,200"');
  } catch (e) {
    box.hidden = false;
    box.textContent = (e as Error).message;
    return;
  }
  const begun = await begin("sweeping");
  if (!begun) return;
  const { controller, checked } = begun;
  const out = $("sweep-results");
  out.textContent = "";
  $("sweep-status").textContent = "checking every combination…";
  let rows: SweepRow[];
  try {
    rows = await runSweep(checked.scenario, varies, { run: (plan) => pool.run(plan, { signal: controller.signal }) }, {
      plugins: checked.plugins,
      onRun: (done, total) => { $("sweep-status").textContent = `${done} of ${total} runs done on ${pool.size} worker${pool.size === 1 ? "" : "s"}`; },
    });
  } catch (e) {
    box.hidden = false;
    box.textContent = (e as Error).message;
    $("sweep-status").textContent = "";
    setState("idle");
    running = undefined;
    return;
  }
  running = undefined;
  setState(controller.signal.aborted ? "cancelled" : "done");
  sweepResults(out, varies, rows);
}

function sweepResults(out: HTMLElement, varies: Vary[], rows: SweepRow[]): void {
  const table = sweepTable(varies, rows);
  const used = rows.some((r) => r.error) ? table[0].length : table[0].length - 1; // no error column when none failed
  const t = el("table", "sweep-table");
  const head = t.createTHead().insertRow();
  for (const h of table[0].slice(0, used)) head.append(el("th", undefined, h));
  const body = t.createTBody();
  for (const r of table.slice(1)) {
    const tr = body.insertRow();
    r.slice(0, used).forEach((cell, c) => tr.append(el(c < varies.length ? "th" : "td", undefined, /^\d+$/.test(cell) ? fmt(Number(cell)) : cell)));
  }
  const scroll = el("div", "table-scroll");
  scroll.append(t);
  const grid = el("div", "sweep-grid");
  for (const row of rows.slice(0, MAX_SWEEP_CHARTS)) {
    const fig = el("figure");
    fig.append(el("figcaption", undefined, Object.entries(row.values).map(([p, v]) => `${p} = ${v}`).join(", ")));
    const plot = el("div");
    fig.append(plot);
    grid.append(fig);
    if (row.result) requestAnimationFrame(() => sweepChart(plot, row.result!));
    else fig.append(el("p", "problem", row.error ?? "no result"));
  }
  const legend = el("p", "explain", "Each chart: TIME_WAIT (red), ESTABLISHED (green) and the ports in use of all hosts (dashed blue) over time.");
  out.append(el("h3", undefined, `Sweep: ${rows.length} run${rows.length === 1 ? "" : "s"}`), scroll, legend, grid);
  out.scrollIntoView({ behavior: "smooth", block: "start" });
  if (rows.length > MAX_SWEEP_CHARTS) out.append(el("p", "explain", `The first ${MAX_SWEEP_CHARTS} of ${rows.length} runs are drawn; the table has them all.`));
}

// ---- wiring -----------------------------------------------------------------------------

const select = $<HTMLSelectElement>("example");
for (const [name] of __EXAMPLES__) select.append(new Option(name, name));
select.addEventListener("change", () => {
  const found = __EXAMPLES__.find(([n]) => n === select.value);
  if (!found) return;
  editor.text = found[1];
  void check(found[1]);
});
$("run").addEventListener("click", () => { void run(); });
$("cancel").addEventListener("click", () => running?.abort());
$("sweep-run").addEventListener("click", () => { void sweep(); });
$("copy-link").addEventListener("click", async () => {
  await shareInAddress(editor.text);
  await navigator.clipboard?.writeText(location.href).catch(() => {});
  $("copy-link").textContent = "link copied";
  setTimeout(() => { $("copy-link").textContent = "Copy link"; }, 1500);
});
document.querySelectorAll<HTMLButtonElement>("#downloads button").forEach((b) => {
  b.addEventListener("click", () => { download(b.dataset.kind!).catch((e: Error) => { $("status").textContent = e.message; }); });
});
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); void run(); }
});

async function start(): Promise<void> {
  resetStats();
  showDownloads(false);
  setState("idle");
  // A shared link: its scenario, run at once (that is what the link is for).
  const shared = await decodeScenario(location.hash);
  if (shared !== undefined) {
    select.value = "";
    editor.text = shared;
    if (await check(shared, false)) void run();
    return;
  }
  if (location.hash) $("status").textContent = "the link's scenario could not be read; showing the default study";
  const [name, text] = __EXAMPLES__[0];
  select.value = name;
  editor.text = text;
  await check(text, false);
}

void start();

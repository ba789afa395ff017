// The study page (npm run web) in headless Chromium: served by scripts/web.mjs as a user
// gets it, the default study run in Web Workers and compared with runScenario in Node,
// the charts checked by their pixels, a long run cancelled with its samples kept, a
// mistake marked at its field with the CLI's message, a shared link that runs the same
// study again, the downloads equal to the CLI's writers, a sweep, a hook plugin by URL.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { planScenario, runScenario, ScenarioError, seriesCsv, pcapBytes, type Result } from "../sdk/index.js";
import { definePlugin, z } from "../sdk/plugins.js";
import type * as Connsim from "../web/connsim.js";
import { parseJsonText } from "../sdk/json-text.js";
import { summary } from "../sdk/report/summary.js";
import { comparable } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const requireChromium = process.env.CONNSIM_REQUIRE_CHROMIUM === "1";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_TEXT = readFileSync(join(ROOT, "examples/default.json"), "utf8");
const DEFAULT = JSON.parse(DEFAULT_TEXT);

type PageState = { connsimPage: { finished?: { result: Result } } };


/** The summary without its engine line (wall time). */
const steady = (text: string) => text.split("\n").filter((l) => !l.startsWith("  engine ")).join("\n");

/** Pixels of the chart's canvas that are not the background (uPlot paints on a transparent canvas). */
function inkedPixels(page: Page, id: string): Promise<number> {
  return page.evaluate((id) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#${id} canvas`);
    if (!canvas || !canvas.width) return 0;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && !(data[i] > 245 && data[i + 1] > 245 && data[i + 2] > 245)) n++;
    return n;
  }, id);
}

/** Pixels of one colour (a series' stroke, "#d62728" is TIME_WAIT) on the chart's canvas. */
function pixelsOf(page: Page, id: string, hex: string): Promise<number> {
  return page.evaluate(({ id, hex }) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`#${id} canvas`)!;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) < 8 && Math.abs(data[i + 1] - g) < 8 && Math.abs(data[i + 2] - b) < 8 && data[i + 3] > 200) n++;
    return n;
  }, { id, hex });
}

const finished = (page: Page) => page.evaluate(() => (window as unknown as PageState).connsimPage.finished!.result);
// The page is "running" (or "sweeping") from the click that starts a run on.
const settled = (page: Page) => page.waitForFunction(() => !["running", "sweeping"].includes(document.body.dataset.state ?? ""), null, { timeout: 30_000 });

/** Replaces the editor's text as a user would: select all, type (the page checks on input). */
async function setText(page: Page, text: string): Promise<void> {
  await page.locator("#scenario").fill(text);
}

describe.skipIf(!haveChromium && !requireChromium)("the study page in headless Chromium", () => {
  let server: ChildProcess | undefined;
  let url: string;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const requests: string[] = [];

  const open = async (address: string) => {
    const p = await context.newPage();
    p.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
    p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await p.goto(address);
    return p;
  };

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`Chromium is required (CONNSIM_REQUIRE_CHROMIUM=1) but ${CHROMIUM} is missing; apt-get install -y chromium`);
    if (!existsSync(join(ROOT, "dist/web/index.html"))) throw new Error("dist/web is missing; run npm run build");
    // `npm run web` as a user runs it (without building again: the test runs what was built).
    server = spawn(process.execPath, [join(ROOT, "scripts/web.mjs"), "--no-build"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      server!.stdout!.on("data", (d) => { out += d; const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out); if (m) resolve(m[0]); });
      server!.on("exit", (code) => reject(new Error(`scripts/web.mjs exited with ${code}: ${out}`)));
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    context.on("request", (r) => requests.push(r.url()));
    page = await open(url);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill();
  });

  test("serves static files with relative URLs and cross-origin isolation headers", async () => {
    const res = await fetch(url);
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(res.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
    const html = await res.text();
    expect(html.match(/(?:src|href)="[^"]*"/g)!.filter((a) => /="\/|="https?:/.test(a))).toEqual([]);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect((await fetch(new URL("engine.wasm", url))).headers.get("content-type")).toBe("application/wasm");
    expect((await fetch(new URL("../package.json", url))).status).toBe(404);
  });

  test("the default study runs in a worker: the totals and the summary are Node's, the charts are drawn", async () => {
    await page.waitForSelector("#check:not([hidden])");
    expect(await page.inputValue("#scenario")).toBe(DEFAULT_TEXT);
    await page.click("#run");
    await settled(page);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe("done");
    const result = await finished(page);
    const node = await runScenario(DEFAULT, { trace: 10 }); // the page traces 10 connections for the pcap, as --pcap does
    expect(result.totals).toEqual(node.totals);
    expect([result.totals.attempted, result.totals.completed, result.totals.failed.EADDRNOTAVAIL, result.peak.TIME_WAIT]).toEqual([12108, 2000, 10108, 1000]);
    expect(comparable(result)).toEqual(comparable(node));
    // The CLI's summary, analytic comparison included.
    const shown = await page.textContent("#summary");
    expect(steady(shown!)).toBe(steady(summary(node, planScenario(DEFAULT))));
    expect(shown).toMatch(/TIME_WAIT plateau\s+1,000\s+1,000/);
    // Drawn: each chart has ink, and the states chart has TIME_WAIT's red in it.
    for (const id of ["chart-states", "chart-ports", "chart-failures"]) expect(await inkedPixels(page, id), id).toBeGreaterThan(500);
    expect(await pixelsOf(page, "chart-states", "#d62728")).toBeGreaterThan(200);
    expect(await page.textContent("#stat-tw .value")).toBe("1,000");
    expect(problems).toEqual([]);
  });

  test("the downloads are the CLI's outputs of the run", async () => {
    const node = await runScenario(DEFAULT, { trace: 10 });
    const get = async (kind: string) => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click(`#downloads button[data-kind=${kind}]`)]);
      return { name: download.suggestedFilename(), bytes: readFileSync((await download.path())!) };
    };
    const json = await get("json");
    expect(json.name).toBe("port-exhaustion.json");
    expect(comparable(JSON.parse(json.bytes.toString("utf8")))).toEqual(comparable(node));
    expect((await get("csv")).bytes.toString("utf8")).toBe(seriesCsv(node));
    const pcap = await get("pcap");
    expect(pcap.bytes.equals(Buffer.from(pcapBytes(node.traces!)))).toBe(true);
    expect(node.traces!.length).toBe(10);
    const html = (await get("html")).bytes.toString("utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<title>port-exhaustion</title>");
    expect(html).toContain('<script type="application/json" id="connsim-data">');
  });

  test("a mistake typed in the editor shows the CLI's message at its field; a syntax error its line and column", async () => {
    const bad = DEFAULT_TEXT.replace('"10.0.0.1"', '"10.0.0.300"');
    let expected = "";
    try { planScenario(JSON.parse(bad)); } catch (e) { expected = (e as ScenarioError).message; }
    expect(expected).toMatch(/^scenario\.hosts\.client\.ip: /);
    // Typed, key by key, into the field's value.
    const at = DEFAULT_TEXT.indexOf('"10.0.0.1"') + '"10.0.0.'.length;
    await page.locator("#scenario").focus();
    await page.evaluate((at) => document.querySelector<HTMLTextAreaElement>("#scenario")!.setSelectionRange(at, at + 1), at);
    await page.keyboard.type("300");
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.textContent("#problem .message")).toBe(expected);
    const line = DEFAULT_TEXT.slice(0, at).split("\n").length;
    expect(await page.textContent("#problem .where")).toMatch(new RegExp(`^line ${line}, column \\d+$`));
    expect(await page.textContent("mark.field-error")).toBe('"ip": "10.0.0.300"');
    expect(await page.textContent(".gutter .bad")).toBe(String(line));

    // A field that is missing is marked at its object; an unknown one at its key.
    await setText(page, DEFAULT_TEXT.replace('"sample"', '"sampel"'));
    await page.waitForFunction(() => document.querySelector("#problem .message")?.textContent?.includes("sampel"));
    expect(await page.textContent("#problem .message")).toBe('scenario.sampel: unknown field; did you mean "sample"? Allowed: name, description, seed, duration, sample, profile, trace, hosts, links, workloads, expect, variant, vary');
    expect(await page.textContent("mark.field-error")).toBe('"sampel": "1s"');

    const broken = DEFAULT_TEXT.replace('"seed": 1,', '"seed": 1');
    const parsed = parseJsonText(broken) as { error: string };
    await setText(page, broken);
    await page.waitForFunction(() => document.querySelector("#problem .message")?.textContent?.startsWith("the scenario is not valid JSON"));
    expect(await page.textContent("#problem .message")).toBe(`the scenario is not valid JSON: ${parsed.error}`);
    expect(await page.textContent(".gutter .bad")).toBe(/^line (\d+)/.exec(parsed.error)![1]);

    await setText(page, DEFAULT_TEXT);
    await page.waitForSelector("#problem", { state: "hidden" });
    expect(await page.$("mark.field-error")).toBeNull();
  });

  test("a shared link holds the scenario and runs it again: the same totals", async () => {
    const edited = DEFAULT_TEXT.replace('"seed": 1', '"seed": 7').replace('"duration": "120s"', '"duration": "30s"');
    const before = await page.evaluate(() => location.hash);
    await setText(page, edited);
    // The address follows the text once it checks.
    await page.waitForFunction((before) => document.querySelector("#check")?.textContent?.includes("30 s simulated") && location.hash !== before, before);
    const link = page.url();
    expect(link).toMatch(/#s=[A-Za-z0-9_-]+$/);
    const other = await open(link);
    await other.waitForFunction(() => ["done", "failed", "cancelled"].includes(document.body.dataset.state ?? ""), null, { timeout: 30_000 });
    expect(await other.inputValue("#scenario")).toBe(edited);
    const result = await finished(other);
    const node = await runScenario(JSON.parse(edited), { trace: 10 });
    expect(result.seed).toBe(7);
    expect(comparable(result)).toEqual(comparable(node));
    await other.close();
    expect(problems).toEqual([]);
  });

  test("cancel stops a long run and keeps its samples; the page answers while it runs", async () => {
    const long = JSON.stringify({ ...DEFAULT, name: "long", duration: "100000s", sample: "10s", workloads: [{ ...DEFAULT.workloads[0], rate: 2000 }] }, null, 2);
    await setText(page, long);
    await page.waitForFunction(() => document.querySelector("#check")?.textContent?.includes("100,000 s simulated"));
    await page.click("#run");
    // Samples stream in: the live figures and the chart move before the end.
    await page.waitForFunction(() => Number(document.querySelector<HTMLProgressElement>("#progress")!.value) > 0.001, null, { timeout: 30_000 });
    expect(await page.evaluate(() => document.body.dataset.state)).toBe("running");
    await page.waitForFunction(() => (document.querySelector("#stat-tw .value")?.textContent ?? "–") !== "–");
    expect(await inkedPixels(page, "chart-states")).toBeGreaterThan(100);
    // The main thread is free: a mistake typed now is checked now.
    await page.locator("#scenario").press("End");
    await page.keyboard.type("x");
    await page.waitForSelector("#problem:not([hidden])");
    expect(await page.evaluate(() => document.body.dataset.state)).toBe("running");
    await page.click("#cancel");
    await settled(page);
    expect(await page.evaluate(() => document.body.dataset.state)).toBe("cancelled");
    const result = await finished(page);
    expect(result.error).toBe("cancelled");
    expect(result.series.t.length).toBeGreaterThan(0);
    expect(result.series.t.length).toBeLessThan(100000 / 10);
    expect(result.totals.attempted).toBeGreaterThan(0);
    expect(await page.textContent("#status")).toMatch(/^cancelled at t=[\d,.]+ s of 100,000 s: the samples so far are kept$/);
    expect(await page.textContent("#summary")).toMatch(/stopped +at t=[\d,.]+ s of 100,000 s \(cancelled\)/);
    expect(await inkedPixels(page, "chart-states")).toBeGreaterThan(100);
    await setText(page, DEFAULT_TEXT);
  });

  test("a sweep of one field: a chart per value and the CLI's table", async () => {
    await setText(page, DEFAULT_TEXT.replace('"duration": "120s"', '"duration": "20s"'));
    await page.click("#sweep summary");
    await page.fill("#vary-1", "workloads.0.rate=10,50");
    await page.fill("#vary-2", "hosts.client.tcp.timeWait=5s,60s");
    await page.click("#sweep-run");
    await settled(page);
    const rows = await page.$$eval(".sweep-table tr", (trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)));
    expect(rows[0].slice(0, 4)).toEqual(["workloads.0.rate", "hosts.client.tcp.timeWait", "attempted", "established"]);
    expect(rows.length).toBe(5);
    const base = { ...DEFAULT, duration: "20s" };
    for (const [i, [rate, tw]] of [[10, "5s"], [10, "60s"], [50, "5s"], [50, "60s"]].entries()) {
      const s = structuredClone(base);
      s.workloads[0].rate = rate;
      s.hosts.client.tcp = { timeWait: tw };
      const r = await runScenario(s);
      expect(rows[i + 1].slice(0, 3), `rate ${rate}, timeWait ${tw}`).toEqual([String(rate), tw, r.totals.attempted.toLocaleString("en-US")]);
    }
    expect(await page.locator(".sweep-grid figure").count()).toBe(4);
    const ink = await page.$$eval(".sweep-grid canvas", (cs) => cs.map((c) => {
      const { data } = (c as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    }));
    expect(ink.every((n) => n > 200)).toBe(true);
  });

  test("a hook plugin module named by URL runs in the page's workers: Node's result", async () => {
    await page.selectOption("#example", "flash-crowd");
    await page.waitForSelector("#check:not([hidden])");
    await page.click("#run");
    await settled(page);
    const result = await finished(page);
    const scenario = JSON.parse(readFileSync(join(ROOT, "examples/flash-crowd.json"), "utf8"));
    const node = await runScenario(scenario, { trace: 10, baseDir: join(ROOT, "examples") });
    expect(result.name).toBe(scenario.name);
    expect(result.totals).toEqual(node.totals);
    expect(result.totals.attempted).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  test("nothing was fetched from anywhere but the page's server", () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith(url) && !u.startsWith("blob:") && !u.startsWith("data:"))).toEqual([]);
  });
});

/** README's browser snippet: the html block of its "In the browser" section. */
function readmeSnippet(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## In the browser"));
  return /```html\n([\s\S]*?)```/.exec(section)![1];
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

/** A user's page: README's snippet at /, the package as installed under /node_modules/connsim/ (the files it ships). */
function userSite(index: string): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (path === "/") { res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html>\n<meta charset="utf-8">\n<link rel="icon" href="data:,">\n${index}`); return; }
    const m = /^\/node_modules\/connsim\/((?:dist|examples)\/[\w./-]+)$/.exec(path);
    const file = m && !m[1].includes("..") ? join(ROOT, m[1]) : undefined;
    if (!file || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": TYPES[/\.\w+$/.exec(file)![0]] ?? "application/octet-stream" }).end(readFileSync(file));
  });
}

describe.skipIf(!haveChromium && !requireChromium)("connsim/browser in a page of one's own (headless Chromium)", () => {
  let server: Server;
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`Chromium is required (CONNSIM_REQUIRE_CHROMIUM=1) but ${CHROMIUM} is missing`);
    for (const f of ["dist/browser/connsim.js", "dist/browser/worker.js", "dist/browser/engine.wasm"]) {
      if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing; run npm run build`);
    }
    server = userSite(readmeSnippet());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
    page = await browser.newPage();
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined));
  });

  test("README's snippet runs the default study and prints the CLI's summary", async () => {
    await page.waitForFunction(() => document.body.textContent?.includes("engine "), null, { timeout: 30_000 });
    const node = await runScenario(DEFAULT);
    expect(steady(await page.evaluate(() => document.body.textContent!))).toBe(steady(summary(node, planScenario(DEFAULT))));
    expect(problems).toEqual([]);
  });

  test("a kernel plugin defined in the page with the module's plugin API runs in its workers", async () => {
    const scenario = { ...DEFAULT, duration: "20s", links: [{ ...DEFAULT.links[0], loss: { plugin: "lossy", percent: 20 } }] };
    await page.addScriptTag({ type: "module", content: 'import * as connsim from "./node_modules/connsim/dist/browser/connsim.js"; window.connsim = connsim;' });
    await page.waitForFunction(() => "connsim" in window);
    const totals = await page.evaluate(async (scenario) => {
      const { connsim } = window as unknown as { connsim: typeof Connsim };
      connsim.registerPlugins(connsim.definePlugin({
        kind: "loss", name: "lossy", version: "1.0.0",
        options: connsim.z.strictObject({ percent: connsim.z.number().min(0).max(100) }),
        kernel: ({ percent }) => ({ model: "bernoulli", p: percent / 100 }),
      }));
      const pool = new connsim.BrowserPool({ workers: 1 });
      const result = await connsim.runOnBrowserPool(connsim.planScenario(scenario), pool);
      await pool.close();
      return result.totals;
    }, scenario);
    const lossy = definePlugin({
      kind: "loss", name: "lossy", version: "1.0.0",
      options: z.strictObject({ percent: z.number().min(0).max(100) }),
      kernel: ({ percent }) => ({ model: "bernoulli", p: percent / 100 }),
    });
    const node = await runScenario(scenario, { plugins: [lossy] });
    expect(node.totals.segments.dropped).toBeGreaterThan(0);
    expect(totals).toEqual(node.totals);
    expect(problems).toEqual([]);
  });
});

// The worker API in browser module Web Workers: a page imports dist/browser/connsim.js
// from a local HTTP server (file:// cannot fetch the engine), runs plans on a
// BrowserPool in headless Chromium, and gets what runPlan gives in Node; progress
// streams, cancellation keeps the samples so far, a failed worker is replaced.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, extname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { planScenario, runPlan, type Result, type Scenario } from "../sdk/index.js";
import type * as Connsim from "../web/connsim.js";
import { comparable } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const requireChromium = process.env.CONNSIM_REQUIRE_CHROMIUM === "1";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** n independent client/server pairs with loss and Poisson arrivals (n shards). */
function pairs(n: number, duration: string): Scenario {
  const hosts: Scenario["hosts"] = {};
  const links: Scenario["links"] = [];
  const workloads: Scenario["workloads"] = [];
  for (let i = 0; i < n; i++) {
    hosts[`c${i}`] = { ip: `10.0.${i}.1`, ports: "40000-40499", tcp: { timeWait: "5s" } };
    hosts[`s${i}`] = { ip: `10.0.${i}.2`, listen: [{ port: 80 }] };
    links.push({ between: [`c${i}`, `s${i}`], latency: `${i + 1}ms`, loss: { plugin: "bernoulli", p: 0.02 * (i + 1) } });
    workloads.push({ plugin: "tcp-churn", from: `c${i}`, to: `s${i}:80`, rate: 60 + 40 * i, request: 2000, response: 20000 });
  }
  return { name: `pairs-${n}`, seed: 5, duration, sample: "250ms", hosts, links, workloads };
}


const PAGE = `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>connsim in Web Workers</title>
<script type="module">
  import * as connsim from "/dist/browser/connsim.js";
  window.connsim = connsim;
  window.pool = new connsim.BrowserPool({ workers: 2, workerUrl: "/dist/browser/worker.js", engineUrl: "/build/engine.wasm" });
</script>
`;

// A worker that throws, uncaught, when handed a plan named "crash", before the engine
// sees it: its listener is registered first (imports run in order), and stops the
// message there.
const CRASH_GUARD = `self.addEventListener("message", (event) => {
  const plan = event.data?.argumentList?.[0]?.value;
  if (event.data?.path?.[0] === "run" && plan?.name === "crash") {
    event.stopImmediatePropagation();
    throw new Error("injected crash");
  }
});
`;
const CRASH_WORKER = `import "/crash-guard.js";
import "/dist/browser/worker.js";
`;

const TYPES: Record<string, string> = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

/** Serves the generated pages and the repository's dist/ and build/, nothing else. */
function serve(pages: Record<string, string>, served: string[]): Server {
  return createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    served.push(path);
    let body: string | Buffer | undefined = pages[path];
    const top = path.split("/")[1];
    const file = join(ROOT, decodeURIComponent(path));
    if (body === undefined && (top === "dist" || top === "build") && file.startsWith(join(ROOT, top) + sep)) {
      body = await readFile(file).catch(() => undefined);
    }
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    // Cross-origin isolated, as `npm run web` serves the page: SharedArrayBuffer for a split run.
    res.writeHead(200, {
      "content-type": TYPES[extname(path)] ?? "application/octet-stream",
      "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp",
    }).end(body);
  });
}

interface Run { plan: Connsim.Plan; result: Result; reports: { t: number; samples: { t: number; TIME_WAIT: number }[] }[] }
type PageGlobals = { connsim: typeof Connsim; pool: Connsim.BrowserPool };

/** Plans the scenario in the page and runs it on the page's pool (sharded when it splits). */
function runInPage(page: Page, scenario: Scenario, sliceEvents: number): Promise<Run> {
  return page.evaluate(async ({ scenario, sliceEvents }) => {
    const { connsim, pool } = window as unknown as PageGlobals;
    const plan = connsim.planScenario(scenario);
    const reports: Run["reports"] = [];
    const result = await connsim.runOnBrowserPool(plan, pool, {
      sliceEvents,
      onProgress: (p) => { reports.push({ t: p.t, samples: p.samples.map((s) => ({ t: s.t, TIME_WAIT: s.states.TIME_WAIT })) }); },
    });
    return { plan, result, reports };
  }, { scenario, sliceEvents });
}

describe.skipIf(!haveChromium && !requireChromium)("the worker API in browser Web Workers (headless Chromium)", () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let origin: string;
  const served: string[] = [];
  const problems: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(`Chromium is required (CONNSIM_REQUIRE_CHROMIUM=1) but ${CHROMIUM} is missing; apt-get install -y chromium`);
    }
    for (const f of ["dist/browser/connsim.js", "dist/browser/worker.js", "build/engine.wasm"]) {
      if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing; run npm run build`);
    }
    server = serve({ "/index.html": PAGE, "/crash-worker.js": CRASH_WORKER, "/crash-guard.js": CRASH_GUARD }, served);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const context = await browser.newContext();
    context.on("request", (r) => requests.push(r.url()));
    page = await context.newPage();
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${origin}/index.html`);
    await page.waitForFunction(() => "pool" in window);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined));
  });

  test("two independent pairs shard over both workers and give runPlan's result", async () => {
    const scenario = pairs(2, "20s");
    const { plan, result, reports } = await runInPage(page, scenario, 5000);
    const nodePlan = planScenario(scenario);
    expect(plan).toEqual(nodePlan); // the bundle's planScenario is the SDK's
    const expected = await runPlan(nodePlan);
    expect(expected.totals.segments.dropped).toBeGreaterThan(0);
    expect(result.engine.workers).toBe(2);
    expect(comparable(result)).toEqual(comparable(expected));

    // every sample streamed once, in order, summed over the shards
    expect(reports.length).toBeGreaterThan(1);
    const streamed = reports.flatMap((r) => r.samples);
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed.map((s) => s.t)).toEqual(expected.series.t);
    expect(streamed.map((s) => s.TIME_WAIT)).toEqual(expected.series.states.TIME_WAIT);
    expect(problems).toEqual([]);
  });

  test("a connected scenario splits over both workers in step (SharedArrayBuffer, Atomics.wait in Web Workers) and gives runPlan's result", async () => {
    const scenario: Scenario = {
      name: "joined", seed: 9, duration: "3s", sample: "250ms", trace: 10,
      hosts: { a: { ip: "10.0.0.1" }, b: { ip: "10.0.0.2" }, s: { ip: "10.0.0.3", listen: [{ port: 80 }] }, t: { ip: "10.0.0.4", listen: [{ port: 80 }] } },
      links: [{ between: ["a", "s"], latency: "1ms", loss: { plugin: "bernoulli", p: 0.02 } }, { between: ["b", "t"], latency: "1ms" }, { between: ["a", "t"], latency: "3ms" }],
      workloads: [{ plugin: "tcp-churn", from: "a", to: "s:80", rate: 300 }, { plugin: "tcp-churn", from: "b", to: "t:80", rate: 300 }, { plugin: "tcp-churn", from: "a", to: "t:80", rate: 50 }],
    };
    const result = await page.evaluate(async (scenario) => {
      const { connsim, pool } = window as unknown as PageGlobals;
      return connsim.runOnBrowserPool(connsim.planScenario(scenario), pool, { splitEvents: 0 });
    }, scenario);
    const expected = await runPlan(planScenario(scenario));
    expect(result.engine.workers).toBe(2);
    expect(result.engine.split!.lookaheadUs).toBe(3000);
    expect(comparable(result)).toEqual(comparable(expected));
    expect(problems).toEqual([]);
  });

  test("one pair runs on one worker and gives runPlan's result", async () => {
    const scenario = pairs(1, "20s");
    const { result, reports } = await runInPage(page, scenario, 20_000);
    const expected = await runPlan(planScenario(scenario));
    expect(result.engine.workers).toBe(1);
    expect(comparable(result)).toEqual(comparable(expected));
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.flatMap((r) => r.samples.map((s) => s.t))).toEqual(expected.series.t);
    expect(problems).toEqual([]);
  });

  test("an AbortSignal fired at the first progress report cancels the run; the worker goes on", async () => {
    const { result, streamed, planned, after } = await page.evaluate(async (scenario) => {
      const { connsim, pool } = window as unknown as PageGlobals;
      const plan = connsim.planScenario(scenario);
      const controller = new AbortController();
      let streamed = 0;
      const result = await connsim.runOnBrowserPool(plan, pool, {
        sliceEvents: 2000, signal: controller.signal,
        onProgress: (p) => { streamed += p.samples.length; controller.abort(); },
      });
      const after = await pool.run({ ...plan, duration: 1e6 }); // a later run is not cancelled
      return { result, streamed, planned: plan.duration / plan.sample, after: after.error ?? "none" };
    }, pairs(1, "3600s"));
    expect(result.error).toBe("cancelled");
    expect(result.series.t.length).toBeLessThan(planned);
    expect(result.series.t.length).toBeLessThanOrEqual(streamed);
    expect(after).toBe("none");
    expect(problems).toEqual([]);
  });

  test("a worker that fails fails its own run, naming it, and is replaced", async () => {
    const messages = await page.evaluate(async (scenario) => {
      const { connsim } = window as unknown as PageGlobals;
      const pool = new connsim.BrowserPool({ workers: 1, workerUrl: "/crash-worker.js", engineUrl: "/build/engine.wasm" });
      const plan = connsim.planScenario(scenario);
      const runs = [{ ...plan, name: "crash" }, plan].map((p) => pool.run(p).then((r) => `ok ${r.name}`, (e: Error) => e.message));
      const out = await Promise.all(runs);
      await pool.close();
      return out;
    }, pairs(1, "5s"));
    expect(messages[0]).toMatch(/^worker 0 failed while running "crash": .*injected crash/);
    expect(messages[1]).toBe("ok pairs-1");
    expect(problems).toEqual([]);
  });

  test("a worker script that does not load fails the run, saying so", async () => {
    const message = await page.evaluate(async (scenario) => {
      const { connsim } = window as unknown as PageGlobals;
      const pool = new connsim.BrowserPool({ workers: 1, workerUrl: "/dist/browser/missing.js", engineUrl: "/build/engine.wasm" });
      const out = await pool.run(connsim.planScenario(scenario)).then(() => "ok", (e: Error) => e.message);
      await pool.close();
      return out;
    }, pairs(1, "5s"));
    expect(message).toMatch(/^worker 0 failed while running "pairs-1": its script did not load$/);
  });

  test("nothing was fetched from anywhere but the local server", () => {
    expect(served).toEqual(expect.arrayContaining(["/index.html", "/dist/browser/connsim.js", "/dist/browser/worker.js", "/build/engine.wasm"]));
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
  });
});

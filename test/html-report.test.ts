// The --html report: one self-contained file holding the study's data, and (in headless
// Chromium, when installed) charts that really render without any network request.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { beforeAll, describe, expect, test } from "vitest";
import { planScenario, runScenario, type Result } from "../sdk/index.js";
import { htmlPage } from "../sdk/report/html.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const requireChromium = process.env.CONNSIM_REQUIRE_CHROMIUM === "1";

// The default study: the client's 1000 ports run out, connect() fails with EADDRNOTAVAIL.
const scenario = JSON.parse(readFileSync(new URL("../examples/default.json", import.meta.url), "utf8"));
let result: Result;
let ranges: Record<string, number>;
let html: string;

beforeAll(async () => {
  result = await runScenario(scenario);
  ranges = Object.fromEntries(planScenario(scenario).hosts.map((h) => [h.name, h.ports[1] - h.ports[0] + 1]));
  html = await htmlPage(result, scenario, ranges);
});

function embedded(page: string): { result: Result; scenario: unknown; ranges: Record<string, number> } {
  const m = /<script type="application\/json" id="connsim-data">([^]*?)<\/script>/.exec(page);
  expect(m, "the embedded data script").not.toBeNull();
  return JSON.parse(m![1]);
}

describe("html report: the file", () => {
  test("is one document that references nothing outside itself", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html.match(/<\/html>/g)).toHaveLength(1);
    // no attribute may load anything: no src=, no href= other than a fragment
    expect(html).not.toMatch(/\ssrc\s*=/i);
    expect(html).not.toMatch(/\shref\s*=\s*["']?(?!#)/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    // the chart code and its CSS are inlined
    expect(html).toContain("<style>\n.uplot");
    expect(html).toMatch(/<script>\n\/\*! uPlot 1\.6\.32/);
  });

  test("embeds the study's data, the scenario and the ranges", () => {
    const data = embedded(html);
    expect(data.result.series).toEqual(result.series);
    expect(data.result.totals).toEqual(result.totals);
    expect(data.result.peak).toEqual(result.peak);
    expect(data.scenario).toEqual(scenario);
    expect(data.ranges).toEqual({ client: 1000, server: 60999 - 32768 + 1 });
    // a port-exhaustion study: the client's line reaches its range
    expect(Math.max(...data.result.series.portsInUse.client)).toBe(1000);
  });

  test("is titled with the scenario name and shows totals, peaks and the scenario", () => {
    expect(html).toContain("<title>port-exhaustion</title>");
    expect(html).toContain("<h1>port-exhaustion</h1>");
    expect(html).toContain(`<th>failed EADDRNOTAVAIL</th><td>${result.totals.failed.EADDRNOTAVAIL.toLocaleString("en-US")}</td>`);
    expect(html).toContain(`<th>TIME_WAIT</th><td>1,000</td>`);
    expect(html).toContain("<th>client</th><td>1,000 (100% of 1,000)</td>");
    expect(html).toContain("&#34;name&#34;: &#34;port-exhaustion&#34;,");
  });

  test("text from the scenario cannot break out of its element", async () => {
    const name = "</script><script>alert(1)</script><!--";
    const page = await htmlPage({ ...result, name }, { ...scenario, name }, ranges);
    expect(page.match(/<script/gi)).toHaveLength(2);
    expect(page.match(/<\/script>/gi)).toHaveLength(2);
    expect(page).toContain("<title>&#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;!--</title>");
    expect(embedded(page).result.name).toBe(name);
  });

  test("leaves the traces out (they belong to --json and --pcap)", async () => {
    const page = await htmlPage({ ...result, traces: [] }, scenario, ranges);
    expect(embedded(page).result).not.toHaveProperty("traces");
  });
});

describe.skipIf(!haveChromium && !requireChromium)("html report: rendered in headless Chromium", () => {
  test("draws every chart, without errors or network requests", async () => {
    if (!haveChromium) {
      throw new Error(`Chromium is required (CONNSIM_REQUIRE_CHROMIUM=1) but ${CHROMIUM} is missing; apt-get install -y chromium`);
    }
    const dir = mkdtempSync(join(tmpdir(), "connsim-html-"));
    const file = join(dir, "report.html");
    writeFileSync(file, html);
    const url = pathToFileURL(file).href;

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });

      await page.goto(url);
      // one state chart and one ports chart per host, one failures chart
      const expected = Object.keys(result.series.byHost).length * 2 + 1;
      await page.waitForFunction((n) => document.querySelectorAll(".uplot canvas").length === n, expected);

      // grids and axes are grey: count the coloured pixels, which only plotted series draw
      const coloured = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLCanvasElement>(".uplot canvas"), (c) => {
        const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 40) n++;
        }
        return n;
      }));
      expect(coloured).toHaveLength(expected);
      for (const n of coloured) expect(n).toBeGreaterThan(200);

      const legends = await page.locator("#states figure").first().locator(".u-legend th").allTextContents();
      expect(legends).toContain("TIME_WAIT");
      expect(await page.locator("#failures .u-legend th").allTextContents()).toEqual(
        expect.arrayContaining(["EADDRNOTAVAIL", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "EADDRINUSE"]));

      const shot = join(dir, "report.png");
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`html report screenshot: ${shot}`);

      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

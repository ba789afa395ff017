// Remakes the README's pictures (docs/img/*.png) from real runs: each study's HTML report,
// drawn by headless Chromium, cut down to the charts that tell its story.
//   node scripts/build.mjs && node scripts/screenshots.mjs
// CHROMIUM=/path/to/chromium picks the browser (default /usr/bin/chromium).

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const root = new URL("..", import.meta.url).pathname;

// Each picture: a study, and the charts to keep ("<section>:<host>", or the section alone).
const pictures = [
  { png: "default.png", scenario: "examples/default.json", keep: ["states:client", "failures"] },
  { png: "reconnect-storm.png", scenario: "examples/reconnect-storm.json", keep: ["states:server", "failures"] },
];

const tmp = mkdtempSync(join(tmpdir(), "connsim-shots-"));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
try {
  for (const { png, scenario, keep } of pictures) {
    const html = join(tmp, png.replace(/\.png$/, ".html"));
    execFileSync(process.execPath, [join(root, "bin/connsim.mjs"), "run", join(root, scenario), "--quiet", "--workers", "1", "--html", html], { stdio: "inherit" });
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    await page.goto(pathToFileURL(html).href);
    await page.waitForSelector(".uplot canvas");
    await page.evaluate((keep) => {
      // Hide every section and chart not kept; the title and the run's one-line summary stay.
      const sections = ["states", "ports", "failures"];
      for (const h of document.querySelectorAll("body > *")) {
        if (h.matches("h1, p.meta, p.error")) continue;
        if (h.matches("h2") && sections.some((s) => keep.some((k) => k.split(":")[0] === s) && h.nextElementSibling?.nextElementSibling?.id === s)) continue;
        if (h.matches("div") && keep.some((k) => k.split(":")[0] === h.id)) continue;
        h.style.display = "none";
      }
      for (const id of sections) {
        for (const fig of document.querySelectorAll(`#${id} > figure`)) {
          const host = fig.querySelector("figcaption")?.textContent;
          if (host && !keep.includes(`${id}:${host}`) && !keep.includes(id)) fig.style.display = "none";
        }
      }
      dispatchEvent(new Event("resize"));
    }, keep);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const out = join(root, "docs/img", png);
    await page.screenshot({ path: out, fullPage: true });
    await page.close();
    console.log(`wrote docs/img/${png} (${Math.round(statSync(out).size / 1024)} KB)`);
  }
} finally {
  await browser.close();
  rmSync(tmp, { recursive: true, force: true });
}

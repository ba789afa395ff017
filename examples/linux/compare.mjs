// "How close to Linux": replays the kernel run c_reuse0_p1000 and draws the simulated and
// the kernel's TIME_WAIT count on one chart (an SVG, no dependencies).
//
//   node examples/linux/compare.mjs [out.svg]      (default out/linux-compare.svg)

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runScenario } from "connsim";

const HERE = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? "out/linux-compare.svg";
const scenario = JSON.parse(readFileSync(join(HERE, "c_reuse0_p1000.json"), "utf8"));
const r = await runScenario({ ...scenario, trace: 0 });
const [head, ...rows] = readFileSync(join(HERE, "../../test/fixtures/linux-reference/c_reuse0_p1000.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
const col = (name) => rows.map((row) => Number(row[head.indexOf(name)]));

const series = [
  { name: "Linux 6.18 (tw_sockstat)", color: "#d62728", t: col("t"), y: col("tw_sockstat") },
  { name: "connsim (TIME_WAIT)", color: "#1f77b4", t: r.series.t, y: r.series.byHost.client.TIME_WAIT },
];
const W = 900, H = 360, L = 60, B = 40, T = 30, R = 20;
const x = (t) => L + (t / 130) * (W - L - R);
const y = (v) => H - B - (v / 1100) * (H - B - T);
const line = (s) => s.t.map((t, i) => `${i ? "L" : "M"}${x(t).toFixed(1)},${y(s.y[i]).toFixed(1)}`).join("");
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<text x="${L}" y="18">TIME_WAIT sockets, 1000 ports, tcp_tw_reuse 0: ports come back in chunks 2.048 s apart, 60.0-62.05 s after close</text>`,
  ...[0, 20, 40, 60, 80, 100, 120].map((t) => `<text x="${x(t)}" y="${H - B + 16}" text-anchor="middle">${t} s</text>`),
  ...[0, 500, 1000].map((v) => `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text><line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`),
  ...series.map((s, i) => `<path d="${line(s)}" fill="none" stroke="${s.color}" stroke-width="${i ? 1.2 : 2.5}"/>` +
    `<text x="${W - R - 220}" y="${T + 40 + 16 * i}" fill="${s.color}">${s.name}</text>`),
  `</svg>`,
].join("\n");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, svg);
console.log(`wrote ${out}: completed ${r.totals.completed} (kernel 3000), TIME_WAIT at most ${r.peak.TIME_WAIT} (kernel 1000)`);

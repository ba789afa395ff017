// The charts of an HTML report (sdk/report/html.ts): reads the study embedded in the
// page and draws it with uPlot. Bundled to dist/report.js + dist/report.css.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./report.css";
import type { NatResult, Result, StateName } from "../sdk/result.js";

export interface ReportData {
  result: Omit<Result, "traces">;
  scenario: unknown;
  /** host -> number of ephemeral ports it may use */
  ranges: Record<string, number>;
}

// Stacking order, bottom to top; TIME_WAIT is the one the reader looks for, so it is the
// only warm, saturated colour on the state charts.
const STATE_COLOURS: Record<StateName, string> = {
  CLOSED: "#9e9e9e",
  LISTEN: "#7986cb",
  SYN_SENT: "#4fc3f7",
  SYN_RCVD: "#0288d1",
  ESTABLISHED: "#43a047",
  FIN_WAIT_1: "#ba68c8",
  FIN_WAIT_2: "#7b1fa2",
  CLOSE_WAIT: "#f9a825",
  CLOSING: "#8d6e63",
  LAST_ACK: "#26a69a",
  TIME_WAIT: "#d62728",
};

const ERRNO_COLOURS: Record<keyof Result["totals"]["failed"], string> = {
  EADDRNOTAVAIL: "#d62728",
  ECONNREFUSED: "#ff7f0e",
  ETIMEDOUT: "#6a3d9a",
  ECONNRESET: "#8c564b",
  EADDRINUSE: "#e377c2",
};

const HEIGHT = 240;
const plots: uPlot[] = [];

/** A sweep's page (sdk/report/sweep-html.ts): each run's series, labelled by its varied values. */
export interface SweepReportData {
  sweep: { label: string; t: number[]; states: Record<StateName, number[]>; failuresByErrno: Result["series"]["failuresByErrno"] }[];
}

function main(): void {
  const el = document.getElementById("connsim-data");
  if (!el?.textContent) throw new Error("connsim report: the embedded data (#connsim-data) is missing");
  const parsed = JSON.parse(el.textContent) as ReportData | SweepReportData;
  if ("sweep" in parsed) { sweepMain(parsed); return; }
  const data = parsed;
  const { series } = data.result;
  const hosts = Object.keys(series.byHost);

  for (const host of hosts) {
    if (Object.values(series.byHost[host]).some((v) => v.some((x) => x > 0))) stateChart(figure("states", host), series.t, series.byHost[host]);
    portsChart(figure("ports", host), series.t, series.portsInUse[host] ?? [], Object.hasOwn(data.ranges, host) ? data.ranges[host] : undefined, series.udpSockets?.[host]); // hosts may be named "toString"
  }
  if (document.getElementById("queues")) {
    for (const host of hosts) {
      const syn = series.synQueue?.[host] ?? [], acc = series.acceptQueue?.[host] ?? [];
      if (syn.some((x) => x > 0) || acc.some((x) => x > 0)) queuesChart(figure("queues", host), series.t, syn, acc);
    }
  }
  failuresChart(figure("failures"), series.t, series.failuresByErrno);
  for (const [host, n] of Object.entries(data.result.nats ?? {})) natCharts(host, series.t, n);

  addEventListener("resize", () => {
    for (const u of plots) u.setSize({ width: widthOf(u.root.parentElement!), height: HEIGHT });
  });
}

/** A sweep: one states chart and one failures chart per run, side by side in grid order (a figure's width is its grid cell's). */
function sweepMain(data: SweepReportData): void {
  for (const run of data.sweep) {
    stateChart(figure("sweep-states", run.label), run.t, run.states);
    failuresChart(figure("sweep-failures", run.label), run.t, run.failuresByErrno);
  }
  addEventListener("resize", () => {
    for (const u of plots) u.setSize({ width: widthOf(u.root.parentElement!), height: HEIGHT });
  });
}

/** A titled box inside the section #id; returns the element the chart goes in. */
function figure(id: string, title?: string): HTMLElement {
  const fig = document.createElement("figure");
  if (title) {
    const cap = document.createElement("figcaption");
    cap.textContent = title;
    fig.append(cap);
  }
  document.getElementById(id)!.append(fig);
  return fig;
}

function widthOf(el: HTMLElement): number {
  return Math.max(el.closest(".side-by-side") ? 240 : 320, el.clientWidth);
}

function plot(el: HTMLElement, opts: Omit<uPlot.Options, "width" | "height">, data: uPlot.AlignedData): void {
  plots.push(new uPlot({ width: widthOf(el), height: HEIGHT, ...opts }, data, el));
}

const timeAxis: uPlot.Axis = { label: "time (s)" };
// counts: the y axis starts at zero, so a constant 1 (a LISTEN socket) is a band, not the floor
const fromZero: uPlot.Scale = { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] };
const yAxis = (label: string): uPlot.Axis => ({ label, size: 60 });

/** Stacked areas, one per state that is non-zero somewhere on this host. */
function stateChart(el: HTMLElement, t: number[], states: Record<StateName, number[]>): void {
  const names = (Object.keys(STATE_COLOURS) as StateName[]).filter((s) => states[s]?.some((v) => v > 0));
  // Painted top of the stack first, each lower layer over it with an opaque fill, so no
  // bands are needed; the legend then reads top to bottom like the chart.
  const layers = names.reverse();
  const shown = layers.map(() => true);
  const stacked = (): number[][] => layers.map((_, i) =>
    t.map((__, k) => layers.reduce((sum, s, j) => sum + (j >= i && shown[j] ? states[s][k] : 0), 0)));

  plot(el, {
    scales: { x: { time: false }, y: fromZero },
    axes: [timeAxis, yAxis("sockets")],
    series: [
      { label: "t (s)" },
      ...layers.map((s): uPlot.Series => ({
        label: s,
        stroke: STATE_COLOURS[s],
        fill: tint(STATE_COLOURS[s], s === "TIME_WAIT" ? 0.35 : 0.6),
        width: s === "TIME_WAIT" ? 2 : 1,
        points: { show: false },
        // the legend shows the state's own count, not the stacked height
        value: (_u, _v, si, k) => (k == null ? "–" : String(states[layers[si - 1]][k])),
      })),
    ],
    hooks: {
      // a state hidden from the legend leaves the stack instead of leaving a gap
      setSeries: [(u, si) => {
        if (si == null) return;
        shown[si - 1] = u.series[si].show !== false;
        u.setData([t, ...stacked()]);
      }],
    },
  }, [t, ...stacked()]);
}

function portsChart(el: HTMLElement, t: number[], inUse: number[], range: number | undefined, udp?: number[]): void {
  let peak = inUse.reduce((a, b) => Math.max(a, b), 0); // no spread: series can be millions long
  const udpPeak = (udp ?? []).reduce((a, b) => Math.max(a, b), 0);
  const series: uPlot.Series[] = [
    { label: "t (s)" },
    { label: "ports in use", stroke: "#1f77b4", fill: "rgba(31,119,180,0.15)", width: 2, points: { show: false } },
  ];
  const data: [number[], ...number[][]] = [t, inUse];
  if (udpPeak > 0) {
    // UDP ports are a space of their own: one line more, not stacked on TCP's.
    series.push({ label: "UDP sockets (ports)", stroke: "#2ca02c", width: 2, points: { show: false } });
    data.push(udp!);
    peak = Math.max(peak, udpPeak);
  }
  if (range != null) {
    series.push({ label: `ephemeral range (${range})`, stroke: "#d62728", dash: [6, 4], width: 1.5, points: { show: false } });
    data.push(t.map(() => range));
  }
  const top = Math.max(peak, range ?? 0, 1) * 1.08;
  plot(el, {
    scales: { x: { time: false }, y: { range: [0, top] } },
    axes: [timeAxis, yAxis("ports")],
    series,
  }, data);
}

function queuesChart(el: HTMLElement, t: number[], syn: number[], accept: number[]): void {
  plot(el, {
    scales: { x: { time: false }, y: fromZero },
    axes: [timeAxis, yAxis("connections")],
    series: [
      { label: "t (s)" },
      { label: "accept queue", stroke: "#d62728", width: 2, points: { show: false } },
      { label: "SYN queue", stroke: "#0288d1", width: 2, points: { show: false } },
    ],
  }, [t, accept, syn]);
}

function failuresChart(el: HTMLElement, t: number[], byErrno: Result["series"]["failuresByErrno"]): void {
  const errnos = Object.keys(ERRNO_COLOURS) as (keyof typeof ERRNO_COLOURS)[];
  const interval = t.length > 1 ? t[1] - t[0] : 0;
  plot(el, {
    scales: { x: { time: false }, y: fromZero },
    axes: [timeAxis, yAxis(interval ? `failures per ${+interval.toPrecision(6)} s` : "failures")],
    series: [
      { label: "t (s)" },
      ...errnos.map((e): uPlot.Series => ({
        label: e,
        stroke: ERRNO_COLOURS[e],
        width: 2,
        // a sample counts the failures since the previous one: draw it over that interval
        paths: uPlot.paths.stepped!({ align: -1 }),
        points: { show: false },
        show: (byErrno[e] ?? []).some((v) => v > 0),
      })),
    ],
  }, [t, ...errnos.map((e) => byErrno[e] ?? t.map(() => 0))]);
}

const CT_COLOURS = ["#4fc3f7", "#0288d1", "#43a047", "#ba68c8", "#f9a825", "#26a69a", "#d62728", "#8d6e63", "#7986cb", "#9ccc65", "#ffb74d", "#6d4c41"];

/** A NAT host: conntrack entries by state, mappings per public address against its port range, drops per interval. */
function natCharts(host: string, t: number[], n: NatResult): void {
  const states = Object.entries(n.series.states).filter(([, v]) => v.some((x) => x > 0));
  const line = (label: string, stroke: string, extra: Partial<uPlot.Series> = {}): uPlot.Series => ({ label, stroke, width: 2, points: { show: false }, ...extra });
  plot(figure("nats", `${host}: conntrack entries by state`), {
    scales: { x: { time: false }, y: fromZero }, axes: [timeAxis, yAxis("entries")],
    series: [{ label: "t (s)" }, ...states.map(([s], i) => line(s, CT_COLOURS[i % CT_COLOURS.length]))],
  }, [t, ...states.map(([, v]) => v)]);
  const addresses = Object.keys(n.series.mappings);
  const range = n.ports[1] - n.ports[0] + 1;
  plot(figure("nats", `${host}: mappings and ports in use per public address`), {
    scales: { x: { time: false }, y: fromZero }, axes: [timeAxis, yAxis("mappings")],
    series: [{ label: "t (s)" },
      ...addresses.flatMap((a, i) => [line(`${a} mappings`, CT_COLOURS[(2 * i) % CT_COLOURS.length]), line(`${a} ports`, CT_COLOURS[(2 * i + 1) % CT_COLOURS.length])]),
      line(`port range (${range})`, "#d62728", { dash: [6, 4], width: 1.5 })],
  }, [t, ...addresses.flatMap((a) => [n.series.mappings[a], n.series.portsInUse[a]]), t.map(() => range)]);
  plot(figure("nats", `${host}: flows dropped per interval`), {
    scales: { x: { time: false }, y: fromZero }, axes: [timeAxis, yAxis("packets")],
    series: [{ label: "t (s)" },
      line("no free tuple (insert_failed)", "#6a3d9a", { paths: uPlot.paths.stepped!({ align: -1 }) }),
      line("table full", "#d62728", { paths: uPlot.paths.stepped!({ align: -1 }) })],
  }, [t, n.series.insertFailed, n.series.tableFull]);
}

/** The colour mixed with white: `amount` of the colour remains. Opaque, for stacking. */
function tint(hex: string, amount: number): string {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c: number) => Math.round(255 - (255 - c) * amount);
  return `rgb(${mix(n >> 16)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}

main();

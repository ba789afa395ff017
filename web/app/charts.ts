// The page's charts (uPlot): TCP states of all hosts, ports in use per host against its
// ephemeral range, failures per sample interval. Fed sample by sample while a run goes
// (Progress.samples) and redrawn at most once a frame; at the end, from the result.

import uPlot from "uplot";
import type { Result, SamplePoint, StateName } from "../connsim.js";

export const STATE_COLOURS: Record<StateName, string> = {
  CLOSED: "#9e9e9e", LISTEN: "#7986cb", SYN_SENT: "#4fc3f7", SYN_RCVD: "#0288d1", ESTABLISHED: "#43a047",
  FIN_WAIT_1: "#ba68c8", FIN_WAIT_2: "#7b1fa2", CLOSE_WAIT: "#f9a825", CLOSING: "#8d6e63", LAST_ACK: "#26a69a",
  TIME_WAIT: "#d62728",
};
const STATES = Object.keys(STATE_COLOURS) as StateName[];
const HOST_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

/** The series the charts draw: what a run has streamed so far, or its result's. */
export interface Series {
  t: number[];
  states: Record<StateName, number[]>;
  ports: Record<string, number[]>;
  failures: number[];
}

export function emptySeries(): Series {
  return { t: [], states: Object.fromEntries(STATES.map((s) => [s, []])) as unknown as Record<StateName, number[]>, ports: {}, failures: [] };
}

export function addSamples(s: Series, points: SamplePoint[]): void {
  for (const p of points) {
    s.t.push(p.t);
    for (const k of STATES) s.states[k].push(p.states[k]);
    for (const [h, n] of Object.entries(p.portsInUse)) (s.ports[h] ??= new Array(s.t.length - 1).fill(0)).push(n);
    s.failures.push(p.failures);
  }
}

export function resultSeries(r: Result): Series {
  return { t: r.series.t, states: r.series.states, ports: r.series.portsInUse, failures: r.series.failures };
}

const axes = (label: string): uPlot.Axis[] => [{ label: "time (s)" }, { label, size: 56 }];
const fromZero: uPlot.Scale = { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] };
const line = (label: string, stroke: string, extra: Partial<uPlot.Series> = {}): uPlot.Series => ({ label, stroke, width: 2, points: { show: false }, ...extra });

/** One uPlot whose series (by label) may grow: made again when they change, else given new data. */
class Chart {
  private plot?: uPlot;
  private key = "";
  constructor(private readonly box: HTMLElement, private readonly unit: string, private readonly stepped = false) {}

  draw(t: number[], lines: { label: string; colour: string; data: number[]; dash?: number[] }[], duration?: number): void {
    const key = lines.map((l) => l.label).join("|") + `|${duration}`;
    const data: uPlot.AlignedData = [t, ...lines.map((l) => l.data)];
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.key = key;
    this.plot = new uPlot({
      width: this.width(), height: this.height(),
      scales: { x: { time: false, ...(duration ? { range: [0, duration] as uPlot.Range.MinMax } : {}) }, y: fromZero },
      axes: axes(this.unit),
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      series: [{ label: "t (s)" }, ...lines.map((l) => line(l.label, l.colour, {
        ...(l.dash ? { dash: l.dash, width: 1.5 } : {}),
        ...(this.stepped ? { paths: uPlot.paths.stepped!({ align: -1 }) } : {}),
      }))],
    }, data, this.box);
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: this.height() });
  }

  private width(): number { return Math.max(260, this.box.clientWidth); }
  private height(): number { return window.innerWidth < 700 ? 180 : 220; }
}

export class RunCharts {
  private readonly states: Chart;
  private readonly ports: Chart;
  private readonly failures: Chart;
  private pending?: Series;
  private frame = 0;

  constructor(boxes: { states: HTMLElement; ports: HTMLElement; failures: HTMLElement }, private ranges: Record<string, number> = {}) {
    this.states = new Chart(boxes.states, "sockets");
    this.ports = new Chart(boxes.ports, "ports");
    this.failures = new Chart(boxes.failures, "failures", true);
    addEventListener("resize", () => { for (const c of [this.states, this.ports, this.failures]) c.resize(); });
  }

  setRanges(ranges: Record<string, number>): void { this.ranges = ranges; }

  /** Draws at the next frame (a run streams faster than a screen refreshes). */
  show(s: Series, duration?: number): void {
    this.pending = s;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.pending) this.drawNow(this.pending, duration);
    });
  }

  drawNow(s: Series, duration?: number): void {
    const used = STATES.filter((k) => s.states[k].some((v) => v > 0));
    this.states.draw(s.t, used.map((k) => ({ label: k, colour: STATE_COLOURS[k], data: s.states[k] })), duration);
    const hosts = Object.keys(s.ports);
    this.ports.draw(s.t, [
      ...hosts.map((h, i) => ({ label: h, colour: HOST_COLOURS[i % HOST_COLOURS.length], data: s.ports[h] })),
      ...hosts.filter((h) => Object.hasOwn(this.ranges, h)).map((h, i) => ({
        label: `${h} range (${this.ranges[h]})`, colour: HOST_COLOURS[i % HOST_COLOURS.length], data: s.t.map(() => this.ranges[h]), dash: [6, 4],
      })),
    ], duration);
    this.failures.draw(s.t, [{ label: "failed connects", colour: "#d62728", data: s.failures }], duration);
  }
}

/** A small chart of one sweep run: TIME_WAIT, ESTABLISHED and the ports in use of every host together. */
export function sweepChart(box: HTMLElement, r: Result): void {
  const ports = r.series.t.map((_, i) => Object.values(r.series.portsInUse).reduce((sum, xs) => sum + xs[i], 0));
  new uPlot({
    width: Math.max(240, box.clientWidth), height: 150,
    scales: { x: { time: false }, y: fromZero },
    axes: [{ size: 30 }, { size: 48 }],
    legend: { show: false },
    cursor: { show: false },
    series: [{}, line("TIME_WAIT", STATE_COLOURS.TIME_WAIT), line("ESTABLISHED", STATE_COLOURS.ESTABLISHED), line("ports in use", "#1f77b4", { dash: [4, 3] })],
  }, [r.series.t, r.series.states.TIME_WAIT, r.series.states.ESTABLISHED, ports], box);
}

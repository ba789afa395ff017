// Checks on a result, as k6's thresholds: "failed.EADDRNOTAVAIL==0", "peak.TIME_WAIT<20000".
// A check is a path into the result's `totals` or `peak`, an operator and a number; the
// `totals.` may be left out. `connsim run --expect` and a scenario's `expect` list take
// them, the summary says which held, and the exit code says whether all did (cli.ts).

import { ERRNOS, STATE_NAMES } from "./engine.js";
import { WHY_KEYS, type Result } from "./result.js";
import { closest } from "./units.js";

export const EXPECT_OPERATORS = ["==", "!=", "<=", ">=", "<", ">"] as const;
type Operator = (typeof EXPECT_OPERATORS)[number];

export interface Expectation {
  /** As written. */
  text: string;
  /** The path from the result's root: ["totals", "failed", "EADDRNOTAVAIL"]. */
  path: string[];
  op: Operator;
  value: number;
}

export interface CheckOutcome { text: string; held: boolean; actual: number }

const zeros = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, 0]));
/** The numbers a check may name, shaped as the result holds them. */
const CHECKABLE: Record<string, unknown> = {
  totals: {
    attempted: 0, established: 0, completed: 0, pending: 0,
    failed: zeros(ERRNOS),
    segments: zeros(["sent", "dropped", "retransmitted", "duplicated", "pawsRejected"]),
    timeWaitReused: 0, timeWaitOverflow: 0,
    listen: zeros(["ListenOverflows", "ListenDrops", "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed"]),
    // A "why" study's counters (a run without them has no value there: the check fails).
    why: zeros(WHY_KEYS),
  },
  peak: zeros(STATE_NAMES),
};
const TOTALS = Object.keys(CHECKABLE.totals as object);

/** A check from its text, or a message saying what is wrong and what is allowed. */
export function parseExpectation(text: string): Expectation | string {
  const m = /^\s*([A-Za-z_][\w.]*)\s*(==|!=|<=|>=|<|>)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*$/i.exec(text);
  if (!m) {
    return `${JSON.stringify(text)} is not a check; write PATH OPERATOR NUMBER, like "failed.EADDRNOTAVAIL==0" or "peak.TIME_WAIT<20000", with one of ${EXPECT_OPERATORS.join(" ")}`;
  }
  const written = m[1].split(".");
  const path = written[0] in CHECKABLE ? written : ["totals", ...written];
  let node: unknown = CHECKABLE;
  for (let i = 0; i < path.length; i++) {
    const here = node as Record<string, unknown>;
    if (typeof here !== "object" || !Object.hasOwn(here, path[i])) {
      const where = path.slice(0, i).join(".");
      const allowed = i === 1 && path[0] === "totals" && written[0] !== "totals"
        ? `the roots are totals and peak, and a field of totals may be written without "totals.": ${TOTALS.join(", ")}`
        : typeof here === "object" ? `${where} has ${Object.keys(here).join(", ")}` : `${where} is a number`;
      const hint = typeof here === "object" ? closest(path[i], [...Object.keys(here), ...(i === 1 && path[0] === "totals" ? ["totals", "peak"] : [])]) : undefined;
      return `${JSON.stringify(text)}: no number at ${m[1]}${hint ? ` (did you mean "${hint}"?)` : ""}; ${allowed}`;
    }
    node = here[path[i]];
  }
  if (typeof node !== "number") {
    return `${JSON.stringify(text)}: ${m[1]} is a group, not a number; it has ${Object.keys(node as object).join(", ")}`;
  }
  return { text: text.trim(), path, op: m[2] as Operator, value: Number(m[3]) };
}

/** Each check against the result: whether it held, and the number it saw. */
export function checkExpectations(result: Result, checks: readonly (Expectation | string)[]): CheckOutcome[] {
  return checks.map((c) => {
    const e = typeof c === "string" ? parseExpectation(c) : c;
    if (typeof e === "string") throw new Error(e);
    const actual = e.path.reduce<unknown>((n, k) => (n as Record<string, unknown>)?.[k], result);
    const a = typeof actual === "number" ? actual : NaN;
    const held = e.op === "==" ? a === e.value : e.op === "!=" ? a !== e.value : e.op === "<" ? a < e.value
      : e.op === "<=" ? a <= e.value : e.op === ">" ? a > e.value : a >= e.value;
    return { text: e.text, held, actual: a };
  });
}

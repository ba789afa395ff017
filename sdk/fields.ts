// The field types scenarios and plugin options share, as zod schemas: one home for
// what a duration, a size or a loss rule looks like, so a plugin's options read and
// fail like the rest of the scenario. Public (exported as `fields`): plugins build
// their option schemas from them.

import { z } from "zod";
import { STATE_NAMES } from "./engine.js";
import type { StateName } from "./result.js";
import { parseDuration } from "./units.js";

/** A duration as written ("60s", "500us", "2ms", "1.5s" or seconds), kept as written; see `durationUs`. */
export const durationText = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const r = parseDuration(v);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
}).meta({ typeName: "duration", expected: 'a duration like "60s", "500us", "2ms" or a number of seconds' });

/** A duration as written, parsed to whole microseconds (what kernels take). */
export const duration = durationText.transform((v) => parseDuration(v) as number);

export const count = z.number().int().min(0);
export const bytes = z.number().int().min(0);
export const probability = z.number().min(0).max(1);
export const port = z.number().int().min(1).max(65535);

/** A size in bytes, fixed or drawn per connection. */
export const size = z.union([
  bytes,
  z.strictObject({ dist: z.literal("uniform"), min: bytes, max: bytes }).superRefine((s, ctx) => {
    if (s.min > s.max) ctx.addIssue({ code: "custom", message: `is above max (${s.max})`, path: ["min"] });
  }),
  z.strictObject({ dist: z.literal("exponential"), mean: z.number().positive() }),
  z.strictObject({ dist: z.literal("lognormal"), median: z.number().positive(), sigma: z.number().min(0).max(5) }),
]).meta({ typeName: "size", unit: "bytes", expected: 'bytes, or { "dist": "uniform", "min", "max" } | { "dist": "exponential", "mean" } | { "dist": "lognormal", "median", "sigma" }' });


/** tcpdump's flag letters: S F R P and "." for ACK, e.g. "S", "S.", ".", "F.", "R"; "any" matches all. */
export const flags = z.string().regex(/^(any|[SFRP]*\.?)$/, 'expected tcpdump flags like "S", "S.", ".", "P.", "F.", "R" or "any"');

/**
 * "The nth segment from this end whose flags match, sent from this state, of this
 * connection" (every field optional: leave one out to match any). `from` names an end
 * of the link; `delay` (microseconds once parsed) is for duplicates.
 */
export const rule = z.strictObject({
  from: z.string().optional(),
  flags: flags.optional(),
  state: z.enum(STATE_NAMES as [StateName, ...StateName[]]).optional(),
  conn: count.optional(),
  nth: z.number().int().min(1).optional(),
  delay: duration.optional(),
});

/**
 * What a TCP workload's connections do, for a workload's options (spread it into
 * z.strictObject): sizes, who closes first and how, and when the workload runs.
 * The names are the open- and closed-loop kernels' own.
 */
export const exchange = {
  request: size.optional(),
  response: size.optional(),
  halfClose: z.boolean().optional().describe("shutdown(SHUT_WR) after the request"),
  closer: z.enum(["client", "server", "both"]).optional(),
  linger0: z.boolean().optional().describe("SO_LINGER 0: the closer sends RST"),
  serverCloseDelay: duration.optional().describe("the server application close()s this long after it reads the client's FIN (default 0)"),
  start: duration.optional(),
  stop: duration.optional(),
  count: count.optional(),
};

/**
 * What a field takes, as a user would say it (meta `expected`; "expected <it>, got ..."),
 * where zod's own type name would say too little. A description says what the field means.
 */
export function expectedText(s: z.ZodType): string | undefined {
  return (z.globalRegistry.get(s) as { expected?: string } | undefined)?.expected;
}

/** The schema under optional/default wrappers, and the input side of a parsed field (fields.duration). */
export function unwrapSchema(s: z.ZodType): z.ZodType {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s;
  }
}

export const fields = { duration, durationText, count, bytes, probability, port, size, flags, rule, exchange };

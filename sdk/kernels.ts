// What the engine can run by itself (DESIGN "The JS/WASM boundary", tier 1): the
// vocabulary a plugin's kernel(options) answers in. A kernel is plain data, checked
// here when the plan is made, so a worker gets it without the plugin's code. Times are
// whole microseconds, sizes bytes.

import { z } from "zod";
import { count, port, probability, rule, size } from "./fields.js";

const us = z.number().int().min(0);

/** A staged rule once its options are parsed (delay in microseconds). */
export const ruleKernel = rule.extend({ delay: us.optional() });

export const lossKernel = z.discriminatedUnion("model", [
  z.strictObject({ model: z.literal("none") }),
  z.strictObject({ model: z.literal("bernoulli"), p: probability }),
  /** Two states per direction: p = P(good -> bad), r = P(bad -> good) per segment; a segment gets through with k in good (default 1), h in bad (default 0). */
  z.strictObject({ model: z.literal("gilbert-elliott"), p: probability, r: probability, k: probability.optional(), h: probability.optional() }),
  /** Deterministic rules: drop the matching segment, or deliver it and a copy `delay` later. */
  z.strictObject({ model: z.literal("rules"), action: z.enum(["drop", "duplicate"]), rules: z.array(ruleKernel).min(1) }),
]);

/** The range an allocator uses on a host that gives no `ports` (the profile's otherwise). */
const range = z.tuple([port, port]).optional();

export const allocatorKernel = z.discriminatedUnion("model", [
  /** On from a cursor per address; `shared`: one cursor for TCP and UDP. */
  z.strictObject({ model: z.literal("sequential"), shared: z.boolean().optional(), ports: range }),
  /** RFC 6056 algorithm 1: a random offset, then on to the next free port. */
  z.strictObject({ model: z.literal("random"), ports: range }),
  /** RFC 6056 algorithm 3 as Linux's connect path does it: a keyed hash of the 4-tuple, parity first. */
  z.strictObject({ model: z.literal("double-hash"), ports: range }),
]);

/** When the server at the workload's `to` stops, and how long it stays down. */
const restart = z.strictObject({ at: us, down: us, reuseAddr: z.boolean().optional() }).optional();

const staging = {
  start: us.optional(), stop: us.optional(), count: count.optional(),
  restart,
};
const exchange = {
  request: size.optional(), response: size.optional(),
  closer: z.enum(["client", "server", "both"]).optional(),
  halfClose: z.boolean().optional(), linger0: z.boolean().optional(),
  serverCloseDelay: us.optional(),
  ...staging,
};
const rateStep = z.strictObject({ at: us, rate: z.number().min(0) });

export const workloadKernel = z.discriminatedUnion("model", [
  /** Connections opened at `rate` a second (or in steps), whatever happens to them. */
  z.strictObject({
    model: z.literal("open-loop"),
    rate: z.union([z.number().min(0), z.array(rateStep).min(1).max(64)]),
    arrival: z.enum(["constant", "poisson"]).optional(),
    localPort: port.optional(),
    /** A client keeps its connection open this long after the response, then closes (us). */
    hold: us.optional(),
    ...exchange,
  }),
  /** `clients` clients, each: connect, `requests` exchanges with `think` between, close, think, again. */
  z.strictObject({
    model: z.literal("closed-loop"),
    clients: z.number().int().min(1).max(1_000_000),
    requests: z.number().int().min(1).max(1_000_000).optional(),
    think: us.optional(),
    backoff: us.optional(), backoffMax: us.optional(),
    ...exchange,
  }),
  /** A new UDP socket per query at `rate` a second, its port held until the reply or `timeout`. */
  z.strictObject({
    model: z.literal("udp"),
    rate: z.number().min(0),
    arrival: z.enum(["constant", "poisson"]).optional(),
    request: size.optional(), response: size.optional(),
    timeout: us.optional(),
    ...staging,
  }),
]);

export type LossKernel = z.infer<typeof lossKernel>;
export type LossRule = z.infer<typeof ruleKernel>;
export type AllocatorKernel = z.infer<typeof allocatorKernel>;
export type WorkloadKernel = z.infer<typeof workloadKernel>;
export type SizeSpec = z.infer<typeof size>;

// Workload "closed-loop": `clients` clients, each: connect, request, response, close,
// think, and again. Throughput is clients / (cycle + think). A failed connect() is
// retried after a random wait up to min(backoffMax, backoff x 2^(tries-1)) ("full
// jitter"); with no backoff, after the think time; never sooner than 1 ms (a connect()
// that fails at once, with no free port, is not retried in the same microsecond).
//
//   { "plugin": "closed-loop", "from": "client", "to": "server:80", "clients": 50, "think": "100ms" }

import { definePlugin, fields, z } from "connsim/plugin";

const { duration } = fields;

export default definePlugin({
  kind: "workload",
  name: "closed-loop",
  version: "1.0.0",
  options: z.strictObject({
    clients: z.number().int().min(1).max(1_000_000),
    think: duration.optional(),
    backoff: duration.optional(),
    backoffMax: duration.optional(),
    ...fields.exchange,
  }),
  kernel: (o) => ({ model: "closed-loop", ...o }),
});

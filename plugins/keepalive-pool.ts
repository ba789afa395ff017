// Workload "keepalive-pool": a client's connection pool. `connections` connections stay
// open for `requests` exchanges each (with `think` between), then are closed and
// opened again. TIME_WAIT falls by the factor `requests` against one connection per
// exchange.
//
//   { "plugin": "keepalive-pool", "from": "client", "to": "server:80", "connections": 10, "requests": 100 }

import { definePlugin, fields, z } from "connsim/plugin";

const { duration } = fields;

export default definePlugin({
  kind: "workload",
  name: "keepalive-pool",
  version: "1.0.0",
  options: z.strictObject({
    connections: z.number().int().min(1).max(1_000_000),
    requests: z.number().int().min(1).max(1_000_000),
    request: z.number().int().min(1).optional(),
    response: z.number().int().min(1).optional(),
    think: duration.optional(),
    backoff: duration.optional(),
    backoffMax: duration.optional(),
    closer: z.enum(["client", "server", "both"]).optional(),
    linger0: z.boolean().optional(),
    start: duration.optional(),
    stop: duration.optional(),
    count: fields.count.optional(),
  }),
  kernel: ({ connections, ...o }) => ({ model: "closed-loop", clients: connections, ...o }),
});

// Workload "udp-request": a new UDP socket per query (a DNS resolver's way), `rate`
// queries a second. Its port is held until the reply comes, an ICMP port unreachable
// (ECONNREFUSED), or `timeout` (ETIMEDOUT; default 5s). No TIME_WAIT.
//
//   { "plugin": "udp-request", "from": "client", "to": "dns:53", "rate": 1000, "timeout": "2s" }

import { definePlugin, fields, z } from "connsim/plugin";

const { duration, size } = fields;

export default definePlugin({
  kind: "workload",
  name: "udp-request",
  version: "1.0.0",
  options: z.strictObject({
    rate: z.number().min(0),
    arrival: z.enum(["constant", "poisson"]).optional(),
    request: size.optional(),
    response: size.optional(),
    timeout: duration.optional(),
    start: duration.optional(),
    stop: duration.optional(),
    count: fields.count.optional(),
  }),
  kernel: (o) => ({ model: "udp", ...o }),
});

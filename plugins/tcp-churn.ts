// Workload "tcp-churn": open loop. Connections arrive at `rate` a second (constant or
// Poisson, or a rate that changes in steps) whatever becomes of the ones before, each
// one: connect, send `request` bytes, get `response` bytes, close (the client, the
// server or both first). The load test that fills TIME_WAIT.
//
//   { "plugin": "tcp-churn", "from": "client", "to": "server:80", "rate": 500 }

import { definePlugin, fields, z } from "connsim/plugin";

const { duration } = fields;

export default definePlugin({
  kind: "workload",
  name: "tcp-churn",
  version: "1.0.0",
  options: z.strictObject({
    rate: z.union([z.number().min(0), z.array(z.strictObject({ at: duration, rate: z.number().min(0) })).min(1).max(64)])
      .describe('a number of connections a second, or steps like [{ "at": "0s", "rate": 100 }, { "at": "30s", "rate": 500 }]'),
    arrival: z.enum(["constant", "poisson"]).optional(),
    localPort: fields.port.optional().describe("bind() to this port before connect()"),
    hold: duration.optional().describe("how long the client keeps the connection open after the response before it closes"),
    ...fields.exchange,
  }),
  kernel: (o) => ({ model: "open-loop", ...o }),
});

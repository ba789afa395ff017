// Workload "server-restart": the reconnect storm. `clients` closed-loop clients talk to
// the server at `to`; at `at` the server process stops (its sockets close, new SYNs
// are refused) and `down` later it starts again. Clients retry with full-jitter backoff
// (`backoff`, capped by `backoffMax`). Without `reuseAddr` the restarted server cannot
// bind while TIME_WAIT holds its port (EADDRINUSE) and retries every second.
//
//   { "plugin": "server-restart", "from": "client", "to": "server:80", "clients": 200,
//     "at": "10s", "down": "5s", "backoff": "100ms", "backoffMax": "10s" }

import { definePlugin, fields, z } from "connsim/plugin";

const { duration } = fields;

export default definePlugin({
  kind: "workload",
  name: "server-restart",
  version: "1.0.0",
  options: z.strictObject({
    clients: z.number().int().min(1).max(1_000_000),
    at: duration.describe('when the server stops, like "10s"'),
    down: duration.describe('how long it stays down, like "5s"'),
    reuseAddr: z.boolean().optional(),
    think: duration.optional(),
    backoff: duration.optional(),
    backoffMax: duration.optional(),
    ...fields.exchange,
  }),
  kernel: ({ at, down, reuseAddr, ...o }) => ({ model: "closed-loop", ...o, restart: { at, down, reuseAddr } }),
});

// Loss "drop": deterministic, staged losses. Each rule drops the nth segment (or every
// one) that matches it: from one end of the link, with tcpdump flags, sent from a TCP
// state, of a connection. "The client's last ACK is lost":
//
//   "loss": { "plugin": "drop", "rules": [ { "from": "client", "flags": ".", "state": "TIME_WAIT", "nth": 1 } ] }

import { definePlugin, fields, z } from "connsim/plugin";

export default definePlugin({
  kind: "loss",
  name: "drop",
  version: "1.0.0",
  options: z.strictObject({ rules: z.array(fields.rule).min(1) }),
  kernel: ({ rules }) => ({ model: "rules", action: "drop", rules }),
});

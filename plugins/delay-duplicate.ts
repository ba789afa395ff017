// Loss "delay-duplicate": each matching segment arrives, and a copy of it arrives again
// `delay` later: an old duplicate, as a network that stores and re-sends segments
// makes them. Rules match as those of "drop" do.
//
//   "loss": { "plugin": "delay-duplicate", "rules": [ { "from": "client", "flags": "S", "delay": "30s" } ] }

import { definePlugin, fields, z } from "connsim/plugin";

export default definePlugin({
  kind: "loss",
  name: "delay-duplicate",
  version: "1.0.0",
  options: z.strictObject({ rules: z.array(fields.rule).min(1) }),
  kernel: ({ rules }) => ({ model: "rules", action: "duplicate", rules }),
});

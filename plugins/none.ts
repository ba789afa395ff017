// Loss "none": every segment arrives. The default when a link names no loss.
//
//   "loss": { "plugin": "none" }

import { definePlugin, z } from "connsim/plugin";

export default definePlugin({
  kind: "loss",
  name: "none",
  version: "1.0.0",
  options: z.strictObject({}),
  kernel: () => ({ model: "none" }),
});

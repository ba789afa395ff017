// Loss "bernoulli": each segment is lost with probability p, independently (per
// direction, from the link direction's own seeded stream).
//
//   "loss": { "plugin": "bernoulli", "p": 0.01 }

import { definePlugin, fields, z } from "connsim/plugin";

export default definePlugin({
  kind: "loss",
  name: "bernoulli",
  version: "1.0.0",
  options: z.strictObject({ p: fields.probability.describe("the chance each segment is lost, 0 to 1") }),
  kernel: ({ p }) => ({ model: "bernoulli", p }),
});

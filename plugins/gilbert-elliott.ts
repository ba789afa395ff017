// Loss "gilbert-elliott": burst loss from a two-state chain per direction. Each segment
// first moves the chain (good -> bad with p, bad -> good with r), then gets through
// with k in the good state and h in the bad one. The defaults k = 1, h = 0 make the
// simple Gilbert model: bursts of mean length 1/r, a loss share of p / (p + r).
//
//   "loss": { "plugin": "gilbert-elliott", "p": 0.01, "r": 0.3 }

import { definePlugin, fields, z } from "connsim/plugin";

export default definePlugin({
  kind: "loss",
  name: "gilbert-elliott",
  version: "1.0.0",
  options: z.strictObject({
    p: fields.probability.describe("the chance of moving from good to bad, per segment"),
    r: fields.probability.describe("the chance of moving from bad to good, per segment"),
    k: fields.probability.optional().describe("the chance a segment gets through in the good state (default 1)"),
    h: fields.probability.optional().describe("the chance a segment gets through in the bad state (default 0)"),
  }),
  kernel: ({ p, r, k, h }) => ({ model: "gilbert-elliott", p, r, k, h }),
});

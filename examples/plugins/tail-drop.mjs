// A third-party loss plugin: drop-tail at a bottleneck. Each direction has a queue of
// `capacity` segments drained at `rate` segments a second; a segment that finds the
// queue full is lost. Losses come in bursts when a window of segments arrives at once,
// which neither Bernoulli nor Gilbert-Elliott loss models. It needs to see segments
// in time order with their sizes: a hook, called once per batch, not a kernel.
//
// Use it from a scenario by path:
//   "loss": { "plugin": "./plugins/tail-drop.mjs", "capacity": 8, "rate": 2000 }

import { definePlugin, z } from "connsim/plugin";

export default definePlugin({
  kind: "loss",
  name: "tail-drop",
  version: "1.0.0",
  options: z.strictObject({
    capacity: z.number().int().min(1).describe("segments the queue holds"),
    rate: z.number().positive().describe("segments a second the link drains"),
  }),
  hook({ capacity, rate }) {
    let queued = 0;   // segments in the queue
    let at = 0;       // when `queued` was last brought up to date, seconds
    return {
      decide(batch, drop) {
        for (let i = 0; i < batch.size; i++) {
          queued = Math.max(0, queued - (batch.t[i] - at) * rate);
          at = batch.t[i];
          if (queued + 1 > capacity) drop[i] = 1;
          else queued += 1;
        }
      },
    };
  },
});

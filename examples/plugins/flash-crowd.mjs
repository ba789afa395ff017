// A third-party workload plugin with a hook: a flash crowd. Connections arrive as a
// Poisson stream at `rate` a second, `surge` times faster from `at` for `for` seconds
// (a sale starts, a link goes viral). The hook says when each connection opens, one
// window (the scenario's `sample`) at a time; the kernel says what each connection does.
//
//   { "plugin": "./plugins/flash-crowd.mjs", "from": "client", "to": "server:80",
//     "rate": 200, "surge": 10, "at": "20s", "for": "10s", "closer": "client" }

import { definePlugin, fields, z } from "connsim/plugin";

export default definePlugin({
  kind: "workload", name: "flash-crowd", version: "1.0.0",
  options: z.strictObject({
    rate: z.number().positive(),
    surge: z.number().min(1),
    at: fields.duration,           // microseconds once parsed
    for: fields.duration,
    request: fields.size.optional(),
    response: fields.size.optional(),
    closer: z.enum(["client", "server", "both"]).optional(),
  }),
  // What each connection does: the exchange, from the open-loop kernel (its rate is the hook's business).
  kernel: ({ request, response, closer }) => ({ model: "open-loop", rate: 0, request, response, closer }),
  hook({ rate, surge, at, for: length }, { random }) {
    const start = at / 1e6, end = (at + length) / 1e6;
    const rateAt = (t) => (t >= start && t < end ? rate * surge : rate);
    let next = 0; // the next arrival, seconds; carried from window to window
    let first = true;
    return {
      arrivals({ from, to }) {
        if (first) { next = from - Math.log(1 - random()) / rateAt(from); first = false; }
        const times = [];
        // Exponential gaps at the rate where the gap starts (the surge's edges cut a gap at most).
        while (next < to) {
          times.push(next);
          next += -Math.log(1 - random()) / rateAt(next);
        }
        return times;
      },
    };
  },
});

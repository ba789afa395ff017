// A built-in loss plugin written as a third party would write one: a token-bucket
// policer, the rate limit clouds and ISPs put on a link. Each direction has a bucket
// of `burst` bytes refilled at `rate` bytes a second; a segment that finds fewer
// tokens than its size (headers included) is dropped. Deterministic: no randomness.
//
//   "loss": { "plugin": "policer", "rate": 1000000, "burst": 30000 }

import { definePlugin, z } from "connsim/plugin";

/** IPv4 + TCP headers, counted against the bucket with the payload. */
const HEADERS = 40;

export default definePlugin({
  kind: "loss",
  name: "policer",
  version: "1.0.0",
  options: z.strictObject({
    rate: z.number().positive().describe("bytes a second the bucket refills"),
    burst: z.number().int().min(HEADERS).describe("bytes the bucket holds"),
  }),
  hook({ rate, burst }) {
    let tokens = burst;
    let at = 0; // seconds: when `tokens` was last brought up to date
    return {
      decide(batch, drop) {
        for (let i = 0; i < batch.size; i++) {
          tokens = Math.min(burst, tokens + (batch.t[i] - at) * rate);
          at = batch.t[i];
          const bytes = batch.len[i] + HEADERS;
          if (bytes > tokens) drop[i] = 1;
          else tokens -= bytes;
        }
      },
    };
  },
});

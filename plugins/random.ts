// Port allocator "random": RFC 6056 algorithm 1, a random start in the range for each
// connect(), then on to the next free port. It may re-pick a port in TIME_WAIT at any
// distance.
//
//   "portAllocator": "random"

import { definePlugin, z } from "connsim/plugin";

export default definePlugin({
  kind: "portAllocator",
  name: "random",
  version: "1.0.0",
  options: z.strictObject({}),
  kernel: () => ({ model: "random" }),
});

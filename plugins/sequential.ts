// Port allocator "sequential": connect() takes the next free port after the last one
// it handed out on that address, as ns-3 and OMNeT++ INET do. The default.
//
//   "portAllocator": "sequential"

import { definePlugin, z } from "connsim/plugin";

export default definePlugin({
  kind: "portAllocator",
  name: "sequential",
  version: "1.0.0",
  options: z.strictObject({}),
  kernel: () => ({ model: "sequential" }),
});

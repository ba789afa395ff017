// Port allocator "linux": RFC 6056 algorithm 3 as Linux's connect path does it
// (__inet_hash_connect): a keyed hash of the addresses and the remote port, moved on
// by a perturbation table; ports of the range's own parity first (bind() takes the
// others). An odd-sized range loses its last port to connect().
//
//   "portAllocator": "linux"

import { definePlugin, z } from "connsim/plugin";

export default definePlugin({
  kind: "portAllocator",
  name: "linux",
  version: "1.0.0",
  options: z.strictObject({}),
  kernel: () => ({ model: "double-hash" }),
});

// Port allocator "windows": the dynamic range 49152-65535 (Vista and later; a host's
// own `ports` still wins) handed out incrementally from one cursor that TCP and UDP
// share, as Microsoft documents for its stack ("Windows TCP/IP Ephemeral, Reserved,
// and Blocked Port Behavior": a TCP port 1025, then a UDP port 1026). Later versions
// are not documented further; this is that documented order.
//
//   "portAllocator": "windows"

import { definePlugin, z } from "connsim/plugin";

export default definePlugin({
  kind: "portAllocator",
  name: "windows",
  version: "1.0.0",
  options: z.strictObject({}),
  kernel: () => ({ model: "sequential", shared: true, ports: [49152, 65535] as [number, number] }),
});

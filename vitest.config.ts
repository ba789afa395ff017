import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const sdk = (file: string) => fileURLToPath(new URL(`./sdk/${file}`, import.meta.url));

export default defineConfig({
  // Tests run the SDK from its sources, and plugins' "connsim/plugin" is those sources
  // too; the built-ins are registered before each test file, as every entry point does.
  resolve: {
    alias: [
      { find: /^connsim\/plugin$/, replacement: sdk("plugins.ts") },
      { find: /^connsim$/, replacement: sdk("index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["plugins/index.ts"],
    testTimeout: 60_000,
    pool: "forks",
  },
});

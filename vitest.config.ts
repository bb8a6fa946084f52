import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// Tests run the TypeScript sources of the libs directly; spawned processes run the built dist.
const libAliases = readdirSync("libs").map((name) => ({
  find: `@llmgw/${name}`,
  replacement: resolve("libs", name, "src/index.ts"),
}));

export default defineConfig({
  resolve: { alias: libAliases },
  test: {
    include: ["libs/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});

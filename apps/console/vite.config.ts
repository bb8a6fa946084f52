import { defineConfig } from "vite";

// The API serves the build at /console (apps/api/src/plugins/console-assets.ts): pages there, hashed files in /console/assets/.
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, assetsDir: "assets", sourcemap: false, chunkSizeWarningLimit: 300 },
});

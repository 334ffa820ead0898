// Unit tests of the UI's data shaping: plain TypeScript under test/, run in
// Node (no browser; the browser tests live under e2e/ and run from Go).
import { defineConfig } from "vitest/config";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  test: { include: ["test/**/*.test.ts", "test/**/*.test.tsx"], environment: "node" },
});

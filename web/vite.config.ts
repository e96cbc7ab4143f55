// Builds the dashboard into dist/, which the daemon embeds (src/http/dashboard.rs)
// and serves at /. The build is checked in and drift-checked
// (scripts/check-web-build.sh): `cargo build` on a machine without Node.js
// still serves the full dashboard. Vitest runs the unit and component tests
// under jsdom.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Same bytes from the same sources on every machine: the drift check
    // compares them.
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` against a daemon on its default address.
    proxy: {
      "/workflow.v1.WorkflowService": "http://127.0.0.1:50051",
      "/v1": "http://127.0.0.1:50051",
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/testSetup.ts"],
  },
});

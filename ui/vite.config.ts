import { defineConfig } from "vitest/config";

// The page is served from the app bundle (no dev server in the build), so paths are relative
// and the target is what the three system webviews (WebKitGTK, WebView2, WKWebView) support.
export default defineConfig({
  base: "./",
  clearScreen: false,
  build: {
    target: "safari16",
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    // The stylesheet's text, for the test of its colours (other CSS stays out of the tests).
    css: { include: [/styles\.css/] },
  },
});

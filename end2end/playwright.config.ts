import { defineConfig } from "@playwright/test";
import { resolve } from "node:path";

// The browser suite runs against the real server (debug build, demo mode) on its own port and data
// folder, and its own METRC simulator (demo world) on the next port: never the run command's 3000, 3001
// or ./data. scripts/test builds both programs and dist/ first and empties the data folder. Chromium is
// Debian's: Playwright's own browser download is not reachable here.
const port = Number(process.env.E2E_PORT ?? 3100);
const simPort = port + 1;
const root = resolve(__dirname, "..");
const serverBin = process.env.SERVER_BIN ?? resolve(root, "target/debug/server");
const simBin = process.env.SIM_BIN ?? resolve(root, "target/debug/metrc-sim");
const dataDir = process.env.E2E_DATA_DIR ?? resolve(__dirname, ".data");

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  timeout: 30_000,
  expect: { timeout: 7_000 },
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  webServer: [
    {
      command: `"${simBin}" --seed demo --addr 127.0.0.1:${simPort}`,
      url: `http://127.0.0.1:${simPort}/_sim/limits`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: `"${serverBin}" --demo`,
      url: `http://127.0.0.1:${port}/api/me`,
      // Any answer (a 401 here) means the server is up.
      ignoreHTTPSErrors: true,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
      env: {
        BIND_ADDR: `127.0.0.1:${port}`,
        DATA_DIR: dataDir,
        STATIC_DIR: resolve(root, "dist"),
        RUST_LOG: "warn",
        METRC_URL_TEMPLATE: `http://127.0.0.1:${simPort}/{state}`,
        // The suite saves many times a minute as one user; the limit itself is tested in the API suite.
        VERIFY_ATTEMPTS_PER_MINUTE: "1000",
        // Every sign-in checks the user's keys with METRC (the banner spec revokes one, then signs in).
        KEY_CHECK_AT_SIGN_IN_MINUTES: "0",
        KEY_RECHECK_PACE_MS: "100",
      },
    },
  ],
});

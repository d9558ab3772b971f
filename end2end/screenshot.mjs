// Refreshes docs/screenshot.png, the picture in the README: signs in to a running server as the demo staff
// user and photographs the Traceability Credentials page with the avatar menu open.
// Usage: with `scripts/run` serving, `node end2end/screenshot.mjs [http://127.0.0.1:3000]`. CI never runs it.
import { chromium } from "@playwright/test";
import { fileURLToPath } from "node:url";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const out = fileURLToPath(new URL("../docs/screenshot.png", import.meta.url));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 560 } });
  await page.goto(`${base}/sign-in`);
  await page.getByLabel("Email").fill("staff@demo.test");
  await page.getByLabel("Password").fill("demo-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Traceability Credentials" }).waitFor();
  await page.getByRole("button", { name: /Account menu/ }).click();
  await page.getByRole("menu").waitFor();
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}

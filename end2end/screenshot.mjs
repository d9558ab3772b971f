// Refreshes the README's pictures. docs/screenshot.png: signs in to a running server as the demo staff
// user, saves a credential through the page if there is none (the demo key for both Colorado licenses,
// with only Denver selected, so "This key also reaches" shows), and photographs it with its license
// dropdown open. docs/screenshot-config.png and docs/screenshot-coverage.png: the admin's Config Page and
// Organization Management > Coverage.
// Usage: with `scripts/run` serving, `node end2end/screenshot.mjs [http://127.0.0.1:3000]`. CI never runs it.
import { chromium } from "@playwright/test";
import { fileURLToPath } from "node:url";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const out = fileURLToPath(new URL("../docs/screenshot.png", import.meta.url));
const docs = (name) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(`${base}/sign-in`);
  await page.getByLabel("Email").fill("staff@demo.test");
  await page.getByLabel("Password").fill("demo-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Traceability Credentials" }).waitFor();
  await page.getByRole("button", { name: "+ Add Credential" }).waitFor();
  if ((await page.getByRole("group").count()) === 0) {
    await page.getByRole("button", { name: "+ Add Credential" }).click();
    const form = page.getByRole("form", { name: "New credential" });
    await form.getByLabel("Select State").selectOption({ label: "Colorado (CO)" });
    await form.getByRole("button", { name: "Select the license(s) of your credential" }).click();
    await form.getByRole("option", { name: /402R-00101/ }).click();
    await form.getByLabel("Metrc User API Key").fill("demo-co-both-licenses-00000000000000000000000001");
    await form.getByRole("button", { name: "Verify & Save" }).click();
    await page.getByRole("status").waitFor();
  }
  const group = page.getByRole("group").first();
  await group.getByRole("button", { name: "Select the license(s) of your credential" }).click();
  await group.getByRole("listbox").waitFor();
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);

  const admin = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  await admin.goto(`${base}/admin/config/integration`);
  await admin.getByLabel("Email").fill("admin@demo.test");
  await admin.getByLabel("Password").fill("demo-password-1");
  await admin.getByRole("button", { name: "Sign in" }).click();
  // Signed in once the page it returns to shows.
  await admin.getByRole("heading", { name: "Config Page" }).first().waitFor();
  for (const [path, heading, file] of [
    ["/admin/config/integration", "Config Page", "screenshot-config.png"],
    ["/admin/organization/coverage", "Coverage", "screenshot-coverage.png"],
  ]) {
    await admin.goto(`${base}${path}`);
    await admin.getByRole("heading", { name: heading }).first().waitFor();
    await admin.waitForLoadState("networkidle");
    await admin.screenshot({ path: docs(file) });
    console.log(`wrote ${docs(file)}`);
  }
} finally {
  await browser.close();
}

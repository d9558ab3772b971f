import { type Page } from "@playwright/test";
import { KEYS, addFault, clearFaults, expect, signIn, test } from "./fixtures";

// The admin side as a new admin would use it, found by label and role.

const CO_MANAGER = "demo-co-manager-00000000000000000000000000000005";

async function signInAsAdmin(page: Page) {
  await page.goto("/account/traceability-credentials");
  await signIn(page, "admin@demo.test");
  await expect(page.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
}

async function openFromAvatar(page: Page, item: string) {
  await page.getByRole("button", { name: /Account menu/ }).click();
  await page.getByRole("menuitem", { name: item }).click();
}

test.describe("Administration", () => {
  test.afterEach(async ({ page }) => {
    await clearFaults(page);
  });

  test("a staff member sees none of the admin menu items and gets 403 from the admin APIs", async ({ page }) => {
    await page.goto("/account/traceability-credentials");
    await signIn(page, "staff@demo.test");
    await page.getByRole("button", { name: /Account menu/ }).click();
    const items = page.getByRole("menu", { name: "Account" }).getByRole("menuitem");
    await expect(items).toHaveText(["Manage account", "Sign out"]);
    const origin = new URL(page.url()).origin;
    for (const path of ["/api/admin/licenses", "/api/admin/users", "/api/admin/coverage", "/api/admin/audit", "/api/admin/integration"]) {
      const response = await page.request.get(path);
      expect(response.status(), path).toBe(403);
      expect((await response.json()).code).toBe("forbidden");
    }
    const put = await page.request.put("/api/admin/integration/CO/default-key", {
      data: { key: KEYS.coBoth, version: null },
      headers: { origin },
    });
    expect(put.status()).toBe(403);
    // The page itself says so, too.
    await page.goto("/admin/organization/licenses");
    await expect(page.getByRole("alert").filter({ hasText: "Only your organization's administrators" })).toBeVisible();
  });

  test("an admin adds a license in a new state and it is offered on the credentials page", async ({ page }) => {
    await signInAsAdmin(page);
    await openFromAvatar(page, "Organization Management");
    await expect(page.getByRole("heading", { name: "Organization Management" })).toBeVisible();
    const number = `NV-${Date.now() % 1_000_000}`;
    const form = page.getByRole("form", { name: "Add license" });
    await form.getByLabel("License number").fill(number);
    await form.getByLabel("State").selectOption({ label: "Nevada (NV)" });
    await form.getByLabel("Name", { exact: true }).fill("Las Vegas – Fremont St");
    await form.getByLabel("License type").fill("Retail Marijuana Store");
    await form.getByRole("button", { name: "Add license" }).click();
    await expect(page.getByRole("status")).toContainText(`License ${number} added.`);
    const row = page.getByRole("row", { name: new RegExp(number) });
    await expect(row).toContainText("America/Los_Angeles");
    await expect(row).toContainText("Active, tracked");

    // Back on the credentials page, Nevada and the license are offered.
    await openFromAvatar(page, "Manage account");
    await page.getByRole("button", { name: "+ Add Credential" }).click();
    const newForm = page.getByRole("form", { name: "New credential" });
    await newForm.getByLabel("Select State").selectOption({ label: "Nevada (NV)" });
    await newForm.getByRole("button", { name: "Select the license(s) of your credential" }).click();
    await expect(newForm.getByRole("option", { name: `${number} — Las Vegas – Fremont St` })).toBeVisible();
  });

  test("an admin sets the state's default key: invalid, METRC down, valid, removed", async ({ page }) => {
    test.setTimeout(60_000);
    await signInAsAdmin(page);
    await openFromAvatar(page, "Config Page");
    await expect(page.getByRole("heading", { name: "Metrc API Key & State Tracking Licenses" })).toBeVisible();
    const colorado = page.getByRole("region", { name: "Colorado (CO)" });
    const key = colorado.getByLabel("Colorado default key");
    const save = colorado.getByRole("button", { name: "Verify & Save" });

    await key.fill(KEYS.coRevoked);
    await save.click();
    const alert = page.getByRole("alert");
    await expect(alert).toContainText("This METRC API key is not valid for Colorado. The default key was not changed.");
    await alert.getByRole("button", { name: "Dismiss notification" }).click();

    await addFault(page, { state: "co", kind: "unavailable" });
    await key.fill(` ${CO_MANAGER} `);
    await save.click();
    // The server retries METRC within its deadline (20 s) before it gives up.
    await expect(alert).toContainText("METRC could not be reached. The default key was not changed", { timeout: 30_000 });
    await alert.getByRole("button", { name: "Dismiss notification" }).click();
    await clearFaults(page);

    await save.click();
    const status = page.getByRole("status");
    await expect(status).toContainText("Default key verified and saved.");
    await status.getByRole("button", { name: "Dismiss notification" }).click();
    await expect(colorado).toContainText("Default key ••••0005 — Verified; set by Avery Admin");
    await expect(colorado.getByRole("heading", { name: "Not covered by the default key" })).toHaveCount(0);
    await expect(page.locator("body")).not.toContainText(CO_MANAGER);

    // Removing asks first; Cancel keeps it, "Yes, remove" removes it, and every CO license is then uncovered.
    await colorado.getByRole("button", { name: "Remove default key" }).click();
    const dialog = page.getByRole("dialog", { name: "Remove the default key?" });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(colorado).toContainText("Default key ••••0005");
    await colorado.getByRole("button", { name: "Remove default key" }).click();
    await dialog.getByRole("button", { name: "Yes, remove" }).click();
    await expect(page.getByRole("status")).toContainText("Default key removed.");
    await expect(colorado).toContainText("No default key.");
    await expect(colorado.getByRole("heading", { name: "Not covered by the default key" })).toBeVisible();

    // Put it back for the other specs' world.
    await key.fill(CO_MANAGER);
    await save.click();
    await expect(colorado).toContainText("Default key ••••0005 — Verified");
  });

  test("a new user sets a password through the one-time link and signs in", async ({ page, browser }) => {
    await signInAsAdmin(page);
    const origin = new URL(page.url()).origin;
    const email = `new-${Date.now()}@demo.test`;
    const added = await page.request.post("/api/admin/users", {
      data: { email, display_name: "Nia New", role: "staff" },
      headers: { origin },
    });
    expect(added.status()).toBe(201);
    const { url } = await added.json();
    const link = new URL(url);

    const visitor = await browser.newPage();
    await visitor.goto(`${link.pathname}${link.hash}`);
    await expect(visitor.getByRole("heading", { name: "Choose your password" })).toBeVisible();
    await visitor.getByLabel("New password", { exact: true }).fill("short");
    await visitor.getByLabel("Repeat the password").fill("short");
    await visitor.getByRole("button", { name: "Set password" }).click();
    await expect(visitor.getByText("Choose a password of at least 12 characters.")).toBeVisible();
    await visitor.getByLabel("New password", { exact: true }).fill("a long new password");
    await visitor.getByLabel("Repeat the password").fill("a long new password");
    await visitor.getByRole("button", { name: "Set password" }).click();
    await expect(visitor.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await signIn(visitor, email, "a long new password");
    await expect(visitor.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await visitor.close();
  });

  test("an admin adds a user, who sets a password; once deactivated they cannot sign in", async ({ page, browser }) => {
    await signInAsAdmin(page);
    await openFromAvatar(page, "Organization Management");
    await page.getByRole("navigation", { name: "Organization Management" }).getByRole("link", { name: "Users" }).click();
    await expect(page.getByRole("heading", { name: "Users", exact: true })).toBeVisible();
    const email = `dee-${Date.now()}@demo.test`;
    const form = page.getByRole("form", { name: "Add user" });
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Name").fill("Dee Activate");
    await form.getByLabel("Role").selectOption({ label: "Staff" });
    await form.getByRole("button", { name: "Add user" }).click();
    await expect(page.getByRole("status")).toContainText("Dee Activate added.");
    const url = await page.getByRole("textbox", { name: "Set-up link" }).inputValue();
    expect(url).toContain("/set-password#");
    await expect(page.getByRole("row", { name: /Dee Activate/ })).toContainText("Invited (no password yet)");

    const dee = await browser.newPage();
    const link = new URL(url);
    await dee.goto(`${link.pathname}${link.hash}`);
    await dee.getByLabel("New password", { exact: true }).fill("dee's long password");
    await dee.getByLabel("Repeat the password").fill("dee's long password");
    await dee.getByRole("button", { name: "Set password" }).click();
    await expect(dee.getByRole("heading", { name: "Sign in" })).toBeVisible();

    await page.reload();
    await page.getByRole("button", { name: "Deactivate Dee Activate" }).click();
    const dialog = page.getByRole("dialog", { name: "Deactivate this user?" });
    await expect(dialog).toContainText("Dee Activate will be signed out at once and unable to sign in, and their stored METRC keys will be destroyed.");
    await dialog.getByRole("button", { name: "Yes, deactivate" }).click();
    await expect(page.getByRole("row", { name: /Dee Activate/ })).toContainText("Deactivated");

    await signIn(dee, email, "dee's long password");
    await expect(dee.getByRole("alert")).toContainText("This account is deactivated.");
    await dee.close();
  });
});

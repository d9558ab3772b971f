import { type Page } from "@playwright/test";
import { KEYS, addFault, clearFaults, deleteAllCredentials, expect, newUserWithPassword, saveCredentialViaApi, signIn, test } from "./fixtures";

// The admin side as a new admin would use it, found by label and role.

const CO_MANAGER = "demo-co-manager-00000000000000000000000000000005";

async function signInAsAdmin(page: Page) {
  await page.goto("/account/traceability-credentials");
  await signIn(page, "admin@demo.test");
  await expect(page.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
}

async function openFromAvatar(page: Page, item: string) {
  await page.getByRole("button", { name: /account menu/ }).click();
  await page.getByRole("menuitem", { name: item }).click();
}

test.describe("Administration", () => {
  test.afterEach(async ({ page }) => {
    await clearFaults(page);
  });

  test("a staff member sees none of the admin menu items and gets 403 from the admin APIs", async ({ page }) => {
    await page.goto("/account/traceability-credentials");
    await signIn(page, "staff@demo.test");
    await page.getByRole("button", { name: /account menu/ }).click();
    const items = page.getByRole("menu", { name: "Account" }).getByRole("menuitem");
    await expect(items).toHaveText(["Manage account", "Register", "Sign out"]);
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

    // Its name, type and time zone can be edited; its number and state cannot.
    await page.getByRole("row", { name: new RegExp(number) }).getByRole("button", { name: "Edit", exact: true }).click();
    const edit = page.getByRole("form", { name: `Edit license ${number}` });
    await expect(edit.getByLabel("License number")).toHaveCount(0);
    await edit.getByLabel("Name").fill("Las Vegas – Fremont Street");
    await edit.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("row", { name: new RegExp(number) })).toContainText("Las Vegas – Fremont Street");
    await expect(edit).toHaveCount(0);

    // Back on the credentials page, Nevada and the license are offered.
    await openFromAvatar(page, "Manage account");
    await page.getByRole("button", { name: "+ Add Credential" }).click();
    const newForm = page.getByRole("form", { name: "New credential" });
    await newForm.getByLabel("Select State").selectOption({ label: "Nevada (NV)" });
    await newForm.getByRole("button", { name: "Select the license(s) of your credential" }).click();
    await expect(newForm.getByRole("option", { name: `${number} — Las Vegas – Fremont Street` })).toBeVisible();
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
    await page.getByRole("row", { name: /Dee Activate/ }).getByRole("button", { name: "Deactivate" }).click();
    const dialog = page.getByRole("dialog", { name: "Deactivate this user?" });
    await expect(dialog).toContainText("Dee Activate will be signed out at once and unable to sign in, and their stored METRC keys will be destroyed.");
    await dialog.getByRole("button", { name: "Yes, deactivate" }).click();
    await expect(page.getByRole("row", { name: /Dee Activate/ })).toContainText("Deactivated");

    // Out of coverage, too.
    await page.getByRole("navigation", { name: "Organization Management" }).getByRole("link", { name: "Coverage" }).click();
    const perUser = page.getByRole("table", { name: "Coverage per user" });
    await expect(perUser.getByRole("row", { name: /Sam Staff/ })).toBeVisible();
    await expect(perUser.getByRole("row", { name: /Dee Activate/ })).toHaveCount(0);

    await signIn(dee, email, "dee's long password");
    await expect(dee.getByRole("alert")).toContainText("This account is deactivated.");
    await dee.close();
  });

  test("coverage follows a staff member's new credential, and the audit log records it", async ({ page, browser }) => {
    const staff = await browser.newPage();
    await staff.goto("/account/traceability-credentials");
    await signIn(staff, "staff@demo.test");
    await expect(staff.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await deleteAllCredentials(staff);

    await signInAsAdmin(page);
    await page.goto("/admin/organization/coverage");
    const perUser = page.getByRole("table", { name: "Coverage per user" });
    const sam = perUser.getByRole("row", { name: /Sam Staff/ });
    // Columns: 402R-00101, 402R-00102 (CO, the default key reaches both), MR281001 (MA, no default key), …
    await expect(sam.getByRole("cell").nth(0)).toHaveText("default key");
    await expect(sam.getByRole("cell").nth(1)).toHaveText("default key");
    await expect(sam.getByRole("cell").nth(2)).toHaveText("not covered");
    const fallback = page.getByLabel("Only users who fall back to a default key");
    await fallback.check();
    await expect(sam).toBeVisible();

    await saveCredentialViaApi(staff, "CO", ["402R-00101", "402R-00102"], KEYS.coBoth);
    await page.reload();
    await expect(sam.getByRole("cell").nth(0)).toHaveText("own key");
    await expect(sam.getByRole("cell").nth(1)).toHaveText("own key");
    const counts = page.getByRole("table", { name: "Coverage per license" }).getByRole("row", { name: /402R-00101/ });
    await expect(counts.getByRole("cell").nth(0)).toHaveText("1", { useInnerText: true });
    await fallback.check();
    await expect(sam).toHaveCount(0);

    // The audit log, filtered to Sam, shows the credential they added, with its licenses.
    await page.getByRole("navigation", { name: "Organization Management" }).getByRole("link", { name: "Audit log" }).click();
    await page.getByLabel("User").selectOption({ label: "Sam Staff <staff@demo.test>" });
    const first = page.getByRole("table", { name: "Audit log" }).getByRole("row").nth(1);
    await expect(first).toContainText("credential added");
    await expect(first).toContainText("402R-00101, 402R-00102");
    await expect(page.getByRole("table", { name: "Audit log" })).not.toContainText(KEYS.coBoth);
    await deleteAllCredentials(staff);
    await staff.close();
  });

  test("the audit log pages back with 'Older entries', and a slow answer for an old filter never replaces the new one", async ({ page }) => {
    await signInAsAdmin(page);
    const { id, name, email } = await newUserWithPassword(page, "Pat Pages", "plum kettle orbit 42");
    const pat = `${name} <${email}>`;
    // 105 role changes: more than one page (100) of Pat's entries.
    const origin = new URL(page.url()).origin;
    let version = 1;
    for (let i = 0; i < 105; i++) {
      const changed = await page.request.put(`/api/admin/users/${id}`, {
        headers: { origin },
        data: { role: i % 2 === 0 ? "admin" : "staff", active: true, version },
      });
      expect(changed.status()).toBe(200);
      version = (await changed.json()).version;
    }
    await page.goto("/admin/organization/audit");
    const log = page.getByRole("table", { name: "Audit log" });
    const filter = page.getByLabel("User");
    await filter.selectOption({ label: pat });
    await expect(log.getByRole("row")).toHaveCount(1 + 100);
    await page.getByRole("button", { name: "Older entries" }).click();
    // Pat's 107 entries: added, password set, 105 role changes.
    await expect(log.getByRole("row")).toHaveCount(1 + 107);
    await expect(page.getByRole("button", { name: "Older entries" })).toHaveCount(0);

    // Pat's entries answer slowly; Sam's are chosen meanwhile: Sam's stay on screen.
    await filter.selectOption({ label: "Everyone" });
    await page.route(`**/api/admin/audit?user=${id}*`, async (route) => {
      await new Promise((done) => setTimeout(done, 1_500));
      await route.continue();
    });
    await filter.selectOption({ label: pat });
    await filter.selectOption({ label: "Sam Staff <staff@demo.test>" });
    await page.waitForTimeout(2_500);
    await expect(filter.locator("option:checked")).toHaveText("Sam Staff <staff@demo.test>");
    // Sam's entries are on screen (or that he has none), and none of Pat's.
    await expect(log.getByRole("row").nth(1).or(page.getByText("Nothing recorded for these filters."))).toBeVisible();
    await expect(log).not.toContainText(name);
    await page.unroute(`**/api/admin/audit?user=${id}*`);
  });

  test("the Config page stops tracking a license after a warning, and tracks it again", async ({ page }) => {
    await signInAsAdmin(page);
    const origin = new URL(page.url()).origin;
    const number = `MR28${Date.now() % 100_000}`;
    const added = await page.request.post("/api/admin/licenses", {
      data: { number, state: "MA", name: "Cambridge – Mass Ave", license_type: "Marijuana Retailer", time_zone: "" },
      headers: { origin },
    });
    expect(added.status()).toBe(201);
    await page.goto("/admin/config/integration");
    const massachusetts = page.getByRole("region", { name: "Massachusetts (MA)" });
    const item = massachusetts.getByRole("listitem").filter({ hasText: number });
    await item.getByRole("button", { name: "Stop tracking" }).click();
    const dialog = page.getByRole("dialog", { name: "Take this license out of use?" });
    await expect(dialog).toContainText(`${number} will no longer be offered for credentials, and new sales and adjustments at it will be refused. No credential lists it. Reports already recorded are still sent.`);
    await dialog.getByRole("button", { name: "Yes, continue" }).click();
    const tracking = massachusetts.getByRole("list", { name: "Tracking licenses" });
    await expect(tracking.getByRole("listitem").filter({ hasText: number })).toContainText("(not tracked)");
    // Tracking again takes nothing away: no question asked.
    await item.getByRole("button", { name: "Track", exact: true }).click();
    await expect(item.getByRole("button", { name: "Stop tracking" })).toBeVisible();
    await expect(dialog).toBeHidden();
  });
});

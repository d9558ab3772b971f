import { type Page } from "@playwright/test";
import { KEYS, SIM_URL, addFault, deleteAllCredentials, expect, expectAccessible, freshCoKey, layoutProblems, saveCredentialViaApi, signIn, test } from "./fixtures";

// Sales recorded on the Register page, the key they go out under, and what happens when a key stops working.

const COLFAX_PACKAGE = "1A4402R0010100000000" + "0001";

async function signInAt(page: Page, email: string, path: string) {
  await page.goto(path);
  await signIn(page, email);
}

async function recordSale(page: Page, license: string) {
  const form = page.getByRole("form", { name: "Record a sale" });
  await form.getByLabel("License", { exact: true }).selectOption({ label: license });
  await form.getByLabel("Package label").fill(COLFAX_PACKAGE);
  await form.getByLabel("Quantity").fill("1");
  await form.getByLabel("Unit").selectOption("Grams");
  await form.getByLabel("Total amount").fill("12.50");
  await form.getByRole("button", { name: "Record sale" }).click();
  const status = page.getByRole("status");
  await expect(status).toContainText(/Sale TC-\d+ recorded\./);
  const number = (await status.textContent())!.match(/TC-\d+/)![0];
  await status.getByRole("button", { name: "Dismiss notification" }).click();
  return number;
}

function reportRow(page: Page, number: string) {
  return page.getByRole("table", { name: "My reports" }).getByRole("row", { name: new RegExp(number) });
}

test.describe("Reporting", () => {
  test("a sale goes out under the default key without a credential, and under the user's own key with one", async ({ page }) => {
    await signInAt(page, "staff@demo.test", "/account/traceability-credentials");
    await expect(page.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await deleteAllCredentials(page);
    await page.getByRole("button", { name: /account menu/ }).click();
    await page.getByRole("menuitem", { name: "Register" }).click();
    await expect(page.getByRole("heading", { name: "Register" })).toBeVisible();

    const first = await recordSale(page, "402R-00101 — Denver – Colfax Ave");
    await expect(reportRow(page, first)).toContainText("Sent");
    await expect(reportRow(page, first)).toContainText("default key");

    await saveCredentialViaApi(page, "CO", ["402R-00101", "402R-00102"], KEYS.coBoth);
    const second = await recordSale(page, "402R-00101 — Denver – Colfax Ave");
    await expect(reportRow(page, second)).toContainText("own key");
    await expect(reportRow(page, second)).toContainText("Sent");
    await deleteAllCredentials(page);
  });

  test("a revoked key: 401 Unauthorized in Compliance Management and on the credentials page, resent once fixed", async ({ page, browser }) => {
    await signInAt(page, "staff@demo.test", "/account/traceability-credentials");
    await expect(page.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await deleteAllCredentials(page);
    const key = await freshCoKey(page);
    await saveCredentialViaApi(page, "CO", ["402R-00101", "402R-00102"], key);
    expect((await page.request.post(`${SIM_URL}/_sim/states/co/user-keys/${key}/revoke`)).ok()).toBeTruthy();

    await page.goto("/register");
    const number = await recordSale(page, "402R-00101 — Denver – Colfax Ave");
    await expect(reportRow(page, number)).toContainText("401 Unauthorized");
    await expect(reportRow(page, number)).toContainText("Held");

    // The admin sees it in Compliance Management, under nobody else's key.
    const admin = await browser.newPage();
    await signInAt(admin, "admin@demo.test", "/account/traceability-credentials");
    await expect(admin.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await admin.getByRole("button", { name: /account menu/ }).click();
    await admin.getByRole("menuitem", { name: "Compliance Management" }).click();
    const row = admin.getByRole("table", { name: "Reports not sent" }).getByRole("row", { name: new RegExp(number) });
    await expect(row).toContainText("401 Unauthorized");
    await expect(row).toContainText("Sam Staff");
    await expect(admin.getByRole("list", { name: "Counts by reason" })).toContainText("401 Unauthorized:");

    // The staff member sees it on the credentials page, and fixes the key.
    await page.goto("/account/traceability-credentials");
    const credential = page.getByRole("group", { name: new RegExp(`••••${key.slice(-4)}`) });
    await expect(credential).toContainText("Invalid key — 401 Unauthorized");
    await expect(credential).toContainText("1 report waiting for this key");
    // The longest facts line there is still fits a phone.
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await layoutProblems(page), "credentials with a report waiting, at 390 px").toEqual([]);
    await page.setViewportSize({ width: 1280, height: 720 });
    const newKey = await freshCoKey(page);
    await credential.getByLabel("Metrc User API Key").fill(newKey);
    await credential.getByRole("button", { name: "Verify & Save" }).click();
    await expect(page.getByRole("status")).toContainText("Credential verified and saved.");

    await page.goto("/register");
    await expect(reportRow(page, number)).toContainText("Sent", { timeout: 15_000 });
    await expect(reportRow(page, number)).toContainText("own key");
    const recorded = await (await page.request.get(`${SIM_URL}/_sim/states/co/reports`)).json();
    const text = JSON.stringify(recorded);
    expect(text.split(number).length - 1, "the receipt reached METRC exactly once").toBe(1);
    await admin.reload();
    await expect(admin.getByRole("row", { name: new RegExp(number) })).toHaveCount(0);
    await admin.close();
    await deleteAllCredentials(page);
  });

  test("an admin dismisses a held report with a reason", async ({ page, browser }) => {
    await signInAt(page, "staff@demo.test", "/register");
    await expect(page.getByRole("heading", { name: "Register" })).toBeVisible();
    await deleteAllCredentials(page);
    // Massachusetts has no default key: without a credential the sale is held.
    const form = page.getByRole("form", { name: "Record a sale" });
    await form.getByLabel("License", { exact: true }).selectOption({ label: "MR281001 — Boston – Newbury St" });
    await form.getByLabel("Package label").fill("1A4MR281001000000000001");
    await form.getByLabel("Quantity").fill("1");
    await form.getByLabel("Unit").selectOption("Grams");
    await form.getByLabel("Total amount").fill("10");
    await form.getByRole("button", { name: "Record sale" }).click();
    await expect(page.getByRole("status")).toContainText(/Sale TC-\d+ recorded\./);
    const number = (await page.getByRole("status").textContent())!.match(/TC-\d+/)![0];
    await expect(reportRow(page, number)).toContainText("No credential for MR281001");

    const admin = await browser.newPage();
    await signInAt(admin, "admin@demo.test", "/admin/compliance");
    await expect(admin.getByRole("heading", { name: "Compliance Management" })).toBeVisible();
    await admin.getByRole("row", { name: new RegExp(number) }).getByRole("button", { name: "Dismiss", exact: true }).click();
    const dismiss = admin.getByRole("form", { name: `Dismiss Sale ${number}` });
    await dismiss.getByRole("button", { name: "Dismiss report" }).click();
    await expect(dismiss.getByText("Say why this report will not be sent")).toBeVisible();
    await dismiss.getByLabel("Reason").fill("Test sale at the demo register");
    await dismiss.getByRole("button", { name: "Dismiss report" }).click();
    await expect(admin.getByRole("status")).toContainText("Report dismissed.");
    await expect(admin.getByRole("row", { name: new RegExp(number) })).toHaveCount(0);
    await admin.goto("/admin/organization/audit");
    await expect(admin.getByRole("table", { name: "Audit log" }).getByRole("row").nth(1)).toContainText("report dismissed");
    await expect(admin.getByRole("table", { name: "Audit log" }).getByRole("row").nth(1)).toContainText("Test sale at the demo register");
    await admin.close();
  });

  test("an adjustment whose outcome is unknown is resent only once the admin says METRC does not have it", async ({ page, browser }) => {
    await signInAt(page, "staff@demo.test", "/register");
    await expect(page.getByRole("heading", { name: "Register" })).toBeVisible();
    await deleteAllCredentials(page);
    // METRC answers the adjustment's POST with a 500: it may or may not have applied it.
    await addFault(page, { state: "co", kind: "server_error", times: 1 });
    const form = page.getByRole("form", { name: "Record an adjustment" });
    await form.getByLabel("License", { exact: true }).selectOption({ label: "402R-00101 — Denver – Colfax Ave" });
    await form.getByLabel("Package label").fill(COLFAX_PACKAGE);
    await form.getByLabel("Quantity (minus for a loss)").fill("-1");
    await form.getByLabel("Unit").selectOption("Grams");
    await form.getByLabel("Reason").fill("Drying");
    await form.getByLabel("Date").fill("2026-11-27");
    await form.getByRole("button", { name: "Record adjustment" }).click();
    await expect(page.getByRole("status")).toContainText(/Adjustment #\d+ recorded\./);
    const id = (await page.getByRole("status").textContent())!.match(/#(\d+)/)![1];
    const title = `Adjustment #${id}`;

    const admin = await (await browser.newContext()).newPage(); // axe-core needs a context of its own
    await signInAt(admin, "admin@demo.test", "/admin/compliance");
    await expect(admin.getByRole("heading", { name: "Compliance Management" })).toBeVisible();
    const row = admin.getByRole("table", { name: "Reports not sent" }).getByRole("row", { name: new RegExp(`${title}\\b`) });
    await expect(row).toContainText("Outcome unknown", { timeout: 15_000 });

    // "Resend" asks first; Cancel changes nothing.
    await row.getByRole("button", { name: "Resend", exact: true }).click();
    const dialog = admin.getByRole("dialog", { name: "Is this adjustment in METRC?" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText("Look for it in METRC first");
    await expectAccessible(admin, "Compliance Management, 'Is this adjustment in METRC?' open");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
    await expect(row).toContainText("Outcome unknown");
    // By keyboard too: Enter opens it with "Cancel" focused (a stray Enter never confirms), Escape closes it.
    await row.getByRole("button", { name: "Resend", exact: true }).focus();
    await admin.keyboard.press("Enter");
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
    await admin.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(row).toContainText("Outcome unknown");

    await row.getByRole("button", { name: "Resend", exact: true }).click();
    await dialog.getByRole("button", { name: "I checked METRC: this adjustment is not there" }).click();
    await expect(admin.getByRole("status")).toContainText(`${title} will be sent again.`);
    await expect(async () => {
      await admin.reload();
      await expect(admin.getByRole("row", { name: new RegExp(`${title}\\b`) })).toHaveCount(0);
    }).toPass({ timeout: 15_000 });
    await admin.goto("/admin/organization/audit");
    await expect(admin.getByRole("table", { name: "Audit log" }).getByRole("row").nth(1)).toContainText("checked METRC: not there");
    await admin.context().close();
  });
});

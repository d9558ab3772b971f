import { type Page } from "@playwright/test";
import {
  COLFAX,
  KEYS,
  NEWBURY,
  PEARL,
  addFault,
  clearFaults,
  deleteAllCredentials,
  expect,
  saveCredentialViaApi,
  signIn,
  signInFresh,
  test,
} from "./fixtures";

// The article, step by step, as a staff member would do it: found by label and role.

const LICENSES = "Select the license(s) of your credential";

function newForm(page: Page) {
  return page.getByRole("form", { name: "New credential" });
}

function credential(page: Page, label: string) {
  return page.getByRole("group", { name: label });
}

/** The licenses a stored credential lists. */
function licensesOf(page: Page, label: string) {
  return credential(page, label).getByRole("list", { name: "Licenses" }).getByRole("listitem");
}

async function fillNewCredential(page: Page, state: string, licenses: string[], key: string) {
  await page.getByRole("button", { name: "+ Add Credential" }).click();
  const form = newForm(page);
  await form.getByLabel("Traceability Provider").selectOption({ label: "METRC" });
  await form.getByLabel("Select State").selectOption({ label: state });
  await form.getByRole("button", { name: LICENSES }).click();
  for (const license of licenses) {
    await form.getByRole("option", { name: license }).click();
  }
  await form.getByLabel("Metrc User API Key").fill(key);
}

async function verifyAndSave(scope: ReturnType<Page["locator"]>) {
  await scope.getByRole("button", { name: "Verify & Save" }).click();
}

test.describe("Traceability Credentials", () => {
  test.afterEach(async ({ page }) => {
    await clearFaults(page);
  });

  test("adds a credential: the key verifies for both licenses and is saved", async ({ page }) => {
    await signInFresh(page);
    // Steps 1–2: the avatar menu leads to Manage account → Traceability Credentials.
    await page.getByRole("button", { name: /account menu/ }).click();
    await page.getByRole("menuitem", { name: "Manage account" }).click();
    await page.getByRole("navigation", { name: "Manage account" }).getByRole("link", { name: "Traceability Credentials" }).click();

    await fillNewCredential(page, "Colorado (CO)", [COLFAX, PEARL], `  ${KEYS.coBoth}\n`);
    const form = newForm(page);
    const list = form.getByRole("listbox", { name: LICENSES });
    await expect(list).toHaveAttribute("aria-multiselectable", "true");
    for (const license of [COLFAX, PEARL]) {
      const option = list.getByRole("option", { name: license });
      await expect(option).toHaveAttribute("aria-selected", "true");
      await expect(option.locator(".check")).toHaveText("✓");
    }
    // The key is masked until asked for.
    await expect(form.getByLabel("Metrc User API Key")).toHaveAttribute("type", "password");
    await verifyAndSave(form);

    await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
    const saved = credential(page, "METRC · Colorado · ••••0001");
    await expect(saved).toBeVisible();
    await expect(saved.getByText(COLFAX)).toBeVisible();
    await expect(saved.getByText(PEARL)).toBeVisible();
    // Provider, state and the key masked to its last four: the group's heading.
    await expect(saved.getByRole("heading", { name: "METRC · Colorado · ••••0001" })).toBeVisible();
    await expect(saved.getByText("Verified", { exact: true })).toBeVisible();
    await expect(saved.getByText(/^Last verified /)).toBeVisible();
    await expect(page.getByText(KEYS.coBoth)).toHaveCount(0);
    await expect(newForm(page)).toHaveCount(0);
  });

  test("an invalid key is refused, nothing is saved and the form keeps its input", async ({ page }) => {
    await signInFresh(page);
    await fillNewCredential(page, "Colorado (CO)", [COLFAX], KEYS.coRevoked);
    await verifyAndSave(newForm(page));
    await expect(page.getByRole("alert")).toHaveText(/This METRC API key is not valid for Colorado\. Nothing was saved\./);
    await expect(newForm(page).getByLabel("Metrc User API Key")).toHaveValue(KEYS.coRevoked);
    await expect(newForm(page).getByText("Selected: 402R-00101")).toBeVisible();
    await expect(page.getByRole("group")).toHaveCount(0);
  });

  test("a license the key does not reach is named and nothing is saved", async ({ page }) => {
    await signInFresh(page);
    await fillNewCredential(page, "Colorado (CO)", [COLFAX, PEARL], KEYS.coColfaxOnly);
    await verifyAndSave(newForm(page));
    await expect(page.getByRole("alert")).toHaveText(
      /This METRC API key is not associated with 402R-00102\. Nothing was saved\./,
    );
    await expect(page.getByRole("group")).toHaveCount(0);
  });

  test("METRC down: could not be reached, never 'invalid', and nothing saved", async ({ page }) => {
    await signInFresh(page);
    await addFault(page, { state: "co", kind: "unavailable" });
    await fillNewCredential(page, "Colorado (CO)", [COLFAX], KEYS.coBoth);
    const form = newForm(page);
    await verifyAndSave(form);
    // Progress shows while the server retries METRC, and the button cannot be pressed twice.
    await expect(form.getByRole("button", { name: "Verifying with METRC…" })).toBeDisabled();
    await expect(page.getByRole("alert")).toHaveText(/METRC could not be reached\. Nothing was saved; please try again\./, {
      timeout: 30_000,
    });
    await expect(form.getByLabel("Metrc User API Key")).toHaveValue(KEYS.coBoth);
    await page.reload();
    await expect(page.getByText("You have no traceability credentials yet.")).toBeVisible();
  });

  test("edits licenses: green checks appear and disappear, and the change is verified", async ({ page }) => {
    await signInFresh(page);
    await saveCredentialViaApi(page, "CO", ["402R-00101"], KEYS.coBoth);
    await page.reload();
    const group = credential(page, "METRC · Colorado · ••••0001");
    await group.getByRole("button", { name: LICENSES }).click();
    const pearl = group.getByRole("option", { name: PEARL });
    await expect(pearl).toHaveAttribute("aria-selected", "false");
    await pearl.click();
    await expect(pearl).toHaveAttribute("aria-selected", "true");
    await expect(pearl.locator(".check")).toHaveText("✓");
    await pearl.click();
    await expect(pearl).toHaveAttribute("aria-selected", "false");
    await expect(pearl.locator(".check")).toHaveText("");
    await pearl.click();
    await verifyAndSave(group);
    await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
    await expect(licensesOf(page, "METRC · Colorado · ••••0001")).toHaveText([COLFAX, PEARL]);
  });

  test("replaces the key: the new key is verified and shown by its last four", async ({ page }) => {
    await signInFresh(page);
    await saveCredentialViaApi(page, "CO", ["402R-00101"], KEYS.coColfaxOnly);
    await page.reload();
    const group = credential(page, "METRC · Colorado · ••••0002");
    await group.getByLabel("Metrc User API Key").fill(KEYS.coBoth);
    await verifyAndSave(group);
    await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
    await expect(credential(page, "METRC · Colorado · ••••0001")).toBeVisible();
    await expect(credential(page, "METRC · Colorado · ••••0002")).toHaveCount(0);
  });

  test("deletes a credential with 'Yes, delete'", async ({ page }) => {
    await signInFresh(page);
    await saveCredentialViaApi(page, "CO", ["402R-00101", "402R-00102"], KEYS.coBoth);
    await page.reload();
    await credential(page, "METRC · Colorado · ••••0001").getByRole("button", { name: "Delete" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this credential?" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText(
      "Sales and adjustments you make at 402R-00101, 402R-00102 will be reported with your organization's default METRC key, if one is set.",
    );
    await dialog.getByRole("button", { name: "Yes, delete" }).click();
    await expect(page.getByRole("status")).toHaveText(/Credential deleted\./);
    await expect(page.getByRole("group")).toHaveCount(0);
    await page.reload();
    await expect(page.getByText("You have no traceability credentials yet.")).toBeVisible();
  });

  test("a deletion is cancelled by Cancel, Escape or a click outside", async ({ page }) => {
    await signInFresh(page);
    await saveCredentialViaApi(page, "CO", ["402R-00101"], KEYS.coBoth);
    await page.reload();
    const group = credential(page, "METRC · Colorado · ••••0001");
    const dialog = page.getByRole("dialog", { name: "Delete this credential?" });

    await group.getByRole("button", { name: "Delete" }).click();
    await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();

    await group.getByRole("button", { name: "Delete" }).click();
    await expect(dialog).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();

    await group.getByRole("button", { name: "Delete" }).click();
    await expect(dialog).toBeVisible();
    await page.mouse.click(5, 5);
    await expect(dialog).toBeHidden();

    await page.reload();
    await expect(credential(page, "METRC · Colorado · ••••0001")).toBeVisible();
  });

  test("a license already on a credential is not offered again", async ({ page }) => {
    await signInFresh(page);
    await saveCredentialViaApi(page, "CO", ["402R-00101"], KEYS.coColfaxOnly);
    await page.reload();
    await page.getByRole("button", { name: "+ Add Credential" }).click();
    const form = newForm(page);
    await form.getByLabel("Select State").selectOption({ label: "Colorado (CO)" });
    await form.getByRole("button", { name: LICENSES }).click();
    await expect(form.getByRole("listbox", { name: LICENSES }).getByRole("option")).toHaveText([PEARL]);
  });

  test("two METRC accounts in one state: two credentials with disjoint licenses", async ({ page }) => {
    await signInFresh(page);
    await fillNewCredential(page, "Colorado (CO)", [COLFAX], KEYS.coColfaxOnly);
    await verifyAndSave(newForm(page));
    await expect(credential(page, "METRC · Colorado · ••••0002")).toBeVisible();
    await fillNewCredential(page, "Colorado (CO)", [PEARL], KEYS.coBoth);
    await verifyAndSave(newForm(page));
    await expect(licensesOf(page, "METRC · Colorado · ••••0001")).toHaveText([PEARL]);
    await expect(licensesOf(page, "METRC · Colorado · ••••0002")).toHaveText([COLFAX]);
  });

  test("licenses in two states: one credential per state", async ({ page }) => {
    await signInFresh(page);
    await fillNewCredential(page, "Colorado (CO)", [COLFAX, PEARL], KEYS.coBoth);
    await verifyAndSave(newForm(page));
    await expect(credential(page, "METRC · Colorado · ••••0001")).toBeVisible();
    await fillNewCredential(page, "Massachusetts (MA)", [NEWBURY], KEYS.maNewbury);
    await verifyAndSave(newForm(page));
    await expect(credential(page, "METRC · Massachusetts · ••••0003")).toBeVisible();
    await expect(page.getByRole("group")).toHaveCount(2);
  });

  test("another person's key is refused", async ({ page, browser }) => {
    await signInFresh(page);
    // The admin saves their key first, in a browser of their own.
    const adminContext = await browser.newContext();
    const admin = await adminContext.newPage();
    await signInFresh(admin, "admin@demo.test");
    await saveCredentialViaApi(admin, "CO", ["402R-00101"], KEYS.coBoth);

    await page.reload();
    await fillNewCredential(page, "Colorado (CO)", [COLFAX], KEYS.coBoth);
    await verifyAndSave(newForm(page));
    await expect(page.getByRole("alert")).toHaveText(
      /This key belongs to another METRC account holder in your organization\. Use your own METRC user API key\./,
    );
    await expect(page.getByRole("group")).toHaveCount(0);

    await deleteAllCredentials(admin);
    await adminContext.close();
  });

  test("the whole add flow works with the keyboard only", async ({ page }) => {
    await signInFresh(page);
    await page.getByRole("button", { name: "+ Add Credential" }).focus();
    await page.keyboard.press("Enter");
    const form = newForm(page);
    await expect(form.getByLabel("Traceability Provider")).toBeFocused();
    await page.keyboard.press("Tab");
    await expect(form.getByLabel("Select State")).toBeFocused();
    await page.keyboard.press("ArrowDown");
    await expect(form.getByLabel("Select State")).toHaveValue("CO");
    await page.keyboard.press("Tab");
    await expect(form.getByRole("button", { name: LICENSES })).toBeFocused();
    await page.keyboard.press("Enter");
    const list = form.getByRole("listbox", { name: LICENSES });
    await expect(list).toBeFocused();
    await page.keyboard.press("Space");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Space");
    await expect(list.getByRole("option", { selected: true })).toHaveCount(2);
    await page.keyboard.press("Escape");
    await expect(list).toBeHidden();
    await expect(form.getByRole("button", { name: LICENSES })).toBeFocused();
    await page.keyboard.press("Tab");
    await expect(form.getByLabel("Metrc User API Key")).toBeFocused();
    await page.keyboard.type(KEYS.coBoth);
    await page.keyboard.press("Tab");
    await expect(form.getByRole("button", { name: "Show key" })).toBeFocused();
    await page.keyboard.press("Tab");
    await expect(form.getByRole("button", { name: "Verify & Save" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
    await expect(licensesOf(page, "METRC · Colorado · ••••0001")).toHaveText([COLFAX, PEARL]);
  });

  test("notifications are announced: successes as status, failures as alert", async ({ page }) => {
    await signInFresh(page);
    await fillNewCredential(page, "Colorado (CO)", [COLFAX], KEYS.coRevoked);
    await verifyAndSave(newForm(page));
    const alert = page.getByRole("alert");
    await expect(alert).toContainText("not valid for Colorado");
    await alert.getByRole("button", { name: "Dismiss notification" }).click();
    await newForm(page).getByLabel("Metrc User API Key").fill(KEYS.coBoth);
    await verifyAndSave(newForm(page));
    await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
    await expect(page.getByRole("alert")).toHaveCount(0);
  });

  test("after a save, the key's other facilities can be added with one click", async ({ page }) => {
    await signInFresh(page);
    await fillNewCredential(page, "Colorado (CO)", [COLFAX], KEYS.coBoth);
    await verifyAndSave(newForm(page));
    const group = credential(page, "METRC · Colorado · ••••0001");
    const note = group.getByRole("note");
    await expect(note).toContainText("This key also reaches:");
    await expect(note).toContainText("402R-00102 — Boulder – Pearl St");
    await note.getByRole("button", { name: "Add 402R-00102" }).click();
    await expect(licensesOf(page, "METRC · Colorado · ••••0001")).toHaveText([COLFAX, PEARL]);
  });
});

test("a signed-out visitor is sent to sign in and back to the credentials page", async ({ page }) => {
  await page.goto("/account/traceability-credentials");
  await signIn(page, "staff@demo.test");
  await expect(page).toHaveURL(/\/account\/traceability-credentials$/);
});

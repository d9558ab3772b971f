import { type Page } from "@playwright/test";
import {
  KEYS,
  expect,
  freshCoKey,
  expectAccessible,
  heldSale,
  saveCredentialViaApi,
  signIn,
  signInFresh,
  test,
} from "./fixtures";

// axe-core (WCAG 2.2 A/AA) over every screen and state, and the article's flow walked with the keyboard
// alone, the focus visible at every step.

const LICENSES = "Select the license(s) of your credential";

async function signInAt(page: Page, email: string, path: string, password?: string) {
  await page.goto(path);
  await signIn(page, email, password);
}

/** The element that has the focus shows it: a `:focus-visible` outline at least 2 px wide in a colour
 * that is not transparent (the style sheet's focus ring). */
async function expectVisibleFocus(page: Page, what: string) {
  const shown = await page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element || element === document.body) return "nothing has the focus";
    const name = `${element.tagName} "${(element.getAttribute("aria-label") ?? element.textContent ?? "").trim().slice(0, 40)}"`;
    if (!element.matches(":focus-visible")) return `${name} is focused without :focus-visible`;
    const style = getComputedStyle(element);
    const transparent = style.outlineColor === "transparent" || /rgba\(.*,\s*0\)$/.test(style.outlineColor);
    const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 && !transparent;
    return outlined ? "ok" : `${name} shows no focus ring (outline ${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor})`;
  });
  expect(shown, `visible focus: ${what}`).toBe("ok");
}

/** Tab (forwards) until `target` has the focus; the focus is visible at every stop on the way. (Past the
 * page's last control the focus leaves the document once before Tab starts again from the top.) */
async function tabTo(page: Page, target: ReturnType<Page["locator"]>, what: string) {
  let wrapped = 0;
  for (let i = 0; i < 60; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) {
      await expectVisibleFocus(page, what);
      return;
    }
    await page.keyboard.press("Tab");
    const outside = await page.evaluate(() => !document.activeElement || document.activeElement === document.body);
    if (outside && wrapped++ < 2) continue;
    await expectVisibleFocus(page, `on the way to ${what}`);
  }
  throw new Error(`Tab never reached ${what}`);
}

test.describe("Accessibility (axe-core, WCAG 2.2 A/AA)", () => {
  test("sign-in, the credentials page in each state, and the avatar menu", async ({ page }) => {
    await page.goto("/sign-in");
    await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
    await expectAccessible(page, "sign-in");

    await signInFresh(page);
    await expectAccessible(page, "credentials, empty");

    await page.getByRole("button", { name: "+ Add Credential" }).click();
    const form = page.getByRole("form", { name: "New credential" });
    await form.getByLabel("Select State").selectOption({ label: "Colorado (CO)" });
    await expectAccessible(page, "credentials, form open");
    await form.getByRole("button", { name: LICENSES }).click();
    await expect(form.getByRole("listbox", { name: LICENSES })).toBeVisible();
    await expectAccessible(page, "credentials, license list open");

    await saveCredentialViaApi(page, "CO", ["402R-00101"], KEYS.coBoth);
    await page.reload();
    const group = page.getByRole("group", { name: "METRC · Colorado · ••••0001" });
    await expect(group).toBeVisible();
    await expectAccessible(page, "credentials, with data");
    await group.getByRole("button", { name: "Delete" }).click();
    await expect(page.getByRole("dialog", { name: "Delete this credential?" })).toBeVisible();
    await expectAccessible(page, "credentials, delete dialog open");
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();

    await page.getByRole("button", { name: /account menu/ }).click();
    await expect(page.getByRole("menu", { name: "Account" })).toBeVisible();
    await expectAccessible(page, "avatar menu open");
  });

  test("every admin screen, with Compliance Management's rows and dialogs", async ({ page }) => {
    await signInAt(page, "admin@demo.test", "/admin/organization/licenses");
    await expect(page.getByRole("heading", { name: "Organization Management" })).toBeVisible();
    await expectAccessible(page, "Organization Management > Licenses");
    for (const [tab, path] of [
      ["Users", "/admin/organization/users"],
      ["Coverage", "/admin/organization/coverage"],
      ["Audit log", "/admin/organization/audit"],
    ]) {
      await page.getByRole("navigation", { name: "Organization Management" }).getByRole("link", { name: tab }).click();
      await expect(page).toHaveURL(path);
      await expect(page.getByRole("heading", { name: tab, level: 2 })).toBeVisible();
      await expect(page.getByRole("table").first()).toBeVisible();
      await expectAccessible(page, `Organization Management > ${tab}`);
    }
    await page.getByRole("navigation", { name: "Organization Management" }).getByRole("link", { name: "Users" }).click();
    await page.getByRole("row", { name: /Sam Staff/ }).getByRole("button", { name: "Reset password" }).click();
    await expect(page.getByRole("dialog", { name: "Reset this user's password?" })).toBeVisible();
    await expectAccessible(page, "Users, reset dialog open");
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();

    await page.goto("/admin/config/integration");
    await expect(page.getByRole("heading", { name: "Config Page" })).toBeVisible();
    await expectAccessible(page, "Config Page");

    await heldSale(page);
    await page.goto("/admin/compliance");
    const row = page.getByRole("table", { name: "Reports not sent" }).getByRole("row").nth(1);
    await expect(row).toBeVisible();
    await expectAccessible(page, "Compliance Management with rows");
    await row.getByRole("button", { name: "Resend with default key" }).click();
    await expect(page.getByRole("dialog")).toBeVisible();
    await expectAccessible(page, "Compliance Management, resend dialog open");
    await page.keyboard.press("Escape");
    await row.getByRole("button", { name: "Dismiss", exact: true }).click();
    await expect(page.getByRole("form", { name: /^Dismiss / })).toBeVisible();
    await expectAccessible(page, "Compliance Management, dismiss form open");
  });

  test("Register, Password & sessions, and the set-password page", async ({ page, browser }) => {
    await signInAt(page, "admin@demo.test", "/register");
    await expect(page.getByRole("heading", { name: "Register" })).toBeVisible();
    await expect(page.getByRole("table", { name: "My reports" })).toBeVisible();
    await expectAccessible(page, "Register");

    await page.goto("/account/security");
    await expect(page.getByRole("heading", { name: "Password & sessions" })).toBeVisible();
    await expectAccessible(page, "Password & sessions");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByText("Enter your current password.")).toBeVisible();
    await expectAccessible(page, "Password & sessions with errors");

    const origin = new URL(page.url()).origin;
    const added = await page.request.post("/api/admin/users", {
      headers: { origin },
      data: { email: `a11y.${Date.now()}@demo.test`, display_name: "Ada Access", role: "staff" },
    });
    const link = await added.json();
    const visitor = await (await browser.newContext()).newPage();
    await visitor.goto(new URL(link.url).pathname + new URL(link.url).hash);
    await expect(visitor.getByRole("heading", { name: "Choose your password" })).toBeVisible();
    await expectAccessible(visitor, "set-password");
    await visitor.context().close();
  });
});

test("the article's flow by keyboard alone, the focus visible at every step", async ({ page }) => {
  await signInFresh(page);
  const form = page.getByRole("form", { name: "New credential" });

  // Add: + Add Credential → provider → state → licenses → key → Verify & Save.
  await tabTo(page, page.getByRole("button", { name: "+ Add Credential" }), "+ Add Credential");
  await page.keyboard.press("Enter");
  await expect(form.getByLabel("Traceability Provider")).toBeFocused();
  await expectVisibleFocus(page, "Traceability Provider");
  await tabTo(page, form.getByLabel("Select State"), "Select State");
  await page.keyboard.press("ArrowDown");
  await expect(form.getByLabel("Select State")).toHaveValue("CO");
  await tabTo(page, form.getByRole("button", { name: LICENSES }), "the license list button");
  await page.keyboard.press("Enter");
  const list = form.getByRole("listbox", { name: LICENSES });
  await expect(list).toBeFocused();
  await expectVisibleFocus(page, "the license list");
  await page.keyboard.press("Space");
  await page.keyboard.press("Escape");
  await expect(form.getByRole("button", { name: LICENSES })).toBeFocused();
  await tabTo(page, form.getByLabel("Metrc User API Key"), "Metrc User API Key");
  await page.keyboard.type(KEYS.coBoth);
  await tabTo(page, form.getByRole("button", { name: "Verify & Save" }), "Verify & Save");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
  const group = page.getByRole("group", { name: "METRC · Colorado · ••••0001" });
  // The focus goes to the saved credential, not back to the top of the page.
  await expect(group.getByRole("heading")).toBeFocused();
  await expect(group.getByRole("list", { name: "Licenses" }).getByRole("listitem")).toHaveCount(1);

  // Edit licenses: open the stored credential's list, add the second license, Verify & Save.
  await tabTo(page, group.getByRole("button", { name: LICENSES }), "the stored credential's license list button");
  await page.keyboard.press("Enter");
  const stored = group.getByRole("listbox", { name: LICENSES });
  await expect(stored).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Space");
  await expect(stored.getByRole("option", { selected: true })).toHaveCount(2);
  await page.keyboard.press("Escape");
  await tabTo(page, group.getByRole("button", { name: "Verify & Save" }), "Verify & Save (licenses)");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
  await expect(group.getByRole("list", { name: "Licenses" }).getByRole("listitem")).toHaveCount(2);
  await expect(group.getByRole("heading")).toBeFocused();

  // Replace the key: a new key of the same account, typed into the stored credential's key field.
  const newKey = await freshCoKey(page);
  await tabTo(page, group.getByLabel("Metrc User API Key"), "the stored credential's key field");
  await page.keyboard.type(newKey);
  await tabTo(page, group.getByRole("button", { name: "Verify & Save" }), "Verify & Save (key)");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status")).toHaveText(/Credential verified and saved\./);
  const replaced = page.getByRole("group", { name: `METRC · Colorado · ••••${newKey.slice(-4)}` });
  await expect(replaced).toBeVisible();
  await expect(replaced.getByRole("heading")).toBeFocused();

  // Delete: "Delete" → the dialog opens on "Cancel"; Tab to "Yes, delete".
  await tabTo(page, replaced.getByRole("button", { name: "Delete" }), "Delete");
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Delete this credential?" });
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await expectVisibleFocus(page, "Cancel in the dialog");
  await tabTo(page, dialog.getByRole("button", { name: "Yes, delete" }), "Yes, delete");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status")).toHaveText(/Credential deleted\./);
  await expect(page.getByText("You have no traceability credentials yet.")).toBeVisible();
});

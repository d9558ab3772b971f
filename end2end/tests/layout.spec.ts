import { type Page } from "@playwright/test";
import {
  KEYS,
  deleteAllCredentials,
  expect,
  expectAccessible,
  heldSale,
  layoutProblems,
  saveCredentialViaApi,
  signIn,
  test,
} from "./fixtures";

// Every screen at a desktop, a tablet at the register and a phone: the document never scrolls sideways,
// no view source leaks into the page, and every button is named by what it shows.

const WIDTHS = [1280, 768, 390];

const STAFF_SCREENS: [string, string][] = [
  ["/account/traceability-credentials", "Traceability Credentials"],
  ["/account/security", "Password & sessions"],
  ["/register", "Register"],
];

const ADMIN_SCREENS: [string, string][] = [
  ["/admin/organization/licenses", "Organization Management"],
  ["/admin/organization/users", "Organization Management"],
  ["/admin/organization/coverage", "Organization Management"],
  ["/admin/organization/audit", "Organization Management"],
  ["/admin/config/integration", "Config Page"],
  ["/admin/compliance", "Compliance Management"],
  ["/register", "Register"],
];

/** Every visible button is named by the words it shows (one showing only initials or a symbol may say
 * more, starting with what it shows): its computed accessible name, as a screen reader gets it. */
async function expectButtonsNamedByTheirText(page: Page, where: string) {
  const seen = new Set<string>();
  for (const button of await page.getByRole("button").all()) {
    if (!(await button.isVisible())) continue;
    // What it shows, decoration hidden from assistive technology (a chevron) left out.
    const shown = await button.evaluate((b) => {
      const copy = b.cloneNode(true) as HTMLElement;
      copy.querySelectorAll('[aria-hidden="true"]').forEach((n) => n.remove());
      return (copy.textContent ?? "").trim().replace(/\s+/g, " ");
    });
    // One of each kind: a table's rows repeat the same buttons ("Make admin" 120 times).
    if (seen.has(shown)) continue;
    seen.add(shown);
    const escaped = shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // A word: the name is exactly it, or starts with it and a comma (the avatar: "SS, account menu for
    // …"). A symbol only ("×"): the name says what it does.
    const name = /[a-z]{2}/i.test(shown) ? new RegExp(`^${escaped}(, .+)?$`) : /./;
    await expect(button, `${where}: the button showing "${shown}"`).toHaveAccessibleName(name);
  }
}

async function walk(page: Page, screens: [string, string][]) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const [path, heading] of screens) {
      await page.goto(path);
      await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
      await page.waitForLoadState("networkidle");
      expect(await layoutProblems(page), `${path} at ${width} px`).toEqual([]);
      await expectButtonsNamedByTheirText(page, `${path} at ${width} px`);
      // axe-core where the layout is tightest (target sizes, reflow).
      if (width === 390) await expectAccessible(page, `${path} at 390 px`);
    }
  }
}

test("every staff screen fits 1280, 768 and 390 px", async ({ page }) => {
  // Signed out: the sign-in page, a page that does not exist, a set-up link without its token.
  await walk(page, [["/sign-in", "Sign in"], ["/no-such-page", "Page not found"], ["/set-password", "Choose your password"]]);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto("/sign-in");
  await signIn(page, "staff@demo.test");
  await expect(page.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
  // The credentials page with a stored credential (its widest state).
  await deleteAllCredentials(page);
  await saveCredentialViaApi(page, "CO", ["402R-00101", "402R-00102"], KEYS.coBoth);
  await walk(page, STAFF_SCREENS);
  // The forms and menus a staff member opens, on a phone.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto("/account/traceability-credentials");
  await page.getByRole("button", { name: "+ Add Credential" }).click();
  await page.getByRole("form", { name: "New credential" }).getByLabel("Select State").selectOption({ label: "Colorado (CO)" });
  await page.getByRole("button", { name: /account menu/ }).click();
  expect(await layoutProblems(page), "credentials with the form and the avatar menu open at 390 px").toEqual([]);
  await expectButtonsNamedByTheirText(page, "credentials with the form open");
  await deleteAllCredentials(page);
  // No admin navigation for staff.
  await page.goto("/register");
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Administration" })).toHaveCount(0);
});

test("every admin screen fits 1280, 768 and 390 px", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto("/admin/organization/licenses");
  await signIn(page, "admin@demo.test");
  await expect(page.getByRole("heading", { name: "Organization Management" })).toBeVisible();
  await walk(page, ADMIN_SCREENS);

  // The forms and dialogs an admin opens, on a phone.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto("/admin/organization/licenses");
  await page.getByRole("row").nth(1).getByRole("button", { name: "Edit", exact: true }).click();
  await expect(page.getByRole("form", { name: /^Edit license / })).toBeVisible();
  expect(await layoutProblems(page), "Licenses with the edit form open at 390 px").toEqual([]);
  await page.goto("/admin/organization/users");
  await page.getByRole("row", { name: /Sam Staff/ }).getByRole("button", { name: "Reset password" }).click();
  await expect(page.getByRole("dialog", { name: "Reset this user's password?" })).toBeVisible();
  expect(await layoutProblems(page), "Users with the reset dialog open at 390 px").toEqual([]);
  await heldSale(page);
  await page.goto("/admin/compliance");
  await page.getByRole("table", { name: "Reports not sent" }).getByRole("row").nth(1).getByRole("button", { name: "Dismiss", exact: true }).click();
  await expect(page.getByRole("form", { name: /^Dismiss / })).toBeVisible();
  expect(await layoutProblems(page), "Compliance Management with the dismiss form open at 390 px").toEqual([]);
  await expectAccessible(page, "Compliance Management with the dismiss form open at 390 px");
});

test("the admin pages say where you are", async ({ page }) => {
  await page.goto("/admin/organization/users");
  await signIn(page, "admin@demo.test");
  const nav = page.getByRole("navigation", { name: "Administration" });
  // On a tab of Organization Management: its section is current, its first page is not this one.
  await expect(nav.getByRole("link", { name: "Organization Management" })).toHaveAttribute("aria-current", "true");
  await expect(page.getByRole("navigation", { name: "Organization Management" }).getByRole("link", { name: "Users" })).toHaveAttribute("aria-current", "page");
  await nav.getByRole("link", { name: "Config Page" }).click();
  await expect(page.getByRole("heading", { name: "Config Page", level: 1 })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Config Page" })).toHaveAttribute("aria-current", "page");
  await nav.getByRole("link", { name: "Compliance Management" }).click();
  await expect(page.getByRole("heading", { name: "Compliance Management", level: 1 })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Compliance Management" })).toHaveAttribute("aria-current", "page");
  await expect(nav.getByRole("link", { name: "Organization Management" })).not.toHaveAttribute("aria-current", "page");
  await nav.getByRole("link", { name: "Register" }).click();
  await expect(page.getByRole("heading", { name: "Register", level: 1 })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Register" })).toHaveAttribute("aria-current", "page");
});

test("Coverage's pager reaches page 2 of a 120-user organization and comes back", async ({ page }) => {
  await page.goto("/admin/organization/coverage");
  await signIn(page, "admin@demo.test");
  await expect(page.getByRole("heading", { name: "Coverage" })).toBeVisible();
  const origin = new URL(page.url()).origin;
  const users = (await (await page.request.get("/api/admin/users")).json()).users.filter((u: { active: boolean }) => u.active);
  const stamp = Date.now();
  for (let i = users.length; i < 120; i++) {
    const added = await page.request.post("/api/admin/users", {
      headers: { origin },
      data: { email: `pager.${stamp}.${i}@demo.test`, display_name: `Pager Person ${i}`, role: "staff" },
    });
    expect(added.status()).toBe(201);
  }
  await page.reload();
  const pager = page.getByRole("navigation", { name: "Coverage pages" });
  await expect(pager).toContainText(/Page 1 of [3-9]/);
  const firstUser = page.getByRole("table", { name: "Coverage per user" }).getByRole("rowheader").first();
  const onFirst = await firstUser.innerText();
  const previous = pager.getByRole("button", { name: "Previous", exact: true });
  const next = pager.getByRole("button", { name: "Next", exact: true });
  await expect(previous).toHaveAttribute("aria-disabled", "true");
  await next.click();
  await expect(pager).toContainText("Page 2 of");
  await expect(previous).toHaveAttribute("aria-disabled", "false");
  await expect(firstUser).not.toHaveText(onFirst);
  await pager.getByRole("button", { name: "Previous", exact: true }).click();
  await expect(pager).toContainText("Page 1 of");
  await expect(firstUser).toHaveText(onFirst);
});

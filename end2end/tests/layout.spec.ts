import { type Page } from "@playwright/test";
import { KEYS, deleteAllCredentials, expect, saveCredentialViaApi, signIn, test } from "./fixtures";

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

/** What is wrong with the page as laid out now (nothing: an empty list). */
async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) {
      problems.push(`the page scrolls sideways by ${root.scrollWidth - root.clientWidth} px`);
    }
    const text = document.body.innerText;
    for (const source of ["move |", "on:", "=>"]) {
      if (text.includes(source)) problems.push(`view source in the page: "${source}"`);
    }
    for (const button of Array.from(document.querySelectorAll("button"))) {
      const shown = (button as HTMLElement).innerText.trim().replace(/\s+/g, " ");
      const label = button.getAttribute("aria-label");
      // A button with a word on it is named by it; one showing only initials or a symbol may say more,
      // starting with what it shows.
      if (label !== null && /[a-z]{2}/i.test(shown) && !label.startsWith(`${shown},`)) {
        problems.push(`button "${shown}" is named "${label}"`);
      }
    }
    return problems;
  });
}

async function walk(page: Page, screens: [string, string][]) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const [path, heading] of screens) {
      await page.goto(path);
      await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
      await page.waitForLoadState("networkidle");
      expect(await layoutProblems(page), `${path} at ${width} px`).toEqual([]);
    }
  }
}

test("every staff screen fits 1280, 768 and 390 px", async ({ page }) => {
  await page.goto("/sign-in");
  expect(await layoutProblems(page), "sign-in").toEqual([]);
  await signIn(page, "staff@demo.test");
  await expect(page.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
  // The credentials page with a stored credential (its widest state).
  await deleteAllCredentials(page);
  await saveCredentialViaApi(page, "CO", ["402R-00101", "402R-00102"], KEYS.coBoth);
  await walk(page, STAFF_SCREENS);
  await deleteAllCredentials(page);
});

test("every admin screen fits 1280, 768 and 390 px", async ({ page }) => {
  await page.goto("/admin/organization/licenses");
  await signIn(page, "admin@demo.test");
  await expect(page.getByRole("heading", { name: "Organization Management" })).toBeVisible();
  await walk(page, ADMIN_SCREENS);
});

test("the admin pages say where you are", async ({ page }) => {
  await page.goto("/admin/organization/users");
  await signIn(page, "admin@demo.test");
  const nav = page.getByRole("navigation", { name: "Administration" });
  await expect(nav.getByRole("link", { name: "Organization Management" })).toHaveAttribute("aria-current", "page");
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
  await expect(pager.getByRole("button", { name: "Previous", exact: true })).toBeDisabled();
  await pager.getByRole("button", { name: "Next", exact: true }).click();
  await expect(pager).toContainText("Page 2 of");
  await expect(firstUser).not.toHaveText(onFirst);
  await pager.getByRole("button", { name: "Previous", exact: true }).click();
  await expect(pager).toContainText("Page 1 of");
  await expect(firstUser).toHaveText(onFirst);
});

import { type Browser, type Locator, type Page } from "@playwright/test";
import { SIM_URL, deleteAllCredentials, expect, expectAccessible, freshCoKey, newUserWithPassword, signIn, test } from "./fixtures";

// The accountability rate and its chart in Compliance Management, and the banner that tells the person at
// the register their key broke. The suite shares one demo organization, so every expectation is a
// difference this spec itself made: counts read before, then after.

type Counts = { own: number; default: number; held: number; outcome_unknown: number; pending: number; dismissed: number };
type Accountability = { days: { day: string; counts: Counts }[]; recent: Counts; before: Counts };

async function accountability(page: Page): Promise<Accountability> {
  const response = await page.request.get("/api/admin/accountability?days=7");
  expect(response.status()).toBe(200);
  return response.json();
}

/** "87.5%": tenths of a percent rounded half up, as the product computes it. */
function percent(c: Counts): string {
  const sent = c.own + c.default;
  const tenths = Math.floor((c.own * 2000 + sent) / (sent * 2));
  return `${Math.floor(tenths / 10)}.${tenths % 10}%`;
}

async function signedIn(browser: Browser, email: string, password: string, path: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(path);
  await signIn(page, email, password);
  await expect(page.getByRole("button", { name: /account menu/ })).toBeVisible();
  return page;
}

async function sale(page: Page, licenseNumber: string) {
  const origin = new URL(page.url()).origin;
  const licenses = await (await page.request.get("/api/credentials")).json();
  const license = licenses.licenses.find((l: { number: string }) => l.number === licenseNumber);
  const response = await page.request.post("/api/sales", {
    headers: { origin },
    data: {
      license_id: license.id,
      customer_type: "Consumer",
      transactions: [{ package_label: `1A4${licenseNumber.replace("-", "")}00000000` + "0001", quantity: "1", unit: "Grams", total_amount: "5" }],
    },
  });
  expect(response.status()).toBe(201);
  return (await response.json()).id as number;
}

async function settled(page: Page, id: number, status: string) {
  await expect
    .poll(async () => {
      const reports = await (await page.request.get("/api/reports")).json();
      return reports.find((r: { id: number }) => r.id === id)?.status;
    }, { timeout: 15_000 })
    .toBe(status);
}

/** Presses Tab until `target` has the focus (at most 20 times): the keyboard's way to it. */
async function tabTo(page: Page, target: Locator) {
  for (let i = 0; i < 20 && !(await target.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}

async function saveKey(page: Page, key: string) {
  const origin = new URL(page.url()).origin;
  const licenses = await (await page.request.get("/api/credentials")).json();
  const ids = licenses.licenses.filter((l: { number: string }) => l.number.startsWith("402R-")).map((l: { id: number }) => l.id);
  const response = await page.request.post("/api/credentials", { headers: { origin }, data: { provider: "metrc", state: "CO", license_ids: ids, key } });
  expect(response.status()).toBe(201);
}

test.describe("Accountability", () => {
  test("one sale under the default key and two under own keys move the rate and today's bar by exactly those counts", async ({ page, browser }) => {
    await page.goto("/admin/compliance");
    await signIn(page, "admin@demo.test");
    await expect(page.getByRole("heading", { name: "Accountability" })).toBeVisible();
    const before = await accountability(page);

    const password = "a long register password 7";
    const clerk = await newUserWithPassword(page, "Rate Clerk", password);
    const register = await signedIn(browser, clerk.email, password, "/register");
    // No credential: the demo's Colorado default key sends it.
    const first = await sale(register, "402R-00101");
    await settled(register, first, "sent");
    await saveKey(register, await freshCoKey(register));
    const own = [await sale(register, "402R-00101"), await sale(register, "402R-00102")];
    for (const id of own) await settled(register, id, "sent");

    const after = await accountability(page);
    expect(after.recent.own - before.recent.own).toBe(2);
    expect(after.recent.default - before.recent.default).toBe(1);
    // Today's bar (Colfax's date: the day the three sales were recorded on) moved by exactly those.
    const day = (a: Accountability, name: string) => a.days.find((d) => d.day === name)?.counts ?? { own: 0, default: 0 };
    const moved = after.days.filter((d) => d.counts.own !== day(before, d.day).own || d.counts.default !== day(before, d.day).default);
    expect(moved.length).toBe(1);
    const bar = moved[0];
    expect(bar.counts.own - day(before, bar.day).own).toBe(2);
    expect(bar.counts.default - day(before, bar.day).default).toBe(1);

    // The screen says the same: the big figure, today's bar, and the table behind the chart.
    await page.reload();
    await expect(page.locator(".rate-figure")).toHaveText(percent(after.recent));
    const chart = page.getByRole("img", { name: /^From .* sent under own keys/ });
    await expect(chart).toBeVisible();
    await expect(chart.locator("rect title", { hasText: `${bar.day}: ${bar.counts.own} — Sent under own key` })).toHaveCount(1);
    await expect(chart.locator("rect title", { hasText: `${bar.day}: ${bar.counts.default} — Sent under the default key` })).toHaveCount(1);
    const toggle = page.getByRole("button", { name: "Show as a table" });
    await toggle.click();
    await expect(page.getByRole("button", { name: "Hide the table" })).toHaveAttribute("aria-expanded", "true");
    const row = page.getByRole("table", { name: "Reports per day" }).getByRole("row", { name: new RegExp(bar.day) });
    await expect(row.getByRole("cell").nth(0)).toHaveText(String(bar.counts.own));
    await expect(row.getByRole("cell").nth(1)).toHaveText(String(bar.counts.default));
    await expectAccessible(page, "Compliance Management with the accountability chart and its table");

    // The CSV download of what is not sent is there, with the page's filters.
    await expect(page.getByRole("link", { name: "Download CSV" })).toHaveAttribute("href", "/api/admin/compliance.csv?license=&status=");
    // The suite shares the demo organization: the clerk's credential goes (Coverage's counts are other specs').
    await deleteAllCredentials(register);
    await register.context().close();
  });

  test("a revoked key: the banner names the state and what waits within seconds of signing in, and goes once the key is replaced", async ({ page, browser }) => {
    await page.goto("/admin/compliance");
    await signIn(page, "admin@demo.test");
    await expect(page.getByRole("heading", { name: "Accountability" })).toBeVisible();
    const password = "a long register password 8";
    const clerk = await newUserWithPassword(page, "Banner Clerk", password);
    const register = await signedIn(browser, clerk.email, password, "/register");
    const key = await freshCoKey(register);
    await saveKey(register, key);
    await expect(register.locator(".key-alert")).toHaveCount(0);
    expect((await register.request.post(`${SIM_URL}/_sim/states/co/user-keys/${key}/revoke`)).ok()).toBeTruthy();
    const held = await sale(register, "402R-00101");
    await settled(register, held, "held");
    const before = await accountability(page);
    await register.context().close();

    // The next shift: signing in checks the key, and the banner says so within 10 s, on any page.
    const shift = await signedIn(browser, clerk.email, password, "/register");
    const banner = shift.getByRole("region", { name: "Problems with your METRC keys" });
    await expect(banner).toContainText("Your METRC key for Colorado stopped working — 1 sale is waiting.", { timeout: 10_000 });
    await expect(shift.locator("[aria-live=polite].visually-hidden")).toContainText("Your METRC key for Colorado stopped working");
    await expectAccessible(shift, "Register with the key banner");
    // Announced once: the next page shows it without announcing it again.
    await shift.goto("/account/traceability-credentials");
    await expect(banner).toContainText("stopped working");
    await expect(shift.locator("[aria-live=polite].visually-hidden")).toHaveText("");
    await expectAccessible(shift, "the credentials page with the key banner");

    // Dismissed for this browser session (by keyboard)…
    await tabTo(shift, banner.getByRole("button", { name: "Dismiss" }));
    await shift.keyboard.press("Enter");
    await expect(shift.locator(".key-alert")).toHaveCount(0);
    await expect(shift.getByRole("main"), "the focus stays on the page, not the document's top").toBeFocused();
    await shift.reload();
    await expect(shift.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await shift.waitForTimeout(500);
    await expect(shift.locator(".key-alert")).toHaveCount(0);
    // …and back at the next sign-in while the problem lasts.
    await shift.getByRole("button", { name: /account menu/ }).click();
    await shift.getByRole("menuitem", { name: "Sign out" }).click();
    await signIn(shift, clerk.email, password);
    await expect(shift.getByRole("button", { name: /account menu/ })).toBeVisible();
    await expect(banner).toContainText("stopped working", { timeout: 10_000 });

    // "Update your key." (by keyboard) lands on the credential; a new key sends what waited, the banner goes.
    await tabTo(shift, banner.getByRole("link", { name: "Update your key." }));
    await shift.keyboard.press("Enter");
    const credential = shift.getByRole("group", { name: new RegExp(`••••${key.slice(-4)}`) });
    await expect(credential.getByRole("heading").first()).toBeFocused();
    await credential.getByLabel("Metrc User API Key").fill(await freshCoKey(shift));
    await credential.getByRole("button", { name: "Verify & Save" }).click();
    await expect(shift.getByRole("status")).toContainText("Credential verified and saved.");
    await settled(shift, held, "sent");
    await shift.reload();
    await expect(shift.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await shift.waitForTimeout(500);
    await expect(shift.locator(".key-alert")).toHaveCount(0);
    const after = await accountability(page);
    expect(after.recent.own - before.recent.own, "the held sale now counts under its recorder's own key").toBe(1);
    await deleteAllCredentials(shift);
    await shift.context().close();
  });
});

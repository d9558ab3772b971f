import { test as base, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

// Every test fails if the page throws: a panic in the WebAssembly shows up as a page error.
export const test = base.extend<{ pageErrors: Error[]; cspViolations: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: Error[] = [];
      page.on("pageerror", (error) => errors.push(error));
      await use(errors);
      expect(errors, "errors thrown in the page").toEqual([]);
    },
    { auto: true },
  ],
  // Every page of every test runs under the server's Content-Security-Policy: nothing it refuses.
  cspViolations: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on("console", (message) => {
        if (message.text().includes("Content Security Policy")) violations.push(message.text());
      });
      await use(violations);
      expect(violations, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

export const DEMO_PASSWORD = "demo-password-1";

export async function signIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

// The suite's own METRC simulator (see playwright.config.ts) and the demo world's keys and licenses.
export const SIM_URL = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3100) + 1}`;
export const KEYS = {
  coBoth: "demo-co-both-licenses-00000000000000000000000001",
  coColfaxOnly: "demo-co-colfax-only-0000000000000000000000000002",
  maNewbury: "demo-ma-newbury-00000000000000000000000000000003",
  coRevoked: "demo-co-revoked-00000000000000000000000000000004",
};
export const COLFAX = "402R-00101 — Denver – Colfax Ave";
export const PEARL = "402R-00102 — Boulder – Pearl St";
export const NEWBURY = "MR281001 — Boston – Newbury St";

/** Signs in and starts from no credentials: every spec begins as a user who has none. */
export async function signInFresh(page: Page, email = "staff@demo.test") {
  await page.goto("/account/traceability-credentials");
  await signIn(page, email);
  await expect(page.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
  await deleteAllCredentials(page);
  await page.reload();
  await expect(page.getByText("You have no traceability credentials yet.")).toBeVisible();
}

async function api(page: Page, method: string, path: string, data?: unknown) {
  const origin = new URL(page.url()).origin;
  const response = await page.request.fetch(path, { method, data, headers: { origin } });
  return response;
}

export async function deleteAllCredentials(page: Page) {
  const list = await (await api(page, "GET", "/api/credentials")).json();
  for (const c of list.credentials) {
    const done = await api(page, "DELETE", `/api/credentials/${c.id}`);
    expect(done.status()).toBe(204);
  }
}

/** Saves a credential through the API (set-up for specs about editing and deleting). */
export async function saveCredentialViaApi(page: Page, state: string, numbers: string[], key: string) {
  const list = await (await api(page, "GET", "/api/credentials")).json();
  const ids = numbers.map((n) => list.licenses.find((l: { number: string }) => l.number === n).id);
  const response = await api(page, "POST", "/api/credentials", {
    provider: "metrc",
    state,
    license_ids: ids,
    key,
  });
  expect(response.status()).toBe(201);
}

/** Sets a fault in the simulator; `clearFaults` removes them all. */
export async function addFault(page: Page, fault: Record<string, unknown>) {
  const response = await page.request.post(`${SIM_URL}/_sim/faults`, { data: fault });
  expect(response.ok()).toBeTruthy();
}

export async function clearFaults(page: Page) {
  await page.request.delete(`${SIM_URL}/_sim/faults`);
}

/** The WCAG 2.2 A and AA rules axe-core has, plus its (experimental) label-in-name check (2.5.3). */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

/** axe-core over the page as it is now: no WCAG 2.2 A/AA violation, each listed by rule and element. */
export async function expectAccessible(page: Page, what: string) {
  const found = [
    ...(await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze()).violations,
    ...(await new AxeBuilder({ page }).withRules(["label-content-name-mismatch"]).analyze()).violations,
  ];
  const described = found.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")} — ${n.failureSummary}`));
  expect(described, `axe-core on ${what}`).toEqual([]);
}

/** The admin API (set-up for specs): a new staff user with a password, who can then sign in. Their name is
 * `name` with a number after it, unique in the suite's organization. */
export async function newUserWithPassword(admin: Page, given: string, password: string) {
  const stamp = Date.now();
  const name = `${given} ${stamp}`;
  const email = `${given.toLowerCase().replace(/[^a-z]+/g, ".")}.${stamp}@demo.test`;
  const origin = new URL(admin.url()).origin;
  const added = await admin.request.post("/api/admin/users", {
    data: { email, display_name: name, role: "staff" },
    headers: { origin },
  });
  expect(added.status()).toBe(201);
  const link = await added.json();
  const token = link.url.split("#")[1];
  const set = await admin.request.post("/api/password-setup", {
    data: { token, password, confirm: password },
    headers: { origin },
  });
  expect(set.status()).toBe(204);
  return { email, name, id: link.user.id as number };
}

/** A fresh user key in the simulator for Colorado reaching both licenses. */
export async function freshCoKey(page: Page) {
  const key = `e2e-co-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const response = await page.request.post(`${SIM_URL}/_sim/states/co/user-keys`, {
    data: { key, facilities: ["402R-00101", "402R-00102"] },
  });
  expect(response.ok()).toBeTruthy();
  return key;
}

/** What is wrong with the page as laid out now (nothing: an empty list): sideways scrolling, and view
 * source anywhere in the document's text (hidden parts included). */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) {
      problems.push(`the page scrolls sideways by ${root.scrollWidth - root.clientWidth} px`);
    }
    const source = /move \|[^|]*\||\bon:[a-z]+=|=> *\{/.exec(document.body.textContent ?? "");
    if (source) problems.push(`view source in the page: "${source[0]}"`);
    return problems;
  });
}

/** A held report of the admin's own (Massachusetts has no default key, the admin no credential there). */
export async function heldSale(page: Page) {
  const origin = new URL(page.url()).origin;
  const licenses = await (await page.request.get("/api/credentials")).json();
  const newbury = licenses.licenses.find((l: { number: string }) => l.number === "MR281001");
  const response = await page.request.post("/api/sales", {
    headers: { origin },
    data: {
      license_id: newbury.id,
      customer_type: "Consumer",
      transactions: [{ package_label: "1A4MR281001000000000009", quantity: "1", unit: "Grams", total_amount: "5" }],
    },
  });
  expect(response.status()).toBe(201);
}

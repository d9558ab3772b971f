import { test, expect, signIn } from "./fixtures";

test("a staff member signs in, opens Traceability Credentials from the avatar menu, and signs out", async ({ page }) => {
  await page.goto("/");
  // Signed-out visitors land on the sign-in page.
  await expect(page).toHaveURL(/\/sign-in/);
  await signIn(page, "staff@demo.test");

  const avatar = page.getByRole("button", { name: "SS, account menu for Sam Staff" });
  await expect(avatar).toHaveText("SS");
  await expect(avatar).toHaveCSS("background-color", "rgb(27, 125, 69)");

  await avatar.click();
  const menu = page.getByRole("menu", { name: "Account" });
  await expect(menu.getByRole("menuitem")).toHaveText(["Manage account", "Register", "Sign out"]);
  await menu.getByRole("menuitem", { name: "Manage account" }).click();

  const sideMenu = page.getByRole("navigation", { name: "Manage account" });
  await sideMenu.getByRole("link", { name: "Traceability Credentials" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Traceability Credentials" })).toBeVisible();
  await expect(page.getByRole("button", { name: "+ Add Credential" })).toBeEnabled();

  await avatar.click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();

  // The session ended on the server: the account pages send us back to sign-in.
  await page.goto("/account/traceability-credentials");
  await expect(page).toHaveURL(/\/sign-in\?next=/);
});

test("a wrong password shows a notification at the bottom of the screen", async ({ page }) => {
  await page.goto("/sign-in");
  await signIn(page, "staff@demo.test", "not-the-password");

  const alert = page.getByRole("alert");
  await expect(alert).toHaveText(/The email or password is not correct/);
  const box = await alert.boundingBox();
  const viewport = page.viewportSize();
  expect(box && viewport && box.y + box.height > viewport.height * 0.75).toBeTruthy();
  // Still on the sign-in page, with what was typed kept.
  await expect(page.getByLabel("Email")).toHaveValue("staff@demo.test");
  await expect(page).toHaveURL(/\/sign-in/);

  // The notification can be dismissed at once.
  await alert.getByRole("button", { name: "Dismiss notification" }).click();
  await expect(page.getByRole("alert")).toHaveCount(0);
});

test("an invalid email is marked at once, without asking the server", async ({ page }) => {
  let posted = false;
  page.on("request", (r) => {
    if (r.url().endsWith("/api/session") && r.method() === "POST") posted = true;
  });
  await page.goto("/sign-in");
  await signIn(page, "not-an-email", "x");
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Enter an email address like name@example.com.")).toBeVisible();
  expect(posted).toBe(false);
});

test("a signed-out visitor is sent to sign in and then back where they were going", async ({ page }) => {
  await page.goto("/account/traceability-credentials");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Faccount%2Ftraceability-credentials/);
  await signIn(page, "admin@demo.test");
  await expect(page).toHaveURL(/\/account\/traceability-credentials$/);
  await expect(page.getByRole("button", { name: "AA, account menu for Avery Admin" })).toHaveText("AA");
});

test("the avatar menu closes with Escape and with a click outside", async ({ page }) => {
  await page.goto("/sign-in");
  await signIn(page, "staff@demo.test");
  const avatar = page.getByRole("button", { name: "SS, account menu for Sam Staff" });
  await avatar.click();
  await expect(page.getByRole("menu")).toBeVisible();
  await expect(page.getByRole("menuitem", { name: "Manage account" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("menu")).toBeHidden();
  await expect(avatar).toHaveAttribute("aria-expanded", "false");

  await avatar.click();
  await expect(page.getByRole("menu")).toBeVisible();
  await page.getByRole("heading", { name: "Traceability Credentials" }).click();
  await expect(page.getByRole("menu")).toBeHidden();
});

test("links and the back button move between pages without reloading the application", async ({ page }) => {
  await page.goto("/sign-in");
  await signIn(page, "staff@demo.test");
  await expect(page.getByRole("heading", { level: 1, name: "Traceability Credentials" })).toBeVisible();

  await page.goto("/no-such-page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  // A marker on the window survives only if no page load happens.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  await page.getByRole("link", { name: "Go to your traceability credentials" }).click();
  await expect(page).toHaveURL(/\/account\/traceability-credentials$/);
  await expect(page.getByRole("heading", { level: 1, name: "Traceability Credentials" })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);

  await page.goBack();
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.goForward();
  await expect(page.getByRole("heading", { level: 1, name: "Traceability Credentials" })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
});

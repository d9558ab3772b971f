import { type Page } from "@playwright/test";
import { expect, newUserWithPassword, signIn, test } from "./fixtures";

// Account safety in the browser: change password, sign out everywhere, common passwords, and an admin's
// reset link for a locked-out user. Each spec makes its own user, so the demo users are left alone.

const FIRST = "plum kettle orbit 42";
const SECOND = "violet harbor lantern 7";

async function signInAt(page: Page, email: string, path: string, password: string) {
  await page.goto(path);
  await signIn(page, email, password);
}

/** An admin page, signed in, to make users with. */
async function adminPage(page: Page) {
  await signInAt(page, "admin@demo.test", "/admin/organization/users", "demo-password-1");
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
}

async function expectSignedOut(page: Page) {
  await page.goto("/account/traceability-credentials");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
}

test.describe("Account safety", () => {
  test("changing the password signs the user out everywhere else, and a common password is refused", async ({ page, browser }) => {
    await adminPage(page);
    const { email } = await newUserWithPassword(page, "Cam Change", FIRST);
    const here = await browser.newPage();
    const elsewhere = await (await browser.newContext()).newPage();
    await signInAt(elsewhere, email, "/account/traceability-credentials", FIRST);
    await expect(elsewhere.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();

    // Manage account's side menu leads to Password & sessions.
    await signInAt(here, email, "/account/traceability-credentials", FIRST);
    await here.getByRole("navigation", { name: "Manage account" }).getByRole("link", { name: "Password & sessions" }).click();
    await expect(here.getByRole("heading", { name: "Password & sessions" })).toBeVisible();
    await expect(here.getByRole("link", { name: "Password & sessions" })).toHaveAttribute("aria-current", "page");

    const form = here.getByRole("form", { name: "Change password" });
    await form.getByLabel("Current password").fill(FIRST);
    await form.getByLabel("New password", { exact: true }).fill("Password1234!");
    await form.getByLabel("Repeat the new password").fill("Password1234!");
    await form.getByRole("button", { name: "Change password" }).click();
    await expect(form.getByText(/one of the most common passwords/)).toBeVisible();
    await here.getByRole("alert").getByRole("button", { name: "Dismiss notification" }).click();
    await expect(form.getByLabel("New password", { exact: true })).toHaveAttribute("aria-invalid", "true");

    await form.getByLabel("New password", { exact: true }).fill(SECOND);
    await form.getByLabel("Repeat the new password").fill(SECOND);
    await form.getByRole("button", { name: "Change password" }).click();
    await expect(here.getByRole("status")).toContainText("Your password is changed. You were signed out everywhere else.");
    await expect(form.getByLabel("Current password")).toHaveValue("");

    await expectSignedOut(elsewhere);
    await here.reload();
    await expect(here.getByRole("heading", { name: "Password & sessions" })).toBeVisible();
    // The old password no longer signs in; the new one does.
    await signIn(elsewhere, email, FIRST);
    await expect(elsewhere.getByRole("alert")).toContainText("The email or password is not correct");
    await signIn(elsewhere, email, SECOND);
    await expect(elsewhere.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await elsewhere.context().close();
    await here.close();
  });

  test("sign out everywhere ends this session and every other one", async ({ page, browser }) => {
    await adminPage(page);
    const { email } = await newUserWithPassword(page, "Sol Everywhere", FIRST);
    const here = await browser.newPage();
    const elsewhere = await (await browser.newContext()).newPage();
    await signInAt(elsewhere, email, "/account/traceability-credentials", FIRST);
    await expect(elsewhere.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();
    await signInAt(here, email, "/account/security", FIRST);
    await here.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(here.getByRole("button", { name: "Sign in" })).toBeVisible();
    await expectSignedOut(here);
    await expectSignedOut(elsewhere);
    await elsewhere.context().close();
    await here.close();
  });

  test("a locked-out user gets back in with the admin's reset link, and the old password stops working", async ({ page, browser }) => {
    await adminPage(page);
    const { email, name } = await newUserWithPassword(page, "Lee Locked", FIRST);
    const user = await (await browser.newContext()).newPage();
    await user.goto("/sign-in");
    await expect(user.getByText("Forgot your password? Ask your organization's administrator for a password reset link.")).toBeVisible();
    for (let i = 0; i < 5; i++) {
      await signIn(user, email, "not the password");
      await expect(user.getByRole("alert")).toContainText(/not correct/);
      await user.getByRole("alert").getByRole("button", { name: "Dismiss notification" }).click();
    }
    await signIn(user, email, FIRST);
    await expect(user.getByRole("alert")).toContainText("ask your administrator for a password reset link");

    await page.reload();
    const row = page.getByRole("row", { name: new RegExp(name) });
    await row.getByRole("button", { name: "Reset password" }).click();
    const dialog = page.getByRole("dialog", { name: "Reset this user's password?" });
    await expect(dialog).toContainText(`${name} is signed out everywhere at once`);
    await dialog.getByRole("button", { name: "Yes, reset" }).click();
    const link = page.getByRole("region", { name: "Password reset link" });
    await expect(link).toContainText(`Give ${name} this link to choose a new password`);
    const url = await link.getByRole("textbox", { name: "Password reset link" }).inputValue();

    await user.goto(new URL(url).pathname + new URL(url).hash);
    await user.getByLabel("New password", { exact: true }).fill(SECOND);
    await user.getByLabel("Repeat the password").fill(SECOND);
    await user.getByRole("button", { name: "Set password" }).click();
    await expect(user.getByRole("button", { name: "Sign in" })).toBeVisible();
    await signIn(user, email, FIRST);
    await expect(user.getByRole("alert")).toContainText("The email or password is not correct");
    await signIn(user, email, SECOND);
    await expect(user.getByRole("heading", { name: "Traceability Credentials" })).toBeVisible();

    await page.goto("/admin/organization/audit");
    const log = page.getByRole("table", { name: "Audit log" });
    await expect(log.getByRole("row").nth(1)).toContainText("password reset");
    await expect(log.getByRole("row").nth(2)).toContainText("reset link created");
    await user.context().close();
  });
});

test("leaving Register for another page of its bundle leaves nothing running behind", async ({ page }) => {
  await signInAt(page, "admin@demo.test", "/register", "demo-password-1");
  await expect(page.getByRole("table", { name: "My reports" })).toBeVisible();
  // Errors from here on: Register's polling would read the page it left (a panic, logged as an error).
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.getByRole("button", { name: /account menu/ }).click();
  await page.getByRole("menuitem", { name: "Organization Management" }).click();
  await expect(page.getByRole("heading", { name: "Organization Management" })).toBeVisible();
  await page.waitForTimeout(5_000);
  expect(errors, "console errors after leaving Register").toEqual([]);
});

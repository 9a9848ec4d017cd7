// The sign-in checked in a real browser: Debian's Chromium (/usr/bin/chromium), driven by
// playwright-core, clicks through space_app and the test kit's provider (examples/test_provider,
// with its consent page on). Everything runs on 127.0.0.1; the only request that would leave the
// machine, the avatar on cdn-avatars.huggingface.co, is answered by the test itself, and any
// other outside request fails the test (the pages must ship everything inline).
//
// This script builds nothing. Run it through scripts/browser-test.sh, or by hand:
//   cargo build --examples && npm ci --prefix tests/browser && node --test tests/browser/
// Screenshots go to ci-artifacts/screenshots/ (CHROMIUM overrides the browser's path).
// iframe.test.mjs checks the same app embedded in another site, behind a TLS front;
// harness.mjs starts the binaries and holds Chromium's flags.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  HANDLE,
  START_TIMEOUT_MS,
  STEP_TIMEOUT_MS,
  guardContext,
  screenshotPath,
  startProvider,
  startSpaceApp,
  stopAll,
} from "./harness.mjs";

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1024, height: 768 };

const outsideRequests = [];
let browser;
let issuer;
let base;

before(async () => {
  issuer = await startProvider();
  base = await startSpaceApp(issuer);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: START_TIMEOUT_MS,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await stopAll();
  }
  assert.deepEqual(outsideRequests, [], "the pages made requests that leave 127.0.0.1");
});

/** A fresh browser profile state (no cookies), with bounded waits and no outside network. */
async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  await guardContext(context, outsideRequests);
  const page = await context.newPage();
  return { context, page };
}

const shot = (page, name) => page.screenshot({ path: screenshotPath(name), fullPage: true });

/** Waits for the provider's consent page and clicks one of its buttons. */
async function consent(page, button) {
  await page.waitForURL((u) => u.href.startsWith(`${issuer}/oauth/authorize?`));
  await page.getByRole("heading", { name: "Authorize application" }).waitFor();
  await page.getByRole("button", { name: button, exact: true }).click();
}

/** The JSON a route shows the browser (Chromium renders it as text in a <pre>). */
async function jsonOf(page) {
  return JSON.parse(await page.locator("body").innerText());
}

describe("sign in with Hugging Face in Chromium", { timeout: 120_000 }, () => {
  test("sign in from /, see the profile, open protected pages, get a 403 page, sign out", async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(`${base}/`);
      const signIn = page.getByRole("link", { name: /Sign in with Hugging Face/ });
      await signIn.waitFor();
      await shot(page, "home-signed-out");
      await page.setViewportSize(PHONE);
      await shot(page, "home-signed-out-phone");
      await page.setViewportSize(DESKTOP);

      await signIn.click();
      await page.waitForURL((u) => u.href.startsWith(`${issuer}/oauth/authorize?`));
      for (const scope of ["openid", "profile", "read-repos", "write-repos"]) {
        await page.locator("code", { hasText: new RegExp(`^${scope}$`) }).waitFor();
      }
      await shot(page, "consent");
      await consent(page, "Authorize");

      // Back on / signed in: handle and avatar visible.
      await page.waitForURL(`${base}/`);
      await page.getByText(`@${HANDLE}`).waitFor();
      const avatar = page.locator("img.avatar");
      await avatar.waitFor();
      assert.ok(await avatar.isVisible(), "the avatar is visible");
      await page.waitForFunction(
        () => document.querySelector("img.avatar")?.complete &&
          document.querySelector("img.avatar").naturalWidth > 0,
        null,
        { timeout: STEP_TIMEOUT_MS },
      );
      assert.equal(await page.getByRole("link", { name: /Sign in with Hugging Face/ }).count(), 0);
      await page.getByText("acme").first().waitFor();
      await shot(page, "home-signed-in");
      await page.setViewportSize(PHONE);
      await shot(page, "home-signed-in-phone");
      await page.setViewportSize(DESKTOP);

      // A protected page: /me, the profile as JSON.
      let response = await page.goto(`${base}/me`);
      assert.equal(response.status(), 200);
      const me = await jsonOf(page);
      assert.equal(me.preferred_username, HANDLE);
      assert.ok(me.sub, "/me has a sub");
      assert.ok(me.orgs.some((o) => o.preferred_username === "acme" && o.roleInOrg === "write"), JSON.stringify(me));
      assert.ok(me.scopes.includes("write-repos"), JSON.stringify(me));

      // A 403 page, in HTML, for a role the user lacks (write in acme, admin needed).
      response = await page.goto(`${base}/acme/admin`);
      assert.equal(response.status(), 403);
      assert.match(response.headers()["content-type"], /text\/html/);
      await page.getByRole("heading", { name: /do not have access/i }).waitFor();
      await page.locator("code", { hasText: /^acme$/ }).first().waitFor();
      await page.getByRole("link", { name: "Sign in again" }).waitFor();
      await shot(page, "forbidden");
      await page.setViewportSize(PHONE);
      await shot(page, "forbidden-phone");
      await page.setViewportSize(DESKTOP);

      // Sign out: back on / signed out, and protected pages ask for a login again.
      await page.goto(`${base}/`);
      await page.getByRole("link", { name: "Sign out" }).click();
      await page.waitForURL(`${base}/`);
      await page.getByRole("link", { name: /Sign in with Hugging Face/ }).waitFor();
      assert.equal(await page.getByText(`@${HANDLE}`).count(), 0);
      const api = await context.request.get(`${base}/me`, {
        headers: { accept: "application/json" },
        maxRedirects: 0,
      });
      assert.equal(api.status(), 401);
    } finally {
      await context.close();
    }
  });

  test("a protected page visited signed out comes back after the login", async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(`${base}/acme`);
      await consent(page, "Authorize");
      await page.waitForURL(`${base}/acme`);
      const body = await jsonOf(page);
      assert.equal(body.ok, true);
      assert.equal(body.route, "/acme");
      assert.equal(body.preferred_username, HANDLE);
    } finally {
      await context.close();
    }
  });

  test("Deny on the consent page shows the error page with Try again, and no session", async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(`${base}/`);
      await page.getByRole("link", { name: /Sign in with Hugging Face/ }).click();
      const callback = page.waitForResponse((r) => r.url().startsWith(`${base}/oauth/huggingface/callback`));
      await consent(page, "Deny");
      const response = await callback;
      assert.ok(response.status() >= 400 && response.status() < 500, `status ${response.status()}`);
      await page.getByRole("heading", { name: "Sign-in failed" }).waitFor();
      const retry = page.getByRole("link", { name: "Try again" });
      await retry.waitFor();
      await shot(page, "denied");
      const api = await context.request.get(`${base}/me`, {
        headers: { accept: "application/json" },
        maxRedirects: 0,
      });
      assert.equal(api.status(), 401, "a denied consent leaves no session");

      // "Try again" starts a new sign-in, which can then succeed.
      await retry.click();
      await consent(page, "Authorize");
      await page.waitForURL(`${base}/`);
      await page.getByText(`@${HANDLE}`).waitFor();
    } finally {
      await context.close();
    }
  });
});

// Step-up consent in a real browser (Chromium + playwright-core, as signin.test.mjs), both paths:
// - an org: a member of acme with the role admin who did not grant the app acme opens
//   /acme/admin, gets the 403 page with "Grant access", declines at the consent page and lands on
//   the same 403 page (still signed in), then grants and gets the page;
// - a scope: with incremental consent the first login asks for `openid profile` only; /write
//   (write-repos) gets the 403 with "Grant access", declined then granted the same way.
// Redirects are counted: no loop.
//
// Run through scripts/browser-test.sh (it builds the examples).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  START_TIMEOUT_MS,
  guardContext,
  screenshotPath,
  startExample,
  startSpaceApp,
  stopAll,
} from "./harness.mjs";

const outsideRequests = [];
let browser;
let issuer;
let base;
let incrementalBase;

before(async () => {
  issuer = await startExample(
    "test_provider",
    {
      TEST_PROVIDER_USER: "stepup-user",
      TEST_PROVIDER_ORGS: "acme:admin",
      TEST_PROVIDER_UNGRANTED_ORGS: "acme",
    },
    "READY ",
  );
  base = await startSpaceApp(issuer);
  incrementalBase = await startSpaceApp(issuer, { HF_AUTH_INCREMENTAL_CONSENT: "1" });
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

async function consent(page, button) {
  await page.waitForURL((u) => u.href.startsWith(`${issuer}/oauth/authorize?`));
  await page.getByRole("heading", { name: "Authorize application" }).waitFor();
  await page.getByRole("button", { name: button, exact: true }).click();
}

// On the consent page of a step-up for `path`: Deny lands on the same 403 page, signed in still,
// without a loop; then "Grant access" and Authorize give the page.
async function declineThenGrant(page, context, navigations, base, path) {
  await consent(page, "Deny");
  await page.waitForURL(`${base}${path}`);
  await page.getByRole("link", { name: "Grant access" }).waitFor();
  await page.waitForTimeout(500);
  assert.equal(page.url(), `${base}${path}`, "it stays on the 403 page");
  assert.ok(navigations.length <= 4, `no loop: ${navigations.join(" -> ")}`);
  const stillSignedIn = await context.request.get(`${base}/me`, {
    headers: { accept: "application/json" },
    maxRedirects: 0,
  });
  assert.equal(stillSignedIn.status(), 200, "a declined step-up keeps the session");

  navigations.length = 0;
  await page.getByRole("link", { name: "Grant access" }).click();
  await consent(page, "Authorize");
  await page.waitForURL(`${base}${path}`);
  const response = await page.reload();
  assert.equal(response.status(), 200);
  assert.ok(navigations.length <= 5, `no loop: ${navigations.join(" -> ")}`);
}

describe("step-up consent in Chromium", { timeout: 120_000 }, () => {
  test("decline gives the same 403 page, grant gives the page, no loop", async () => {
    const context = await browser.newContext();
    await guardContext(context, outsideRequests);
    const page = await context.newPage();
    // Every top-level navigation, to count redirects.
    const navigations = [];
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) navigations.push(f.url());
    });
    try {
      // Sign in; acme is listed, its role not disclosed (not granted).
      await page.goto(`${base}/oauth/huggingface/login?_target_url=%2Fme`);
      await consent(page, "Authorize");
      await page.waitForURL(`${base}/me`);
      const me = JSON.parse(await page.locator("body").innerText());
      assert.ok(me.orgs.some((o) => o.preferred_username === "acme" && !o.roleInOrg), JSON.stringify(me));

      const response = await page.goto(`${base}/acme/admin`);
      assert.equal(response.status(), 403);
      const grant = page.getByRole("link", { name: "Grant access" });
      await grant.waitFor();
      const href = await grant.getAttribute("href");
      assert.match(href, /^\/oauth\/huggingface\/login\?_target_url=%2Facme%2Fadmin&grant=1&org=[0-9a-f]{24}$/);
      await page.screenshot({ path: screenshotPath("stepup-forbidden"), fullPage: true });

      // Decline: back on the same 403 page, signed in.
      navigations.length = 0;
      await grant.click();
      await page.waitForURL((u) => u.href.startsWith(`${issuer}/oauth/authorize?`));
      const authorize = new URL(page.url());
      assert.equal(authorize.searchParams.get("prompt"), "consent");
      assert.match(authorize.searchParams.get("orgIds") ?? "", /^[0-9a-f]{24}$/);
      await declineThenGrant(page, context, navigations, base, "/acme/admin");
    } finally {
      await context.close();
    }
  });

  test("a scope asked for on demand: decline keeps the 403, grant gives the page", async () => {
    const context = await browser.newContext();
    await guardContext(context, outsideRequests);
    const page = await context.newPage();
    const navigations = [];
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) navigations.push(f.url());
    });
    const b = incrementalBase;
    try {
      // The first login asks for little.
      await page.goto(`${b}/oauth/huggingface/login?_target_url=%2Fme`);
      await page.waitForURL((u) => u.href.startsWith(`${issuer}/oauth/authorize?`));
      assert.equal(new URL(page.url()).searchParams.get("scope"), "openid profile");
      await consent(page, "Authorize");
      await page.waitForURL(`${b}/me`);
      const me = JSON.parse(await page.locator("body").innerText());
      assert.deepEqual(me.scopes, ["openid", "profile"], JSON.stringify(me));

      const response = await page.goto(`${b}/write`);
      assert.equal(response.status(), 403);
      const grant = page.getByRole("link", { name: "Grant access" });
      await grant.waitFor();
      assert.match(await grant.getAttribute("href"), /&grant=1&scope=[^&]*write%2Drepos/);
      await page.screenshot({ path: screenshotPath("stepup-scope-forbidden"), fullPage: true });

      // Decline: the same 403 page, still signed in.
      navigations.length = 0;
      await grant.click();
      await page.waitForURL((u) => u.href.startsWith(`${issuer}/oauth/authorize?`));
      const authorize = new URL(page.url());
      assert.equal(authorize.searchParams.get("prompt"), "consent");
      assert.ok(authorize.searchParams.get("scope").split(" ").includes("write-repos"), page.url());
      await declineThenGrant(page, context, navigations, b, "/write");
      const after = await (await context.request.get(`${b}/me`, { headers: { accept: "application/json" } })).json();
      assert.ok(after.scopes.includes("write-repos") && after.scopes.includes("profile"), JSON.stringify(after));
    } finally {
      await context.close();
    }
  });
});

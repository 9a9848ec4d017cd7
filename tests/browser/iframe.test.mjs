// A Space is shown inside an iframe on huggingface.co: the app's cookies are then third-party
// cookies, which a browser sends only if they are `SameSite=None; Secure`, which needs https.
// Here space_app sits behind a small TLS front (a Node https proxy with a certificate made for
// this run by `openssl`, adding `X-Forwarded-Proto: https` like the Spaces proxy), as
// https://space.test:PORT, and is embedded by a page of http://hub.test:PORT, another site.
// Chromium maps both names to 127.0.0.1 (--host-resolver-rules) and accepts the self-signed
// certificate (ignoreHTTPSErrors).
//
// Debian's Chromium blocks third-party cookies by default, as Chrome's incognito mode and Safari
// do; the tests run both kinds of profile (fresh --user-data-dir each):
// - third-party cookies allowed (the profile's preference): https signs in inside the iframe;
//   the control over plain http (`SameSite=Lax`) cannot, which shows the test can fail;
// - the default, blocked: only `Partitioned` (CHIPS) cookies get through, and hf-auth sets
//   them over https, so the sign-in inside the iframe must work

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  HANDLE,
  START_TIMEOUT_MS,
  guardContext,
  screenshotPath,
  startProvider,
  startSpaceApp,
  stopAll,
} from "./harness.mjs";

const servers = [];
const outsideRequests = [];
let certDir;
let issuer;
let tlsBase; // https://space.test:PORT, the TLS front of space_app
let httpBase; // http://127.0.0.1:PORT, another space_app over plain http
let hub; // http://hub.test:PORT, the embedding site

const listen = (server) =>
  new Promise((done, fail) => {
    servers.push(server);
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => done(server.address().port));
  });

/** An https server forwarding every request to `target()` (http), as the Spaces proxy does. */
function tlsFront(key, cert, target) {
  return https.createServer({ key, cert }, (req, res) => {
    const upstream = new URL(target());
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, "x-forwarded-proto": "https", "x-forwarded-host": req.headers.host },
        timeout: 10_000,
      },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (e) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`TLS front: ${e.message}`);
    });
    req.pipe(forward);
  });
}

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), "hf-auth-tls-"));
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=space.test",
      "-addext", "subjectAltName=DNS:space.test",
      "-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem")],
    { stdio: "ignore", timeout: 30_000 },
  );
  const key = readFileSync(join(certDir, "key.pem"));
  const cert = readFileSync(join(certDir, "cert.pem"));

  issuer = await startProvider();
  let appBase = null;
  const frontPort = await listen(tlsFront(key, cert, () => appBase));
  tlsBase = `https://space.test:${frontPort}`;
  appBase = await startSpaceApp(issuer, { HF_AUTH_PUBLIC_URL: tlsBase });
  httpBase = await startSpaceApp(issuer);

  const hubPort = await listen(
    http.createServer((req, res) => {
      const src = new URL(req.url, "http://hub.test").searchParams.get("src") ?? "";
      const esc = src.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(
        '<!doctype html><html><head><meta charset="utf-8"><title>hub</title></head>' +
          '<body style="margin:0;font-family:sans-serif;background:#e5e7eb">' +
          '<p style="margin:0;padding:.5rem 1rem;background:#111827;color:#fff">hub.test embeds a Space</p>' +
          `<iframe src="${esc}" style="width:100%;height:720px;border:0"></iframe></body></html>`,
      );
    }),
  );
  hub = `http://hub.test:${hubPort}`;

});

after(async () => {
  for (const s of servers) s.closeAllConnections?.(), s.close();
  await stopAll();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
  assert.deepEqual(outsideRequests, [], "the pages made requests that leave 127.0.0.1");
});

/** A fresh Chromium profile, third-party cookies allowed or (Chromium's default) blocked. */
async function profile(thirdPartyCookies) {
  const dir = mkdtempSync(join(tmpdir(), "hf-auth-chromium-"));
  if (thirdPartyCookies) {
    mkdirSync(join(dir, "Default"));
    writeFileSync(
      join(dir, "Default", "Preferences"),
      JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }),
    );
  }
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: START_TIMEOUT_MS,
    args: [...CHROMIUM_ARGS, "--host-resolver-rules=MAP space.test 127.0.0.1, MAP hub.test 127.0.0.1"],
    ignoreHTTPSErrors: true,
    viewport: { width: 1024, height: 800 },
  });
  await guardContext(context, outsideRequests, ["127.0.0.1", "space.test", "hub.test"]);
  const close = async () => {
    try {
      await context.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { context, page: context.pages()[0] ?? (await context.newPage()), close };
}

/**
 * Opens the hub page embedding `src`, clicks "Sign in with Hugging Face" in the iframe and
 * "Authorize" on every consent page that follows (the app retries a lost flow cookie); resolves
 * with the iframe's final <h1> text.
 */
async function signInEmbedded(page, src) {
  await page.goto(`${hub}/embed?src=${encodeURIComponent(src)}`);
  const frame = page.frameLocator("iframe");
  await frame.getByRole("link", { name: /Sign in with Hugging Face/ }).click();
  for (let round = 0; round < 6; round++) {
    const h1 = frame.locator("h1").first();
    await h1.waitFor();
    const title = (await h1.innerText()).trim();
    if (title !== "Authorize application") return title;
    const id = await frame.locator("input[name=request]").getAttribute("value");
    await frame.getByRole("button", { name: "Authorize", exact: true }).click();
    await frame.locator(`input[name=request][value="${id}"]`).waitFor({ state: "detached" });
  }
  throw new Error("still on the consent page after 6 rounds: a login loop");
}

describe("space_app inside an iframe on another site", { timeout: 120_000 }, () => {
  test("https (TLS front), third-party cookies allowed: signs in inside the iframe", async () => {
    const { context, page, close } = await profile(true);
    try {
      const title = await signInEmbedded(page, `${tlsBase}/`);
      const frame = page.frameLocator("iframe");
      assert.notEqual(title, "Sign-in failed");
      await frame.locator(".who").getByText(`@${HANDLE}`).waitFor();
      const cookies = await context.cookies(tlsBase);
      assert.ok(cookies.length > 0, "the app set cookies");
      for (const c of cookies) {
        assert.equal(c.sameSite, "None", JSON.stringify(c));
        assert.equal(c.secure, true, JSON.stringify(c));
        assert.equal(c.httpOnly, true, JSON.stringify(c));
      }
      await page.screenshot({ path: screenshotPath("iframe-signed-in") });

      // The session comes back as a third-party cookie: reload the embedding page.
      await page.reload();
      await page.frameLocator("iframe").locator(".who").getByText(`@${HANDLE}`).waitFor();
      // Signing out inside the iframe works too.
      await page.frameLocator("iframe").getByRole("link", { name: "Sign out" }).click();
      await page.frameLocator("iframe").getByRole("link", { name: /Sign in with Hugging Face/ }).waitFor();
    } finally {
      await close();
    }
  });

  test("control: plain http (SameSite=Lax) cannot sign in inside a cross-site iframe", async () => {
    const { page, close } = await profile(true);
    try {
      assert.equal(await signInEmbedded(page, `${httpBase}/`), "Sign-in failed");
      await page.frameLocator("iframe").getByRole("link", { name: "Try again" }).waitFor();
    } finally {
      await close();
    }
  });

  test("third-party cookies blocked (Chromium's default): signs in with Partitioned (CHIPS) cookies", async () => {
    const { page, close } = await profile(false);
    try {
      const setCookies = [];
      page.on("response", async (r) => {
        if (!r.url().startsWith(tlsBase)) return;
        for (const h of await r.headersArray().catch(() => [])) {
          if (h.name.toLowerCase() === "set-cookie") setCookies.push(h.value);
        }
      });
      const title = await signInEmbedded(page, `${tlsBase}/`);
      await page.screenshot({ path: screenshotPath("iframe-third-party-cookies-blocked") });
      assert.ok(setCookies.length > 0, "the login set a flow cookie");
      for (const c of setCookies) {
        assert.match(c, /;\s*Partitioned/i, `every cookie over https is partitioned: ${c}`);
      }
      assert.notEqual(title, "Sign-in failed");
      await page.frameLocator("iframe").locator(".who").getByText(`@${HANDLE}`).waitFor();
    } finally {
      await close();
    }
  });
});

// Shared by the browser tests: starting the example binaries, Chromium's flags, clean-up.
// (Not a test file: `node --test` picks only *.test.mjs here.)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
// Where cargo put the examples: CARGO_TARGET_DIR when set (relative to the repository, as cargo
// reads it when run from there), else target/.
const TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? resolve(ROOT, process.env.CARGO_TARGET_DIR)
  : join(ROOT, "target");
const EXAMPLES = join(TARGET_DIR, "debug", "examples");
export const SHOTS = join(ROOT, "ci-artifacts", "screenshots");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const START_TIMEOUT_MS = 30_000;
export const STEP_TIMEOUT_MS = 10_000;
export const HANDLE = "browser-user";
export const SCOPES = "openid profile read-repos write-repos";

// Chromium as this machine needs it: no sandbox (root), no GPU, no calls home. launch() adds
// --headless and a fresh, empty --user-data-dir of its own (removed on close).
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// The client the test provider knows: read from the kit's source, so the two cannot drift.
const providerSource = readFileSync(
  join(ROOT, "hf-auth-runtime", "src", "testing", "provider.rs"),
  "utf8",
);
const constant = (name) => {
  const m = providerSource.match(new RegExp(`const ${name}: &'static str = "([^"]+)"`));
  assert.ok(m, `TestProvider::${name} not found in provider.rs`);
  return m[1];
};
export const CLIENT_ID = constant("CLIENT_ID");
export const CLIENT_SECRET = constant("CLIENT_SECRET");

// An avatar served in place of cdn-avatars.huggingface.co.
export const AVATAR_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">' +
  '<rect width="64" height="64" fill="#6366f1"/><text x="32" y="42" font-size="28" ' +
  'text-anchor="middle" fill="#fff" font-family="sans-serif">B</text></svg>';

const children = [];

/** Starts an example binary; resolves with the rest of its first stdout line starting with `prefix`. */
export function startExample(name, env, prefix) {
  const exe = join(EXAMPLES, name);
  if (!existsSync(exe)) {
    throw new Error(`${exe} is missing: run \`cargo build --examples\` first`);
  }
  const path = process.env.PATH ?? "/usr/bin:/bin";
  // stdin stays an open pipe: test_provider exits when it closes (if this process dies).
  const child = spawn(exe, [], {
    env: { PATH: path, RUST_LOG: "warn", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const record = { name, child, log: "" };
  children.push(record);
  child.stderr.on("data", (d) => (record.log += d));
  return new Promise((resolveLine, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      reject(new Error(`${name} printed no "${prefix}" line in ${START_TIMEOUT_MS} ms:\n${out}${record.log}`));
    }, START_TIMEOUT_MS);
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith(prefix));
      if (line) {
        clearTimeout(timer);
        resolveLine(line.slice(prefix.length).trim());
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before "${prefix}":\n${out}${record.log}`));
    });
  });
}

/** The test kit's provider, consent page on, signing in `browser-user` (org acme, role write). */
export async function startProvider() {
  const issuer = await startExample(
    "test_provider",
    { TEST_PROVIDER_USER: HANDLE, TEST_PROVIDER_ORGS: "acme:write" },
    "READY ",
  );
  assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  return issuer;
}

/** space_app signing in at `issuer`; resolves with its base URL (http://127.0.0.1:PORT). */
export async function startSpaceApp(issuer, env = {}) {
  const base = await startExample(
    "space_app",
    {
      HOST: "127.0.0.1",
      PORT: "0",
      OAUTH_CLIENT_ID: CLIENT_ID,
      OAUTH_CLIENT_SECRET: CLIENT_SECRET,
      OPENID_PROVIDER_URL: issuer,
      OAUTH_SCOPES: SCOPES,
      ...env,
    },
    "listening on ",
  );
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
  return base;
}

function killAll() {
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.destroy();
      child.kill("SIGKILL");
    }
  }
}
// Even when the test runner dies on an uncaught error, no server outlives it.
process.on("exit", killAll);

/** Stops every started binary (SIGTERM, then SIGKILL after 3 s) and prints their stderr. */
export async function stopAll() {
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const force = setTimeout(() => child.kill("SIGKILL"), 3_000);
          child.on("exit", () => {
            clearTimeout(force);
            done();
          });
          child.stdin.end();
          child.kill("SIGTERM");
        }),
    ),
  );
  for (const { name, log } of children) {
    if (log.trim()) console.log(`--- ${name} stderr ---\n${log}`);
  }
}

/** Bounded waits, the avatar answered locally, any other outside request recorded and refused. */
export async function guardContext(context, outsideRequests, allowedHosts = ["127.0.0.1"]) {
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  await context.route(
    (url) => !allowedHosts.includes(url.hostname),
    (route) => {
      const url = route.request().url();
      if (url.startsWith("https://cdn-avatars.huggingface.co/")) {
        return route.fulfill({ status: 200, contentType: "image/svg+xml", body: AVATAR_SVG });
      }
      outsideRequests.push(url);
      return route.abort();
    },
  );
}

export function screenshotPath(name) {
  mkdirSync(SHOTS, { recursive: true });
  return join(SHOTS, `${name}.png`);
}

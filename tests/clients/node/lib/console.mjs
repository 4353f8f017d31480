// What the admin-console browser suites share: signing in through the form, and reading the
// audit log the server writes (`--audit-log`) for an operation by a caller.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY } from "./server.mjs";

/** Signs in on `{endpoint}{path}` (an access key pair by default, or an operator's name and
 * password); returns the sign-in post's response. */
export async function signIn(page, endpoint, { key = ROOT_ACCESS_KEY_ID, secret = ROOT_SECRET_ACCESS_KEY, path = "/console" } = {}) {
  await page.goto(`${endpoint}${path}`);
  await page.fill("#access_key_id", key);
  await page.fill("#secret_access_key", secret);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/console/sign-in")),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  await page.waitForLoadState();
  return response;
}

/** The audit log at `path`, a parsed line each. */
export function auditLines(path) {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** The audit lines of `operation` by `caller`, waiting up to 5 s for one. */
export async function waitForAudit(path, operation, caller) {
  for (let i = 0; i < 50; i++) {
    const found = auditLines(path).filter((l) => l.operation === operation && l.caller === caller);
    if (found.length) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no audit line for ${operation} by ${caller}`);
}

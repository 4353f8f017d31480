// The hosted UI in a real browser: Debian's Chromium (playwright-core) signs up, confirms with the
// code from the outbox, signs in, sets up and answers TOTP MFA, and logs out, while a relying
// party built on openid-client exchanges the codes and checks the tokens. Branding set with
// SetUICustomization shows in the page. Screenshots go to tests/clients/node/artifacts/.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
  CreateManagedLoginBrandingCommand,
  SetUICustomizationCommand,
  SetUserPoolMfaConfigCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { deflateSync } from "node:zlib";
import { startServer, unique, password } from "../lib/server.mjs";
import { launch, screenshot } from "../lib/browser.mjs";
import { startRelyingParty } from "../lib/relying-party.mjs";
import { Authenticator } from "../lib/totp.mjs";

let server;
let idp;
let browser;

before(async () => {
  server = await startServer({ args: ["--dev", "--outbox-http"] });
  idp = server.client();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A pool with a domain and a public code-flow client registered for `rp`. */
async function oauthPool(rp, poolArgs = {}) {
  const pool = await idp.send(
    new CreateUserPoolCommand({ PoolName: unique("web"), AutoVerifiedAttributes: ["email"], ...poolArgs }),
  );
  const poolId = pool.UserPool.Id;
  const domain = unique("web").toLowerCase();
  await idp.send(new CreateUserPoolDomainCommand({ UserPoolId: poolId, Domain: domain }));
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: "web",
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ["code"],
      AllowedOAuthScopes: ["openid", "email", "profile"],
      CallbackURLs: [rp.callback],
      LogoutURLs: [rp.signedOut],
      SupportedIdentityProviders: ["COGNITO"],
    }),
  );
  const clientId = client.UserPoolClient.ClientId;
  await rp.connect({ issuer: server.issuer(poolId), clientId });
  return { poolId, domain, clientId };
}

async function userIn(poolId) {
  const username = unique("bea");
  const pw = password();
  await idp.send(
    new AdminCreateUserCommand({
      UserPoolId: poolId,
      Username: username,
      MessageAction: "SUPPRESS",
      UserAttributes: [
        { Name: "email", Value: `${username}@example.com` },
        { Name: "email_verified", Value: "true" },
      ],
    }),
  );
  await idp.send(new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: username, Password: pw, Permanent: true }));
  return { username, pw };
}

async function outboxCode(to) {
  for (let i = 0; i < 50; i++) {
    const held = (await (await fetch(`${server.endpoint}/_tessera/outbox`)).json()).filter((m) => m.to === to);
    if (held.length) return /\b(\d{6})\b/.exec(held.at(-1).body)[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message for ${to}`);
}

async function signedInClaims(page) {
  await page.waitForSelector("#out");
  assert.equal(await page.title(), "Signed in", await page.textContent("#out"));
  return JSON.parse(await page.textContent("#out"));
}

describe("hosted UI in Chromium with an openid-client relying party", () => {
  test("sign up, confirm with the emailed code, sign in, refresh, log out", async () => {
    const rp = await startRelyingParty();
    try {
      const { domain } = await oauthPool(rp);
      const page = await browser.newPage();
      await page.goto(`${rp.base}/login`);
      assert.match(page.url(), new RegExp(`/domain/${domain}/login\\?`));
      await screenshot(page, "login");
      await page.click("text=Sign up");
      const username = unique("sam");
      const email = `${username}@example.com`;
      const pw = password();
      await page.fill("#username", username);
      await page.getByLabel("Email").fill(email);
      await page.fill("#password", pw);
      await screenshot(page, "signup");
      await page.click("button[type=submit]");
      await page.waitForSelector("#code");
      assert.match(await page.textContent("main"), /We sent a code to/);
      await page.fill("#code", await outboxCode(email));
      await page.click("button[type=submit]");
      await page.waitForSelector("text=Your account is confirmed");
      await page.fill("#password", pw);
      await page.click("button[type=submit]");
      const { claims, userinfo } = await signedInClaims(page);
      assert.equal(claims["cognito:username"], username);
      assert.equal(claims.email, email);
      assert.equal(typeof claims.at_hash, "string");
      assert.equal(userinfo.email_verified, "true");
      // openid-client refreshes with the same client and validates the new ID token.
      await page.goto(`${rp.base}/refresh`);
      const refreshed = JSON.parse(await page.textContent("#out"));
      assert.equal(refreshed.claims.sub, claims.sub);
      assert.equal(refreshed.claims.auth_time, claims.auth_time);
      // A second sign-in in the same browser skips the form (the hosted session cookie).
      await page.goto(`${rp.base}/login`);
      assert.equal((await signedInClaims(page)).claims.sub, claims.sub);
      // RP-initiated logout: revocation, then the end-session endpoint back to the app.
      await page.goto(`${rp.base}/logout`);
      await page.waitForURL(`${rp.signedOut}*`);
      await page.goto(`${rp.base}/login`);
      assert.match(page.url(), /\/login\?/);
      await page.waitForSelector("#password");
      await page.close();
    } finally {
      await rp.stop();
    }
  });

  test("TOTP set up at first sign-in (QR code and key), then asked at the next", async () => {
    const rp = await startRelyingParty();
    try {
      const { poolId } = await oauthPool(rp);
      await idp.send(
        new SetUserPoolMfaConfigCommand({
          UserPoolId: poolId,
          MfaConfiguration: "ON",
          SoftwareTokenMfaConfiguration: { Enabled: true },
        }),
      );
      const { username, pw } = await userIn(poolId);
      const page = await browser.newPage();
      await page.goto(`${rp.base}/login`);
      await page.fill("#username", username);
      await page.fill("#password", pw);
      await page.click("button[type=submit]");
      await page.waitForSelector(".qr svg");
      await screenshot(page, "totp-setup");
      const secret = (await page.textContent("#secret")).trim();
      const app = new Authenticator(secret);
      await page.fill("#code", await app.code());
      await page.click("button[type=submit]");
      const { claims } = await signedInClaims(page);
      assert.equal(claims["cognito:username"], username);
      const fresh = await browser.newContext();
      const second = await fresh.newPage();
      await second.goto(`${rp.base}/login`);
      await second.fill("#username", username);
      await second.fill("#password", pw);
      await second.click("button[type=submit]");
      await second.waitForSelector("#code");
      assert.match(await second.textContent("main"), /authenticator app/);
      // Keyboard only: type the code and press Enter.
      await second.focus("#code");
      await second.keyboard.type(await app.code());
      await second.keyboard.press("Enter");
      assert.equal((await signedInClaims(second)).claims.sub, claims.sub);
      await fresh.close();
      await page.close();
    } finally {
      await rp.stop();
    }
  });

  test("branding from SetUICustomization shows: logo and CSS colours", async () => {
    const rp = await startRelyingParty();
    try {
      const { poolId, clientId } = await oauthPool(rp);
      await idp.send(
        new SetUICustomizationCommand({
          UserPoolId: poolId,
          ClientId: clientId,
          ImageFile: solidPng(120, 60, [0xd0, 0x20, 0x30]),
          CSS: ".submitButton-customizable { background-color: #ff8800; } .background-customizable { background-color: #102030; }",
        }),
      );
      const page = await browser.newPage();
      await page.goto(`${rp.base}/login?lang=de`);
      await page.waitForSelector(".logo-customizable");
      const logo = await page.$eval(".logo-customizable", (img) => [img.complete, img.naturalWidth, img.naturalHeight]);
      assert.deepEqual(logo, [true, 120, 60]);
      const button = await page.$eval(".submitButton-customizable", (b) => getComputedStyle(b).backgroundColor);
      assert.equal(button, "rgb(255, 136, 0)");
      const body = await page.$eval("body", (b) => getComputedStyle(b).backgroundColor);
      assert.equal(body, "rgb(16, 32, 48)");
      assert.equal(await page.textContent("button[type=submit]"), "Anmelden");
      await screenshot(page, "branded-de");
      await page.close();
    } finally {
      await rp.stop();
    }
  });

  test("managed-login branding (ManagedLoginVersion 2) colours and logo apply", async () => {
    const rp = await startRelyingParty();
    try {
      const { poolId, clientId } = await oauthPool(rp);
      await idp.send(
        new CreateManagedLoginBrandingCommand({
          UserPoolId: poolId,
          ClientId: clientId,
          Settings: {
            components: {
              primaryButton: { lightMode: { defaults: { backgroundColor: "0a7d33ff", textColor: "ffffffff" } } },
              pageBackground: { lightMode: { color: "fff4e0ff" } },
            },
          },
          Assets: [
            { Category: "FORM_LOGO", ColorMode: "LIGHT", Extension: "PNG", Bytes: solidPng(80, 40, [0x20, 0x40, 0xd0]) },
          ],
        }),
      );
      const page = await browser.newPage();
      await page.goto(`${rp.base}/login?lang=fr`);
      await page.waitForSelector(".logo-customizable");
      const logo = await page.$eval(".logo-customizable", (img) => [img.complete, img.naturalWidth, img.naturalHeight]);
      assert.deepEqual(logo, [true, 80, 40]);
      const button = await page.$eval(".submitButton-customizable", (b) => getComputedStyle(b).backgroundColor);
      assert.equal(button, "rgb(10, 125, 51)");
      const body = await page.$eval("body", (b) => getComputedStyle(b).backgroundColor);
      assert.equal(body, "rgb(255, 244, 224)");
      assert.equal(await page.textContent("button[type=submit]"), "Se connecter");
      await screenshot(page, "managed-login-fr");
      await page.close();
    } finally {
      await rp.stop();
    }
  });
});

/** A PNG of one colour (stored without filtering; zlib from node). */
function solidPng(width, height, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0).map((_, i) => [r, g, b][i % 3])]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

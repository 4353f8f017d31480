// Codes delivered by the real Tessera binary to a real SMTP server and an SMS webhook receiver
// (both written with Node's own net/http, lib/mailsink.mjs), driven with the AWS SDK for
// JavaScript v3: sign-up confirmed by an emailed code, a phone verified by an SMS code, then a
// password reset by SMS and a sign-in with the new password.

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AdminGetUserCommand,
  ConfirmForgotPasswordCommand,
  ConfirmSignUpCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  ForgotPasswordCommand,
  GetUserAttributeVerificationCodeCommand,
  GetUserCommand,
  InitiateAuthCommand,
  ResendConfirmationCodeCommand,
  SignUpCommand,
  VerifyUserAttributeCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique, password } from "../lib/server.mjs";
import { startSmtpSink, startSmsSink, codeIn } from "../lib/mailsink.mjs";

const FROM = "Tessera Node Tests <node@tessera.test>";
const MISMATCH = "Invalid verification code provided, please try again.";

let smtp;
let sms;
let server;
let idp;
let poolId;
let clientId;

const username = unique("nd");
const email = `${username}@example.com`;
const phone = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
let pw = password();

async function expectError(promise, name, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, name, `${err.name}: ${err.message}`);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

const wrong = (code) => (code === "000000" ? "111111" : "000000");

async function signIn(password_) {
  const out = await idp.send(
    new InitiateAuthCommand({
      ClientId: clientId,
      AuthFlow: "USER_PASSWORD_AUTH",
      AuthParameters: { USERNAME: username, PASSWORD: password_ },
    }),
  );
  assert.equal(out.ChallengeName, undefined);
  return out.AuthenticationResult;
}

async function attributes() {
  const u = await idp.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: username }));
  return { status: u.UserStatus, ...Object.fromEntries(u.UserAttributes.map((a) => [a.Name, a.Value])) };
}

before(async () => {
  smtp = await startSmtpSink();
  sms = await startSmsSink();
  server = await startServer({
    args: ["--smtp-url", smtp.url, "--sms-webhook", sms.url, "--allow-private-webhooks", "--email-from", FROM],
  });
  idp = server.client();
  const pool = await idp.send(
    new CreateUserPoolCommand({ PoolName: unique("node-delivery"), AutoVerifiedAttributes: ["email"] }),
  );
  poolId = pool.UserPool.Id;
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: poolId,
      ClientName: unique("c"),
      ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    }),
  );
  clientId = client.UserPoolClient.ClientId;
});

after(async () => {
  idp?.destroy();
  await server?.stop();
  await smtp?.close();
  await sms?.close();
});

describe("code delivery (SMTP sink and SMS webhook)", () => {
  test("sign-up: the emailed code confirms the user", async () => {
    const out = await idp.send(
      new SignUpCommand({
        ClientId: clientId,
        Username: username,
        Password: pw,
        UserAttributes: [
          { Name: "email", Value: email },
          { Name: "phone_number", Value: phone },
        ],
      }),
    );
    assert.equal(out.UserConfirmed, false);
    assert.deepEqual(out.CodeDeliveryDetails, {
      Destination: `${username[0]}***@e***`,
      DeliveryMedium: "EMAIL",
      AttributeName: "email",
    });

    const [mail] = await smtp.waitFor(email);
    assert.deepEqual(mail.rcptTo, [email]);
    assert.equal(mail.mailFrom, "node@tessera.test");
    // The display name may be quoted on the wire: "Tessera Node Tests" <node@tessera.test>.
    assert.match(mail.headers.from, /^"?Tessera Node Tests"? <node@tessera\.test>$/);
    assert.equal(mail.headers.to, email);
    assert.equal(mail.subject, "Your verification code");
    const code = codeIn(mail.text);
    assert.equal((await attributes()).status, "UNCONFIRMED");

    await expectError(
      idp.send(new ConfirmSignUpCommand({ ClientId: clientId, Username: username, ConfirmationCode: wrong(code) })),
      "CodeMismatchException",
      MISMATCH,
    );
    await idp.send(new ConfirmSignUpCommand({ ClientId: clientId, Username: username, ConfirmationCode: code }));
    const attrs = await attributes();
    assert.equal(attrs.status, "CONFIRMED");
    assert.equal(attrs.email_verified, "true");
    await expectError(
      idp.send(new ConfirmSignUpCommand({ ClientId: clientId, Username: username, ConfirmationCode: code })),
      "NotAuthorizedException",
      "User cannot be confirmed. Current status is CONFIRMED",
    );
    await expectError(
      idp.send(new ResendConfirmationCodeCommand({ ClientId: clientId, Username: username })),
      "InvalidParameterException",
      "User is already confirmed.",
    );
  });

  test("the phone number is verified by an SMS code", async () => {
    const { AccessToken } = await signIn(pw);
    const sent = await idp.send(
      new GetUserAttributeVerificationCodeCommand({ AccessToken, AttributeName: "phone_number" }),
    );
    assert.deepEqual(sent.CodeDeliveryDetails, {
      Destination: `+*******${phone.slice(-4)}`,
      DeliveryMedium: "SMS",
      AttributeName: "phone_number",
    });
    const [message] = await sms.waitFor(phone);
    assert.equal(message._method, "POST");
    assert.equal(message._path, "/sms");
    assert.match(message._contentType, /^application\/json/);
    assert.equal(message.pool_id, poolId);
    assert.match(message.id, /^[0-9a-f-]{36}$/);
    const code = codeIn(message.message);
    assert.equal(message.message, `Your verification code is ${code}. `);
    await idp.send(new VerifyUserAttributeCommand({ AccessToken, AttributeName: "phone_number", Code: code }));
    const me = await idp.send(new GetUserCommand({ AccessToken }));
    const attrs = Object.fromEntries(me.UserAttributes.map((a) => [a.Name, a.Value]));
    assert.equal(attrs.phone_number_verified, "true");
  });

  test("forgot password: the code goes by SMS, and the new password signs in", async () => {
    const before = await signIn(pw);
    const out = await idp.send(new ForgotPasswordCommand({ ClientId: clientId, Username: username }));
    // No AccountRecoverySetting: a verified phone comes before a verified email.
    assert.deepEqual(out.CodeDeliveryDetails, {
      Destination: `+*******${phone.slice(-4)}`,
      DeliveryMedium: "SMS",
      AttributeName: "phone_number",
    });
    const messages = await sms.waitFor(phone, 2);
    const code = codeIn(messages[1].message);
    assert.equal(smtp.to(email).length, 1, "nothing more by email");

    const newPw = password();
    const confirm = (c, p) =>
      idp.send(
        new ConfirmForgotPasswordCommand({ ClientId: clientId, Username: username, ConfirmationCode: c, Password: p }),
      );
    await expectError(confirm(wrong(code), newPw), "CodeMismatchException", MISMATCH);
    await expectError(
      confirm(code, "short"),
      "InvalidPasswordException",
      "Password did not conform with policy: Password not long enough",
    );
    await confirm(code, newPw);

    await expectError(signIn(pw), "NotAuthorizedException", "Incorrect username or password.");
    pw = newPw;
    const tokens = await signIn(pw);
    const me = await idp.send(new GetUserCommand({ AccessToken: tokens.AccessToken }));
    assert.equal(me.Username, username);
    await expectError(
      idp.send(
        new InitiateAuthCommand({
          ClientId: clientId,
          AuthFlow: "REFRESH_TOKEN_AUTH",
          AuthParameters: { REFRESH_TOKEN: before.RefreshToken },
        }),
      ),
      "NotAuthorizedException",
      "Refresh Token has been revoked",
    );
  });

  // Cognito's CONFIRM_WITH_CODE email: "Your verification code is 123456. ".
  test("sign-up email carries the code itself", async () => {
    const name = unique("nb");
    const address = `${name}@example.com`;
    await idp.send(
      new SignUpCommand({
        ClientId: clientId,
        Username: name,
        Password: password(),
        UserAttributes: [{ Name: "email", Value: address }],
      }),
    );
    const [mail] = await smtp.waitFor(address);
    assert.equal(mail.text, `Your verification code is ${codeIn(mail.text)}. `);
  });
});

// Choice-based sign-in (USER_AUTH) with the AWS SDK for JavaScript v3 against the real binary:
// a passwordless sign-up confirmed by an emailed code, then SELECT_CHALLENGE → EMAIL_OTP with the
// code read from a real SMTP sink (lib/mailsink.mjs), GetUserAuthFactors, and the sign-in listed
// as a session. (Amplify v6 drives these same calls; it isn't a dependency of this suite.)

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  ConfirmSignUpCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  GetUserAuthFactorsCommand,
  GetUserCommand,
  InitiateAuthCommand,
  ListUserSessionsCommand,
  RespondToAuthChallengeCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { startServer, unique } from "../lib/server.mjs";
import { startSmtpSink, codeIn } from "../lib/mailsink.mjs";

let smtp;
let server;
let idp;
let clientId;

const username = unique("ua");
const email = `${username}@example.com`;

before(async () => {
  smtp = await startSmtpSink();
  server = await startServer({
    args: ["--smtp-url", smtp.url, "--allow-private-webhooks", "--email-from", "Node <node@tessera.test>"],
  });
  idp = server.client();
  const pool = await idp.send(
    new CreateUserPoolCommand({
      PoolName: unique("node-user-auth"),
      AutoVerifiedAttributes: ["email"],
      Policies: { SignInPolicy: { AllowedFirstAuthFactors: ["PASSWORD", "EMAIL_OTP"] } },
    }),
  );
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: pool.UserPool.Id,
      ClientName: unique("c"),
      ExplicitAuthFlows: ["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    }),
  );
  clientId = client.UserPoolClient.ClientId;
});

after(async () => {
  idp?.destroy();
  await server?.stop();
  await smtp?.close();
});

describe("USER_AUTH with EMAIL_OTP (JS SDK v3)", () => {
  test("passwordless sign-up, then a sign-in with an emailed code", async () => {
    const up = await idp.send(
      new SignUpCommand({ ClientId: clientId, Username: username, UserAttributes: [{ Name: "email", Value: email }] }),
    );
    assert.equal(up.UserConfirmed, false);
    const [confirmation] = await smtp.waitFor(email);
    await idp.send(
      new ConfirmSignUpCommand({ ClientId: clientId, Username: username, ConfirmationCode: codeIn(confirmation.text) }),
    );

    const started = await idp.send(
      new InitiateAuthCommand({ ClientId: clientId, AuthFlow: "USER_AUTH", AuthParameters: { USERNAME: username } }),
    );
    assert.equal(started.ChallengeName, "SELECT_CHALLENGE");
    assert.deepEqual(started.AvailableChallenges, ["EMAIL_OTP"]);

    const otp = await idp.send(
      new RespondToAuthChallengeCommand({
        ClientId: clientId,
        ChallengeName: "SELECT_CHALLENGE",
        Session: started.Session,
        ChallengeResponses: { USERNAME: username, ANSWER: "EMAIL_OTP" },
      }),
    );
    assert.equal(otp.ChallengeName, "EMAIL_OTP");
    assert.equal(otp.ChallengeParameters.CODE_DELIVERY_DELIVERY_MEDIUM, "EMAIL");
    const mails = await smtp.waitFor(email, 2);
    const code = codeIn(mails[1].text);

    const done = await idp.send(
      new RespondToAuthChallengeCommand({
        ClientId: clientId,
        ChallengeName: "EMAIL_OTP",
        Session: otp.Session,
        ChallengeResponses: { USERNAME: username, EMAIL_OTP_CODE: code },
      }),
    );
    const tokens = done.AuthenticationResult;
    assert.ok(tokens.AccessToken && tokens.RefreshToken);
    const me = await idp.send(new GetUserCommand({ AccessToken: tokens.AccessToken }));
    assert.equal(me.Username, username);
    const factors = await idp.send(new GetUserAuthFactorsCommand({ AccessToken: tokens.AccessToken }));
    assert.deepEqual(factors.ConfiguredUserAuthFactors, ["EMAIL_OTP"]);
    const sessions = await idp.send(new ListUserSessionsCommand({ AccessToken: tokens.AccessToken }));
    assert.equal(sessions.Sessions.length, 1);
    assert.equal(sessions.Sessions[0].IsCurrentSession, true);
    assert.equal(sessions.Sessions[0].ClientId, clientId);
  });
});

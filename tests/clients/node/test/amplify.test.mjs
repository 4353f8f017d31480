// Amplify v6 (aws-amplify/auth) against the real binary, configured with nothing but the pool,
// the client and `userPoolEndpoint`: a passwordless sign-up confirmed with the emailed code and
// signed straight in by `autoSignIn` (ConfirmSignUp's Session spent by USER_AUTH), then
// choice-based sign-ins — EMAIL_OTP preferred, and the first-factor selection — with the codes
// read from a real SMTP sink, the session's tokens, and sign-out (RevokeToken).

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { CreateUserPoolClientCommand, CreateUserPoolCommand, GetUserCommand } from "@aws-sdk/client-cognito-identity-provider";
import { Amplify } from "aws-amplify";
import { autoSignIn, confirmSignIn, confirmSignUp, fetchAuthSession, getCurrentUser, signIn, signOut, signUp } from "aws-amplify/auth";
import { startServer, unique } from "../lib/server.mjs";
import { startSmtpSink, codeIn } from "../lib/mailsink.mjs";

let smtp;
let server;
let idp;

before(async () => {
  smtp = await startSmtpSink();
  server = await startServer({
    args: ["--smtp-url", smtp.url, "--allow-private-webhooks", "--email-from", "Amplify <amplify@tessera.test>"],
  });
  idp = server.client();
  const pool = await idp.send(
    new CreateUserPoolCommand({
      PoolName: unique("amplify"),
      AutoVerifiedAttributes: ["email"],
      Policies: { SignInPolicy: { AllowedFirstAuthFactors: ["PASSWORD", "EMAIL_OTP"] } },
    }),
  );
  const client = await idp.send(
    new CreateUserPoolClientCommand({
      UserPoolId: pool.UserPool.Id,
      ClientName: unique("amplify"),
      ExplicitAuthFlows: ["ALLOW_USER_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    }),
  );
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: pool.UserPool.Id,
        userPoolClientId: client.UserPoolClient.ClientId,
        userPoolEndpoint: server.endpoint,
        signUpVerificationMethod: "code",
        loginWith: { username: true, email: true },
      },
    },
  });
});

after(async () => {
  idp?.destroy();
  await server?.stop();
  await smtp?.close();
});

async function idTokenClaims() {
  const { tokens } = await fetchAuthSession();
  assert.ok(tokens?.accessToken && tokens?.idToken, "Amplify holds tokens");
  const me = await idp.send(new GetUserCommand({ AccessToken: tokens.accessToken.toString() }));
  return { payload: tokens.idToken.payload, me };
}

describe("Amplify v6 with USER_AUTH", () => {
  const username = unique("amp");
  const email = `${username}@example.com`;

  test("passwordless sign-up, confirmed by the emailed code, and signed straight in", async () => {
    const up = await signUp({
      username,
      options: { userAttributes: { email }, autoSignIn: { authFlowType: "USER_AUTH" } },
    });
    assert.equal(up.isSignUpComplete, false);
    assert.equal(up.nextStep.signUpStep, "CONFIRM_SIGN_UP");
    assert.equal(up.nextStep.codeDeliveryDetails.deliveryMedium, "EMAIL");
    const [mail] = await smtp.waitFor(email);
    const confirmed = await confirmSignUp({ username, confirmationCode: codeIn(mail.text) });
    assert.equal(confirmed.isSignUpComplete, true);
    assert.equal(confirmed.nextStep.signUpStep, "COMPLETE_AUTO_SIGN_IN");
    const signedIn = await autoSignIn();
    assert.equal(signedIn.isSignedIn, true);
    assert.equal(signedIn.nextStep.signInStep, "DONE");
    // No second code was needed: only the confirmation was mailed.
    assert.equal((await smtp.waitFor(email)).length, 1);
    const { payload, me } = await idTokenClaims();
    assert.equal(payload["cognito:username"], username);
    assert.equal(payload.email, email);
    assert.equal(me.Username, username);
    assert.equal((await getCurrentUser()).username, username);
    await signOut();
  });

  test("EMAIL_OTP preferred: the code from the mail signs in", async () => {
    const started = await signIn({ username, options: { authFlowType: "USER_AUTH", preferredChallenge: "EMAIL_OTP" } });
    assert.equal(started.isSignedIn, false);
    assert.equal(started.nextStep.signInStep, "CONFIRM_SIGN_IN_WITH_EMAIL_CODE");
    const mails = await smtp.waitFor(email, 2);
    const done = await confirmSignIn({ challengeResponse: codeIn(mails[1].text) });
    assert.equal(done.isSignedIn, true);
    const { payload } = await idTokenClaims();
    assert.equal(payload["cognito:username"], username);
    await signOut();
  });

  test("first-factor selection lists what the user holds; a wrong code is refused", async () => {
    const started = await signIn({ username, options: { authFlowType: "USER_AUTH" } });
    assert.equal(started.nextStep.signInStep, "CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION");
    assert.deepEqual(started.nextStep.availableChallenges, ["EMAIL_OTP"]);
    const chosen = await confirmSignIn({ challengeResponse: "EMAIL_OTP" });
    assert.equal(chosen.nextStep.signInStep, "CONFIRM_SIGN_IN_WITH_EMAIL_CODE");
    const mails = await smtp.waitFor(email, 3);
    const code = codeIn(mails[2].text);
    const wrong = String((Number(code) + 1) % 1000000).padStart(6, "0");
    await assert.rejects(confirmSignIn({ challengeResponse: wrong }), (e) => e.name === "CodeMismatchException");
    const done = await confirmSignIn({ challengeResponse: code });
    assert.equal(done.isSignedIn, true);
    await signOut();
    await assert.rejects(getCurrentUser(), (e) => e.name === "UserUnAuthenticatedException");
  });
});

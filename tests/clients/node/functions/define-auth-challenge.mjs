// DefineAuthChallenge: an SRP password proof first when the client starts with one (as
// amazon-cognito-identity-js does for CUSTOM_AUTH), then up to three tries at a question.
const MAX_TRIES = 3;

export const handler = async (event) => {
  const session = event.request.session;
  const last = session.at(-1);
  const tries = session.filter((s) => s.challengeName === "CUSTOM_CHALLENGE").length;
  const r = event.response;
  r.issueTokens = false;
  r.failAuthentication = false;
  if (last?.challengeName === "SRP_A") {
    r.challengeName = "PASSWORD_VERIFIER";
  } else if (last?.challengeName === "PASSWORD_VERIFIER" && !last.challengeResult) {
    r.failAuthentication = true;
  } else if (last?.challengeName === "CUSTOM_CHALLENGE" && last.challengeResult) {
    r.issueTokens = true;
  } else if (tries >= MAX_TRIES) {
    r.failAuthentication = true;
  } else {
    r.challengeName = "CUSTOM_CHALLENGE";
  }
  return event;
};

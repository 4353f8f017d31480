// CreateAuthChallenge: asks for the colour of the sky; the answer stays private.
export const handler = async (event) => {
  if (event.request.challengeName === "CUSTOM_CHALLENGE") {
    const tries = event.request.session.filter((s) => s.challengeName === "CUSTOM_CHALLENGE").length;
    event.response.publicChallengeParameters = { question: "What colour is the sky?", attempt: String(tries + 1) };
    event.response.privateChallengeParameters = { answer: "blue" };
    event.response.challengeMetadata = "SKY";
  }
  return event;
};

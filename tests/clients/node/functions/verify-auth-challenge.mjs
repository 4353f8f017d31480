// VerifyAuthChallengeResponse: compares the answer (case-insensitively) with the private one.
export const handler = async (event) => {
  const expected = event.request.privateChallengeParameters.answer;
  event.response.answerCorrect = event.request.challengeAnswer.trim().toLowerCase() === expected;
  return event;
};

// PreSignUp: refuses addresses at blocked.test; confirms and verifies addresses at trusted.test.
export const handler = async (event) => {
  const email = event.request.userAttributes.email ?? "";
  if (email.endsWith("@blocked.test")) {
    throw new Error("Registration from this domain is not allowed");
  }
  if (email.endsWith("@trusted.test") && event.triggerSource === "PreSignUp_SignUp") {
    event.response.autoConfirmUser = true;
    event.response.autoVerifyEmail = true;
  }
  return event;
};

// PreAuthentication: suspended accounts (names starting with "blocked") may not sign in.
export const handler = async (event) => {
  if (event.userName.startsWith("blocked")) {
    throw new Error("Sign-in is suspended");
  }
  return event;
};

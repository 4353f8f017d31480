// InboundFederation: sees what the provider said (the token response, the ID token's claims,
// userinfo) and rewrites the attributes to map: the email lower-cased, a nickname naming the
// provider, and an attribute the pool doesn't have (which Tessera must ignore). Everything else
// the provider mapping gave is dropped, as the answer replaces the mapped set.
export const handler = async (event) => {
  const { userInfo = {}, idToken = {} } = event.request.attributes;
  event.response.userAttributesToMap = {
    email: String(userInfo.email ?? idToken.email ?? "").toLowerCase(),
    nickname: `via-${event.request.providerName}-${event.request.providerType}`,
    "custom:not_in_schema": "ignored",
  };
  return event;
};

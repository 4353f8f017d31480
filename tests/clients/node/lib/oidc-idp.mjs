// A real OpenID Connect provider for the federation tests: panva's `oidc-provider` (installed by
// the test command from npm) on 127.0.0.1 with its own login and consent pages (its development
// interactions: the login form takes any password for a known account). The port is reserved
// first, because the provider's client must name Tessera's callback, which needs the domain the
// test creates after the provider's issuer URL is known.

import Provider from "oidc-provider";
import { createServer } from "node:http";

export async function reserveIdp() {
  const http = createServer();
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  const issuer = `http://127.0.0.1:${http.address().port}`;
  let handler = (_req, res) => {
    res.writeHead(503);
    res.end("not started");
  };
  http.on("request", (req, res) => handler(req, res));
  const users = new Map();
  return {
    issuer,
    users,
    /** Starts the provider with one confidential client (client_secret_post, like Cognito). */
    start({ clientId, clientSecret, redirectUris }) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: redirectUris,
            token_endpoint_auth_method: "client_secret_post",
            grant_types: ["authorization_code"],
            response_types: ["code"],
          },
        ],
        async findAccount(_ctx, id) {
          if (!users.has(id)) return undefined;
          return { accountId: id, claims: async () => ({ sub: id, ...users.get(id) }) };
        },
        claims: {
          openid: ["sub"],
          email: ["email", "email_verified"],
          profile: ["name", "given_name", "family_name"],
        },
        features: { devInteractions: { enabled: true } },
        pkce: { required: () => false },
        cookies: { keys: ["tessera-federation-test-cookie-key"] },
      });
      handler = provider.callback();
      return provider;
    },
    close() {
      http.closeAllConnections?.();
      http.close();
    },
  };
}

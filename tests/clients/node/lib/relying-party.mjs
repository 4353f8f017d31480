// A small web app that signs its users in through a Tessera user pool the way any OIDC relying
// party does, with openid-client (panva) doing all of the protocol: discovery from the pool's
// issuer, the authorization URL with PKCE (S256), state and nonce, the code exchange with ID token
// validation (signature from the JWKS, iss, aud, exp, nonce), userInfo, refresh, revocation and
// RP-initiated logout. Tessera here is plain http on 127.0.0.1, which openid-client allows only
// when told to (`allowInsecureRequests`); nothing else is relaxed.
//
//   GET /login      → 302 to the pool's authorization endpoint
//   GET /callback   → exchanges the code; the page shows the ID token claims and userInfo as JSON
//   GET /refresh    → refreshes, shows the new ID token's claims
//   GET /logout     → revokes the refresh token, then 302 to the end-session endpoint
//   GET /signed-out → where the end-session endpoint sends the browser back

import { createServer } from "node:http";
import * as oidc from "openid-client";

/** Listens first (its callback URL must be registered with the app client), then `connect()`s
 * to the pool by discovery once the client exists. */
export async function startRelyingParty({ scope = "openid email profile" } = {}) {
  const http = createServer();
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${http.address().port}`;
  let config;
  let clientId;
  const pending = new Map(); // state → { verifier, nonce }
  const state = { tokens: null, claims: null, userinfo: null, errors: [] };

  const page = (res, status, title, body) => {
    res.writeHead(status, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>${title}</title><h1>${title}</h1><pre id="out">${body
      .replaceAll("&", "&amp;")
      .replaceAll("<", "&lt;")}</pre>`);
  };

  http.on("request", async (req, res) => {
    const url = new URL(req.url, base);
    try {
      if (url.pathname === "/login") {
        const verifier = oidc.randomPKCECodeVerifier();
        const nonce = oidc.randomNonce();
        const s = oidc.randomState();
        pending.set(s, { verifier, nonce });
        const to = oidc.buildAuthorizationUrl(config, {
          redirect_uri: `${base}/callback`,
          scope,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: "S256",
          state: s,
          nonce,
          ...Object.fromEntries(url.searchParams),
        });
        res.writeHead(302, { Location: to.href });
        return res.end();
      }
      if (url.pathname === "/callback") {
        const p = pending.get(url.searchParams.get("state"));
        if (!p) return page(res, 400, "Unknown state", url.search);
        pending.delete(url.searchParams.get("state"));
        const tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: p.verifier,
          expectedState: url.searchParams.get("state"),
          expectedNonce: p.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        Object.assign(state, { tokens, claims, userinfo });
        return page(res, 200, "Signed in", JSON.stringify({ claims, userinfo }, null, 2));
      }
      if (url.pathname === "/refresh") {
        const tokens = await oidc.refreshTokenGrant(config, state.tokens.refresh_token);
        state.refreshed = tokens;
        return page(res, 200, "Refreshed", JSON.stringify({ claims: tokens.claims() }, null, 2));
      }
      if (url.pathname === "/logout") {
        await oidc.tokenRevocation(config, state.tokens.refresh_token, { token_type_hint: "refresh_token" });
        const to = oidc.buildEndSessionUrl(config, {
          post_logout_redirect_uri: `${base}/signed-out`,
          client_id: clientId,
        });
        res.writeHead(302, { Location: to.href });
        return res.end();
      }
      if (url.pathname === "/signed-out") return page(res, 200, "Signed out", url.search);
      return page(res, 404, "Not found", url.pathname);
    } catch (e) {
      state.errors.push(e);
      return page(res, 500, "Relying party error", `${e.name}: ${e.message} ${JSON.stringify(e.cause ?? "")}`);
    }
  });

  return {
    base,
    state,
    async connect({ issuer, clientId: id, clientSecret }) {
      clientId = id;
      config = await oidc.discovery(
        new URL(issuer),
        clientId,
        clientSecret ? { client_secret: clientSecret } : undefined,
        clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
        { execute: [oidc.allowInsecureRequests] },
      );
      return config;
    },
    callback: `${base}/callback`,
    signedOut: `${base}/signed-out`,
    async stop() {
      http.closeAllConnections?.();
      await new Promise((r) => http.close(r));
    },
  };
}

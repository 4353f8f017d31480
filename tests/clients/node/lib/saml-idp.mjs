// A SAML 2.0 identity provider for the tests, built on npm `samlify` (tngan's SAML library, not
// ours): its own login form, SP-initiated sign-in (AuthnRequest by the Redirect binding, its
// signature checked against the SP metadata Tessera publishes when the IdP wants signed
// requests), IdP-initiated sign-in, encrypted assertions, and single logout (LogoutRequest by
// the Redirect binding, signature checked, answered with a LogoutResponse). Responses are signed
// by samlify with the IdP's key; `response()` also builds them with any field changed, for the
// refusal suite. Keys and certificates are made fresh per IdP with node-forge.
//
//   GET  /metadata → the IdP metadata (what CreateIdentityProvider's MetadataFile/MetadataURL get)
//   GET  /sso      → the login form for a SAMLRequest (Redirect binding)
//   GET  /init     → the login form for an IdP-initiated sign-in (no request)
//   POST /login    → checks the password, then auto-posts the SAMLResponse to the SP's ACS
//   GET  /slo      → a LogoutRequest: recorded, answered with a LogoutResponse to the SP

import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import * as samlify from "samlify";
import forge from "node-forge";

// samlify asks for an XML schema validator before it parses anything; the IdP here trusts its
// test SP, and the schema rules under test are Tessera's own.
samlify.setSchemaValidator({ validate: async () => "skipped" });

const NS = {
  redirect: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
  post: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
  unspecified: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
};

/**
 * AWS as the service provider, as an IdP is set up for AWS federation (IAM SAML providers,
 * STS AssumeRoleWithSAML, identity-pool SAML logins): audience `urn:amazon:webservices`,
 * recipient AWS's sign-in endpoint (`acs` to name a regional one).
 */
export function awsServiceProvider(acs = "https://signin.aws.amazon.com/saml") {
  return samlify.ServiceProvider({
    entityID: "urn:amazon:webservices",
    assertionConsumerService: [{ Binding: NS.post, Location: acs }],
  });
}

/** A fresh RSA-2048 key and a self-signed certificate (PEM) for `cn`. */
export function keyPair(cn) {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${randomBytes(8).toString("hex")}`;
  cert.validity.notBefore = new Date(Date.now() - 86400000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86400000);
  const attrs = [{ name: "commonName", value: cn }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert) };
}

const escapeXml = (s) =>
  String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

const TEMPLATE =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}"{InResponseToAttr}>' +
  "<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"{StatusCode}\"/></samlp:Status>" +
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
  "<saml:Issuer>{Issuer}</saml:Issuer>" +
  '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>' +
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{SubjectNotOnOrAfter}" Recipient="{Recipient}"{InResponseToAttr}/></saml:SubjectConfirmation></saml:Subject>' +
  '<saml:Conditions NotBefore="{NotBefore}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
  "{AttributeStatement}</saml:Assertion></samlp:Response>";

function attributeStatement(attributes) {
  const entries = Object.entries(attributes ?? {});
  if (!entries.length) return "";
  return (
    "<saml:AttributeStatement>" +
    entries
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">` +
          [values]
            .flat()
            .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`)
            .join("") +
          "</saml:Attribute>",
      )
      .join("") +
    "</saml:AttributeStatement>"
  );
}

/**
 * Starts the IdP on 127.0.0.1. `users`: login → { password, nameId?, attributes }.
 * Options: `wantSignedRequests` (refuse unsigned AuthnRequests), `encrypt` (encrypt assertions to
 * the SP's encryption certificate), `signAssertion` (sign the Assertion rather than the Response).
 */
export async function startSamlIdp({ users = new Map(), wantSignedRequests = false, encrypt = false, signAssertion = true } = {}) {
  const http = createServer();
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${http.address().port}`;
  const entityId = `${base}/metadata`;
  const signing = keyPair("test-idp-signing");
  const state = {
    sp: null,
    spMetadata: null,
    pending: new Map(), // form token → { requestId, relayState }
    requests: [], // AuthnRequests received: { id, signed }
    logouts: [], // LogoutRequests received: { nameId, sessionIndex, signed }
    sessions: 0,
    initRelayState: "",
  };
  const idp = samlify.IdentityProvider({
    entityID: entityId,
    privateKey: signing.key,
    signingCert: signing.cert,
    isAssertionEncrypted: encrypt,
    dataEncryptionAlgorithm: "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    keyEncryptionAlgorithm: "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    wantAuthnRequestsSigned: wantSignedRequests,
    requestSignatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    nameIDFormat: [NS.unspecified],
    singleSignOnService: [{ Binding: NS.redirect, Location: `${base}/sso` }],
    singleLogoutService: [{ Binding: NS.redirect, Location: `${base}/slo` }],
  });

  /** Uses the SP metadata Tessera serves at /saml2/metadata (ACS, SLO and certificates). */
  function useSp(metadataXml) {
    state.spMetadata = metadataXml;
    state.sp = samlify.ServiceProvider({
      metadata: metadataXml,
      wantMessageSigned: !signAssertion,
      wantLogoutRequestSigned: true,
      wantLogoutResponseSigned: true,
    });
  }

  /**
   * A signed (and, with `encrypt`, encrypted) base64 SAMLResponse for `user`. `overrides`
   * replace template values (Audience, Recipient, Destination, NotOnOrAfter, Issuer …), with
   * `InResponseTo: null` for an unsolicited response; `sp` another SP entity to answer.
   */
  async function response(login, { inResponseTo = null, overrides = {}, sp = state.sp } = {}) {
    const user = users.get(login) ?? { attributes: {} };
    const acs = sp.entityMeta.getAssertionConsumerService("post");
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60000).toISOString();
    const values = {
      ID: `_${randomBytes(16).toString("hex")}`,
      AssertionID: `_${randomBytes(16).toString("hex")}`,
      IssueInstant: now.toISOString(),
      Destination: acs,
      Recipient: acs,
      Issuer: entityId,
      StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Success",
      NameIDFormat: NS.unspecified,
      NameID: user.nameId ?? login,
      SubjectNotOnOrAfter: later,
      NotBefore: now.toISOString(),
      NotOnOrAfter: later,
      Audience: sp.entityMeta.getEntityID(),
      SessionIndex: `_session-${++state.sessions}`,
      ...overrides,
    };
    const irt = overrides.InResponseTo === undefined ? inResponseTo : overrides.InResponseTo;
    const xml = TEMPLATE.replaceAll("{InResponseToAttr}", irt ? ` InResponseTo="${escapeXml(irt)}"` : "")
      .replace("{AttributeStatement}", attributeStatement(user.attributes))
      .replace(/\{(\w+)\}/g, (_, k) => escapeXml(values[k] ?? ""));
    const made = await idp.createLoginResponse(sp, {}, "post", {}, {
      customTagReplacement: () => ({ id: values.ID, context: xml }),
      // Encrypt first, then sign the Response over the EncryptedAssertion (samlify's other order
      // signs the Response and then changes it by encrypting).
      encryptThenSign: encrypt,
    });
    return { samlResponse: made.context, assertionId: values.AssertionID, values };
  }

  const html = (res, status, body) => {
    res.writeHead(status, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Test SAML IdP</title>
<style>body{font-family:sans-serif;max-width:24rem;margin:3rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}</style>
</head><body>${body}</body></html>`);
  };
  const loginForm = (res, token, error = "") =>
    html(
      res,
      error ? 401 : 200,
      `<h1>Test SAML IdP</h1>${error ? `<p id="error">${escapeXml(error)}</p>` : ""}
<form method="post" action="/login"><input type="hidden" name="token" value="${token}">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`,
    );
  const readForm = (req) =>
    new Promise((resolve) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => resolve(Object.fromEntries(new URLSearchParams(body))));
    });
  // The signed part of a Redirect-binding query, in the order it was sent (SAML bindings §3.4.4.1).
  const octetString = (rawQuery, kind) =>
    ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg"]
      .filter((k) => k === kind || k === "RelayState" || k === "SigAlg")
      .map((k) => rawQuery.split("&").find((p) => p.startsWith(`${k}=`)))
      .filter(Boolean)
      .join("&");

  http.on("request", async (req, res) => {
    const url = new URL(req.url, base);
    const rawQuery = req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
    try {
      if (url.pathname === "/metadata") {
        res.writeHead(200, { "Content-Type": "application/samlmetadata+xml" });
        return res.end(idp.getMetadata());
      }
      if (url.pathname === "/sso") {
        const query = Object.fromEntries(url.searchParams);
        const parsed = await idp.parseLoginRequest(state.sp, "redirect", {
          query,
          octetString: octetString(rawQuery, "SAMLRequest"),
        });
        state.requests.push({ id: parsed.extract.request.id, signed: Boolean(query.Signature) });
        const token = randomBytes(12).toString("hex");
        state.pending.set(token, { requestId: parsed.extract.request.id, relayState: query.RelayState });
        return loginForm(res, token);
      }
      if (url.pathname === "/init") {
        const token = randomBytes(12).toString("hex");
        state.pending.set(token, { requestId: null, relayState: state.initRelayState });
        return loginForm(res, token);
      }
      if (url.pathname === "/login" && req.method === "POST") {
        const form = await readForm(req);
        const pending = state.pending.get(form.token);
        if (!pending) return html(res, 400, "<p>Unknown sign-in.</p>");
        const user = users.get(form.username);
        if (!user || user.password !== form.password) return loginForm(res, form.token, "Wrong username or password.");
        state.pending.delete(form.token);
        const { samlResponse } = await response(form.username, { inResponseTo: pending.requestId });
        const acs = state.sp.entityMeta.getAssertionConsumerService("post");
        return html(
          res,
          200,
          `<p>Signing you in…</p><form method="post" action="${escapeXml(acs)}">
<input type="hidden" name="SAMLResponse" value="${samlResponse}">
${pending.relayState != null ? `<input type="hidden" name="RelayState" value="${escapeXml(pending.relayState)}">` : ""}
<noscript><button type="submit">Continue</button></noscript></form><script>document.forms[0].submit()</script>`,
        );
      }
      if (url.pathname === "/slo") {
        const query = Object.fromEntries(url.searchParams);
        const parsed = await idp.parseLogoutRequest(state.sp, "redirect", {
          query,
          octetString: octetString(rawQuery, "SAMLRequest"),
        });
        state.logouts.push({
          nameId: parsed.extract.nameID,
          sessionIndex: parsed.extract.sessionIndex,
          signed: Boolean(query.Signature),
        });
        const answer = idp.createLogoutResponse(state.sp, parsed, "redirect", query.RelayState);
        res.writeHead(302, { Location: answer.context });
        return res.end();
      }
      res.writeHead(404);
      res.end();
    } catch (e) {
      html(res, 400, `<p id="error">${escapeXml(e?.message ?? e)}</p>`);
    }
  });

  return {
    base,
    entityId,
    signing,
    metadata: () => idp.getMetadata(),
    useSp,
    response,
    state,
    users,
    /** Where an IdP-initiated sign-in starts; `relayState` is what the IdP sends along. */
    initUrl(relayState) {
      state.initRelayState = relayState;
      return `${base}/init`;
    },
    close: () => new Promise((r) => http.close(r)),
  };
}

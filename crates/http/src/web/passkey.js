// Passkeys on the hosted pages: the one script they run (inline, with the page's CSP nonce).
// The server's options arrive as JSON in a hidden field (PublicKeyCredential*OptionsJSON, the
// shape the API's CREDENTIAL_REQUEST_OPTIONS and StartWebAuthnRegistration return); the
// browser's answer goes back in the form's `credential` field as the JSON the API's CREDENTIAL
// takes. Without this script (or without WebAuthn) the button stays disabled and the page says so.
(function () {
  "use strict";

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function credentialIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromBase64url(c.id) });
    });
  }

  function requestOptions(json) {
    var o = JSON.parse(json);
    o.challenge = fromBase64url(o.challenge);
    o.allowCredentials = credentialIds(o.allowCredentials);
    return o;
  }

  function creationOptions(json) {
    var o = JSON.parse(json);
    o.challenge = fromBase64url(o.challenge);
    o.user = Object.assign({}, o.user, { id: fromBase64url(o.user.id) });
    o.excludeCredentials = credentialIds(o.excludeCredentials);
    return o;
  }

  function credentialJson(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: response,
    };
  }

  function wire(buttonId, optionsId, ceremony) {
    var button = document.getElementById(buttonId);
    var options = document.getElementById(optionsId);
    if (!button || !options) return;
    var problem = document.getElementById("passkey-problem");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      if (problem) problem.hidden = false;
      return;
    }
    button.disabled = false;
    button.addEventListener("click", function () {
      var form = button.form;
      button.disabled = true;
      if (problem) problem.hidden = true;
      ceremony(options.value)
        .then(function (credential) {
          form.elements.credential.value = JSON.stringify(credentialJson(credential));
          form.submit();
        })
        .catch(function (e) {
          button.disabled = false;
          if (problem) {
            problem.textContent = problem.dataset.failed + " (" + e.name + ")";
            problem.hidden = false;
          }
        });
    });
  }

  wire("passkey-get", "webauthn-request", function (json) {
    return navigator.credentials.get({ publicKey: requestOptions(json) });
  });
  wire("passkey-create", "webauthn-creation", function (json) {
    return navigator.credentials.create({ publicKey: creationOptions(json) });
  });
})();

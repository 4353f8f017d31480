"""A software WebAuthn authenticator and client for the passkey suites: real P-256 keys, real
CBOR (the `fido2` package's data classes), real signatures. It plays both the authenticator and
the browser: `create()` answers CredentialCreationOptions with a RegistrationResponseJSON and
`get()` answers CredentialRequestOptions with an AuthenticationResponseJSON, as
`navigator.credentials` would at `origin`.

Attestation `none` or `packed` (self attestation: signed with the credential's own key). The sign
counter starts at `counter` and goes up by one per assertion; `clone()` gives a second
authenticator holding the same keys and counters (what a cloned authenticator looks like)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData, CollectedClientData

FLAG = AuthenticatorData.FLAG


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    def __init__(self, origin: str = "https://localhost", *, uv: bool = True, attestation: str = "none",
                 counter: int = 0):
        self.origin = origin
        self.uv = uv
        self.attestation = attestation
        self.start_counter = counter
        # credential id -> {"key", "rp_id", "user", "counter"}
        self.credentials: dict[bytes, dict] = {}

    def clone(self) -> "SoftAuthenticator":
        other = copy.copy(self)
        other.credentials = {k: dict(v) for k, v in self.credentials.items()}
        return other

    def _flags(self, *extra) -> "AuthenticatorData.FLAG":
        flags = FLAG.UP
        if self.uv:
            flags |= FLAG.UV
        for f in extra:
            flags |= f
        return flags

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None) -> dict:
        """navigator.credentials.create({publicKey: options}) → RegistrationResponseJSON."""
        rp_id = rp_id or options["rp"]["id"]
        challenge = unb64url(options["challenge"])
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials") or []}
        assert not excluded & set(self.credentials), "this authenticator is registered already"
        key = ec.generate_private_key(ec.SECP256R1())
        cred_id = os.urandom(32)
        public = ES256.from_cryptography_key(key.public_key())
        data = AttestedCredentialData.create(b"\0" * 16, cred_id, public)
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(), self._flags(FLAG.AT), self.start_counter, data
        )
        client_data = CollectedClientData.create("webauthn.create", challenge, origin or self.origin)
        if self.attestation == "packed":
            sig = key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
            statement = {"alg": ES256.ALGORITHM, "sig": sig}
        else:
            statement = {}
        attestation = AttestationObject.create(self.attestation, auth_data, statement)
        self.credentials[cred_id] = {
            "key": key,
            "rp_id": rp_id,
            "user": unb64url(options["user"]["id"]),
            "counter": self.start_counter,
        }
        return {
            "id": b64url(cred_id),
            "rawId": b64url(cred_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(bytes(client_data)),
                "attestationObject": b64url(bytes(attestation)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(self, options: dict | str, *, origin: str | None = None, credential_id: bytes | None = None) -> dict:
        """navigator.credentials.get({publicKey: options}) → AuthenticationResponseJSON."""
        if isinstance(options, str):
            options = json.loads(options)
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials") or []]
        if credential_id is None:
            usable = [c for c in allowed if c in self.credentials] if allowed else list(self.credentials)
            assert usable, "no credential of this authenticator is allowed"
            credential_id = usable[0]
        cred = self.credentials[credential_id]
        cred["counter"] += 1
        auth_data = AuthenticatorData.create(
            hashlib.sha256(options.get("rpId", cred["rp_id"]).encode()).digest(), self._flags(), cred["counter"]
        )
        client_data = CollectedClientData.create("webauthn.get", unb64url(options["challenge"]), origin or self.origin)
        sig = cred["key"].sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(bytes(client_data)),
                "authenticatorData": b64url(bytes(auth_data)),
                "signature": b64url(sig),
                "userHandle": b64url(cred["user"]),
            },
            "clientExtensionResults": {},
        }

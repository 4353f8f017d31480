"""Attacks on the running server, each as a test: a signed admin request replayed with another
body or as another operation, an error that makes every client choke, attributes an app client
may not read or write. Raw HTTP (botocore's own signer, `requests` to send) where boto3 won't
make the request."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from support import aws_error, attrs_of, create_client, create_pool, password, password_auth, unique
from tessera_server import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY

JSON_11 = "application/x-amz-json-1.1"
PREFIX = "AWSCognitoIdentityProviderService"


class _HostAndDateOnly(SigV4Auth):
    """A signer that signs only `host;x-amz-date`, as hand-rolled signers often do."""

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in list(headers.keys()):
            if name.lower() not in ("host", "x-amz-date"):
                del headers[name]
        return headers


def _signed_headers(server, op: str, body: bytes, extra=None, signer=SigV4Auth) -> dict:
    """Headers of a request botocore signed for `op` with `body`, with the root credentials."""
    request = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body,
        headers={"Content-Type": JSON_11, "X-Amz-Target": f"{PREFIX}.{op}", **(extra or {})},
    )
    signer(Credentials(ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), "cognito-idp", REGION).add_auth(request)
    return dict(request.headers.items())


def _send(server, headers: dict, body: bytes) -> requests.Response:
    return requests.post(server.endpoint + "/", data=body, headers=headers, timeout=30)


def _error(response: requests.Response) -> tuple[str, str]:
    body = response.json()
    return body["__type"].split("#")[-1], body.get("message", "")


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


# -- 1. a captured signature replayed with another body ----------------------------------------

def test_signed_payload_hash_cannot_vouch_for_another_body(server, idp, pool):
    """The signature covered `x-amz-content-sha256` = hash(original body); the server must hash
    the body it received, not believe the header."""
    original = json.dumps({"UserPoolId": pool, "Username": unique("ann"), "MessageAction": "SUPPRESS"}).encode()
    intruder = unique("eve")
    forged = json.dumps({"UserPoolId": pool, "Username": intruder, "MessageAction": "SUPPRESS"}).encode()
    headers = _signed_headers(
        server, "AdminCreateUser", original,
        extra={"X-Amz-Content-SHA256": hashlib.sha256(original).hexdigest()},
    )
    assert "x-amz-content-sha256" in headers["Authorization"]

    replay = _send(server, headers, forged)
    assert replay.status_code in (400, 403), replay.text
    assert _error(replay)[0] == "InvalidSignatureException"
    with aws_error("UserNotFoundException"):
        idp.admin_get_user(UserPoolId=pool, Username=intruder)

    # The signature itself was good: the original request goes through.
    assert _send(server, headers, original).status_code == 200


def test_replayed_signature_without_payload_header_is_refused(server, idp, pool):
    original = json.dumps({"UserPoolId": pool, "Username": unique("ann"), "MessageAction": "SUPPRESS"}).encode()
    intruder = unique("eve")
    forged = json.dumps({"UserPoolId": pool, "Username": intruder, "MessageAction": "SUPPRESS"}).encode()
    headers = _signed_headers(server, "AdminCreateUser", original)
    replay = _send(server, headers, forged)
    assert _error(replay)[0] == "InvalidSignatureException", replay.text
    with aws_error("UserNotFoundException"):
        idp.admin_get_user(UserPoolId=pool, Username=intruder)


# -- 2. a signature replayed as another operation -----------------------------------------------

def test_signature_must_cover_the_operation(server, idp, pool):
    """Signed for AdminGetUser over `host;x-amz-date` only, sent as AdminDeleteUser."""
    victim = unique("victim")
    idp.admin_create_user(UserPoolId=pool, Username=victim, MessageAction="SUPPRESS")
    body = json.dumps({"UserPoolId": pool, "Username": victim}).encode()
    headers = _signed_headers(server, "AdminGetUser", body, signer=_HostAndDateOnly)
    assert "SignedHeaders=host;x-amz-date," in headers["Authorization"]

    headers["X-Amz-Target"] = f"{PREFIX}.AdminDeleteUser"
    replay = _send(server, headers, body)
    assert replay.status_code in (400, 403)
    assert _error(replay) == (
        "InvalidSignatureException",
        "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
    )
    assert replay.headers["x-amzn-ErrorType"].split(":")[0] == "InvalidSignatureException"
    assert idp.admin_get_user(UserPoolId=pool, Username=victim)["Username"] == victim

    # Even for the operation it was made for, such a signature binds too little.
    headers["X-Amz-Target"] = f"{PREFIX}.AdminGetUser"
    assert _error(_send(server, headers, body))[0] == "InvalidSignatureException"


def test_every_amz_header_present_must_be_signed(server, idp, pool):
    body = json.dumps({"MaxResults": 5}).encode()
    headers = _signed_headers(server, "ListUserPools", body)
    assert _send(server, headers, body).status_code == 200
    headers["X-Amz-Security-Token"] = "added-after-signing"
    assert _error(_send(server, headers, body)) == (
        "InvalidSignatureException",
        "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
    )


def test_sdk_signed_requests_still_work(idp, pool):
    """boto3 signs everything the server now requires."""
    user = unique("ok")
    idp.admin_create_user(UserPoolId=pool, Username=user, MessageAction="SUPPRESS")
    idp.admin_delete_user(UserPoolId=pool, Username=user)


# -- 3. an error every client chokes on ---------------------------------------------------------

HUGE = 1_500_000


def test_huge_srp_a_is_an_invalid_parameter_not_a_broken_connection(server, idp, pool, public_idp):
    """A 1.5 MB SRP_A used to come back whole in `x-amzn-ErrorMessage`: http.client refused the
    header line and boto3 raised a connection error instead of InvalidParameterException."""
    client = create_client(idp, pool, ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    marker = "5A" * (HUGE // 2)
    with aws_error(
        "InvalidParameterException",
        "1 validation error detected: Value at 'authParameters.SRP_A.member' failed to satisfy "
        "constraint: Member must have length less than or equal to 131072",
    ):
        public_idp.initiate_auth(
            ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH",
            AuthParameters={"USERNAME": unique(), "SRP_A": marker},
        )
    assert marker[:1000] not in server.stderr_tail(200)


def test_echoed_values_are_cut_short_and_the_header_stays_small(server):
    """A value that may be shown (not sensitive) is shown cut short; whatever the message, the
    header stays small enough for proxies with 8 KB header limits."""
    name = "n" * HUGE
    body = json.dumps({"UserPoolId": "us-east-1_abc", "ClientName": name}).encode()
    headers = _signed_headers(server, "CreateUserPoolClient", body)
    r = _send(server, headers, body)
    code, message = _error(r)
    assert code == "InvalidParameterException"
    assert message.startswith("1 validation error detected: Value 'nnnn")
    assert "nnn...' at 'clientName' failed to satisfy constraint: Member must have length less than or equal to 128" in message
    assert len(message) < 1024
    assert len(r.headers.get("x-amzn-ErrorMessage", "")) < 1024
    assert sum(len(k) + len(v) for k, v in r.headers.items()) < 8192
    assert name[:1000] not in server.stderr_tail(200)


def test_many_violations_keep_the_response_bounded(server):
    attributes = [{"Name": "x" * 40, "Value": "v"} for _ in range(2000)]
    body = json.dumps({"UserPoolId": "us-east-1_abc", "Username": "u", "UserAttributes": attributes}).encode()
    headers = _signed_headers(server, "AdminUpdateUserAttributes", body)
    r = _send(server, headers, body)
    code, message = _error(r)
    assert code == "InvalidParameterException"
    assert message.startswith("2000 validation errors detected: ")
    assert len(message) <= 4096 + 3
    assert len(r.headers.get("x-amzn-ErrorMessage", "")) < 1024


def test_huge_authorization_header_is_refused_briefly(server):
    body = b"{}"
    headers = {
        "Content-Type": JSON_11,
        "X-Amz-Target": f"{PREFIX}.ListUserPools",
        "Authorization": "AWS4-HMAC-SHA256 Credential=" + "k" * 20_000 + ", SignedHeaders=host, Signature=0",
    }
    r = _send(server, headers, body)
    code, message = _error(r)
    assert code == "IncompleteSignatureException"
    assert len(message) < 1024 and len(r.headers.get("x-amzn-ErrorMessage", "")) < 1024


# -- 4. attributes an app client may not read or write -----------------------------------------

@pytest.fixture(scope="module")
def restricted(idp):
    pool = create_pool(idp, Schema=[{"Name": "role", "AttributeDataType": "String", "Mutable": True}])
    client = create_client(
        idp, pool,
        ReadAttributes=["email", "email_verified", "name"],
        WriteAttributes=["name"],
    )
    user, pw = unique("reader"), password()
    idp.admin_create_user(
        UserPoolId=pool, Username=user, MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": f"{user}@example.com"},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": "Reader"},
            {"Name": "given_name", "Value": "Rea"},
            {"Name": "custom:role", "Value": "admin"},
        ],
    )
    idp.admin_set_user_password(UserPoolId=pool, Username=user, Password=pw, Permanent=True)
    return pool, client, user, pw


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_get_user_shows_only_read_attributes(idp, restricted):
    pool, client, user, pw = restricted
    tokens = password_auth(idp, client, user, pw)
    got = attrs_of(idp.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"])
    assert set(got) == {"sub", "email", "email_verified", "name"}, got
    # The same rule as the client's ID token.
    claims = _claims(tokens["IdToken"])
    assert "custom:role" not in claims and "given_name" not in claims
    assert claims["name"] == got["name"] == "Reader"
    # Administrators see everything.
    admin = attrs_of(idp.admin_get_user(UserPoolId=pool, Username=user)["UserAttributes"])
    assert admin["custom:role"] == "admin" and admin["given_name"] == "Rea"


def test_update_and_delete_respect_write_attributes(idp, restricted):
    pool, client, user, pw = restricted
    at = password_auth(idp, client, user, pw)["AccessToken"]
    for name, value in (("given_name", "Mallory"), ("custom:role", "root"), ("email", "m@example.com")):
        with aws_error("NotAuthorizedException", "A client attempted to write unauthorized attribute"):
            idp.update_user_attributes(AccessToken=at, UserAttributes=[{"Name": name, "Value": value}])
    with aws_error("NotAuthorizedException", "A client attempted to write unauthorized attribute"):
        idp.delete_user_attributes(AccessToken=at, UserAttributeNames=["given_name"])
    idp.update_user_attributes(AccessToken=at, UserAttributes=[{"Name": "name", "Value": "Renamed"}])
    admin = attrs_of(idp.admin_get_user(UserPoolId=pool, Username=user)["UserAttributes"])
    assert admin["name"] == "Renamed" and admin["given_name"] == "Rea" and admin["custom:role"] == "admin"

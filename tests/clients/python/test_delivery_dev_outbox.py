"""`tessera serve --dev --outbox-http` with no email or SMS channel: messages are held in the
outbox instead of failing the request, and a developer reads them at GET /_tessera/outbox or with
`tessera outbox --data-dir DIR`. Driven with boto3 and requests."""

from __future__ import annotations

import re

import pytest
import requests
from mailroom import code_in, email_address, mask_email, mask_phone, phone_number, user_attributes, verifying_pool
from support import password, sign_up, unique
from tessera_server import TesseraServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tessera-dev") / "data"
    s = TesseraServer(data_dir, extra_args=["--dev", "--outbox-http"]).start()
    yield s
    s.stop()


def outbox(server, **params) -> list[dict]:
    r = requests.get(f"{server.endpoint}/_tessera/outbox", params=params, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def held_for(server, to: str) -> list[dict]:
    return [m for m in outbox(server) if m["to"] == to]


def test_sign_up_codes_are_held_and_listed(server, idp, public_idp):
    pool_id, client = verifying_pool(idp)
    username, address = unique("ivy"), email_address("ivy")
    resp = sign_up(public_idp, client, username, password(), {"email": address})
    assert resp["CodeDeliveryDetails"] == {
        "Destination": mask_email(address),
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    [message] = held_for(server, address)
    assert message["status"] == "held"
    assert message["channel"] == "email"
    assert message["pool_id"] == pool_id
    assert message["subject"] == "Your verification code"
    assert message["attempts"] == 0
    assert re.fullmatch(r"[0-9a-f-]{36}", message["id"])
    code = code_in(message["body"])
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code)
    assert user_attributes(idp, pool_id, username)[0] == "CONFIRMED"


def test_sms_and_invitations_are_held_too(server, idp, public_idp):
    pool_id, client = verifying_pool(
        idp, auto=("phone_number",), VerificationMessageTemplate={"SmsMessage": "Dev SMS {####}"}
    )
    username, phone = unique("sms"), phone_number()
    resp = sign_up(public_idp, client, username, password(), {"phone_number": phone})
    assert resp["CodeDeliveryDetails"]["Destination"] == mask_phone(phone)
    [message] = held_for(server, phone)
    assert message["channel"] == "sms" and message["subject"] is None
    assert message["body"] == f"Dev SMS {code_in(message['body'])}"

    invited, address = unique("inv"), email_address("inv")
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=invited,
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": address}],
    )
    [invitation] = held_for(server, address)
    assert invitation["subject"] == "Your temporary password"
    m = re.fullmatch(r"Your username is (.+) and temporary password is (.+)\. ", invitation["body"], re.S)
    assert m and m.group(1) == invited
    r = public_idp.initiate_auth(
        ClientId=client["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": invited, "PASSWORD": m.group(2)},
    )
    assert r["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_listing_filters_by_pool_and_limit(server, idp, public_idp):
    pool_a, client_a = verifying_pool(idp)
    pool_b, client_b = verifying_pool(idp)
    for client in (client_a, client_a, client_b):
        sign_up(public_idp, client, unique("flt"), password(), {"email": email_address("flt")})
    only_a = outbox(server, pool=pool_a)
    assert len(only_a) == 2 and {m["pool_id"] for m in only_a} == {pool_a}
    assert len(outbox(server, pool=pool_b)) == 1
    assert len(outbox(server, limit=1)) == 1
    newest = outbox(server)
    assert newest[0]["pool_id"] == pool_b, "newest first"


def test_the_cli_prints_the_outbox(server, idp, public_idp):
    pool_id, client = verifying_pool(
        idp, VerificationMessageTemplate={"EmailSubject": "Dev code", "EmailMessage": "Code: {####}"}
    )
    username, address = unique("cli"), email_address("cli")
    sign_up(public_idp, client, username, password(), {"email": address})
    out = server.cli("outbox", "--pool", pool_id)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) >= 3, out.stdout
    assert re.fullmatch(rf"[0-9a-f-]{{36}}  held\s+email\s+{re.escape(address)}  attempts=0", lines[0]), lines[0]
    assert lines[1] == "    subject: Dev code"
    code = code_in("\n".join(lines[2:]))  # the held body, indented
    public_idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code)

    everything = server.cli("outbox", "--limit", "1")
    assert everything.returncode == 0 and everything.stdout.count("attempts=") == 1


def test_held_sign_up_body_is_the_template(server, idp, public_idp):
    _, client = verifying_pool(idp, VerificationMessageTemplate={"EmailMessage": "Code: {####}"})
    address = email_address("tpl")
    sign_up(public_idp, client, unique("tpl"), password(), {"email": address})
    [message] = held_for(server, address)
    assert message["body"] == f"Code: {code_in(message['body'])}"


def test_without_outbox_http_there_is_no_listing(spawn):
    s = spawn(extra_args=["--dev"])
    assert requests.get(f"{s.endpoint}/_tessera/outbox", timeout=10).status_code == 404

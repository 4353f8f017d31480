"""Point-in-time recovery through boto3 (issue 20): a scripted history of user, group, membership,
MFA and passkey changes after a recovery point; InitiatePointInTimeRecovery's preview counts
exactly that history; writes are paused (OperationNotEnabledException) until the recovery is
cancelled or started while sign-in keeps working; StartPointInTimeRecovery puts every entity back
as it was (deleted users return with their sub, password and passkey; a user who changed their
password keeps the new one) and removes what was created; Cognito's limits and errors.

The server runs with TESSERA_PITR_MIN_AGE_SECONDS=2 so that a recovery point can be a few seconds
old (Cognito, and Tessera by default, ask for 15 minutes)."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from mfa_support import answer, start_user_auth, tokens_of
from passkey_support import SoftAuthenticator
from support import aws_error, confirmed_user, create_client, create_pool, password, password_auth, unique

MIN_AGE = 2
RP = "localhost"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tessera_server import TesseraServer  # noqa: PLC0415

    s = TesseraServer(
        tmp_path_factory.mktemp("tessera-pitr") / "data",
        extra_env={"TESSERA_PITR_MIN_AGE_SECONDS": str(MIN_AGE)},
    ).start()
    yield s
    s.stop()


def preview_of(restoration: dict) -> dict:
    return {
        p["Entity"]: (p["CreateCount"], p["UpdateCount"], p["DeleteCount"])
        for p in restoration["RestorePreview"]
    }


def register_passkey(public_idp, access_token: str, key: SoftAuthenticator) -> str:
    options = public_idp.start_web_authn_registration(AccessToken=access_token)["CredentialCreationOptions"]
    credential = key.create(options)
    public_idp.complete_web_authn_registration(AccessToken=access_token, Credential=credential)
    return credential["id"]


def passkey_sign_in(public_idp, client: dict, username: str, key: SoftAuthenticator) -> dict:
    r = start_user_auth(public_idp, client, username, PREFERRED_CHALLENGE="WEB_AUTHN")
    assert r["ChallengeName"] == "WEB_AUTHN", r
    credential = key.get(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    return tokens_of(answer(public_idp, client, "WEB_AUTHN", r["Session"], USERNAME=username,
                            CREDENTIAL=json.dumps(credential)))


def groups_of(idp, pool_id: str, username: str) -> set[str]:
    return {g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]}


def wait_until_old_enough(point: float) -> None:
    time.sleep(max(0.0, point + MIN_AGE + 0.3 - time.time()))


def test_a_scripted_history_is_previewed_paused_and_undone(idp, public_idp):
    pool_id = create_pool(idp, Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "WEB_AUTHN"]}})
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, WebAuthnConfiguration={"RelyingPartyId": RP},
                                 MfaConfiguration="OPTIONAL",
                                 SmsMfaConfiguration={"SmsAuthenticationMessage": "Code {####}"})
    client = create_client(idp, pool_id, ExplicitAuthFlows=[
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])

    # Before the recovery point: alice and bob in "team", carol with a phone and a passkey.
    alice, alice_pw = confirmed_user(idp, pool_id, client, {"given_name": "Alice"})
    bob, bob_pw = confirmed_user(idp, pool_id, client, {"given_name": "Bob"})
    carol, carol_pw = confirmed_user(idp, pool_id, client, {"phone_number": "+15555550100"})
    idp.create_group(UserPoolId=pool_id, GroupName="team", Description="the team")
    for u in (alice, bob):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=u, GroupName="team")
    carol_key = SoftAuthenticator()
    carol_access = password_auth(public_idp, client, carol, carol_pw)["AccessToken"]
    carol_passkey = register_passkey(public_idp, carol_access, carol_key)
    alice_sub = idp.admin_get_user(UserPoolId=pool_id, Username=alice)["UserAttributes"]
    alice_sub = next(a["Value"] for a in alice_sub if a["Name"] == "sub")

    time.sleep(1.1)
    point = time.time()
    time.sleep(1.1)

    # After it: the history the recovery must undo.
    idp.admin_delete_user(UserPoolId=pool_id, Username=alice)  # and her membership of team
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=bob,
                                     UserAttributes=[{"Name": "given_name", "Value": "Robert"}])
    bob_new_pw = password()
    idp.admin_set_user_password(UserPoolId=pool_id, Username=bob, Password=bob_new_pw, Permanent=True)
    idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=bob, GroupName="team")
    public_idp.delete_web_authn_credential(AccessToken=carol_access, CredentialId=carol_passkey)
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=carol,
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
    idp.admin_disable_user(UserPoolId=pool_id, Username=carol)
    dave = unique("dave")
    idp.admin_create_user(UserPoolId=pool_id, Username=dave, MessageAction="SUPPRESS")
    idp.create_group(UserPoolId=pool_id, GroupName="temp")
    bob_key = SoftAuthenticator()
    bob_access = password_auth(public_idp, client, bob, bob_new_pw)["AccessToken"]
    register_passkey(public_idp, bob_access, bob_key)
    wait_until_old_enough(point)

    expected = {
        "Users": (1, 2, 1),  # alice back; bob's name and carol's enabled flag; dave gone
        "Groups": (0, 1, 1),  # team's members; temp gone
        "User MFAs": (0, 1, 0),  # carol's SMS MFA
        "Passkeys": (1, 0, 1),  # carol's back; bob's gone
    }
    first = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert first["RestoreStatus"] == "PREVIEW_GENERATED"
    assert abs(first["RestoreTimestamp"].timestamp() - point) < 0.01
    assert first["TriggerTimestamp"].timestamp() >= point + MIN_AGE
    assert preview_of(first) == expected
    uuid.UUID(first["RestoreId"])
    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=first["RestoreId"])
    assert described["Restoration"] == first

    # Writes are paused; sign-in and reads go on.
    paused = "OperationNotEnabledException"
    with aws_error(paused, contains="point-in-time recovery"):
        idp.admin_create_user(UserPoolId=pool_id, Username=unique("eve"), MessageAction="SUPPRESS")
    with aws_error(paused):
        public_idp.sign_up(ClientId=client["ClientId"], Username=unique("eve"), Password=password(),
                           UserAttributes=[{"Name": "email", "Value": "eve@example.com"}])
    with aws_error(paused):
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=bob,
                                         UserAttributes=[{"Name": "given_name", "Value": "Bobby"}])
    with aws_error(paused):
        idp.create_group(UserPoolId=pool_id, GroupName="late")
    with aws_error(paused):
        idp.create_user_import_job(UserPoolId=pool_id, JobName="late",
                                   CloudWatchLogsRoleArn="arn:aws:iam::123456789012:role/import")
    password_auth(public_idp, client, bob, bob_new_pw)
    assert idp.list_users(UserPoolId=pool_id)["Users"]
    with aws_error("ConcurrentModificationException"):
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)

    # Cancelled: nothing changes and writes resume.
    cancelled = idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=first["RestoreId"])["Restoration"]
    assert cancelled["RestoreStatus"] == "PREVIEW_CANCELLED"
    with aws_error("InvalidParameterException"):
        idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=first["RestoreId"])
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=dave,
                                     UserAttributes=[{"Name": "given_name", "Value": "Dave"}])
    assert groups_of(idp, pool_id, bob) == set()

    # Previewed again (dave's new name changes no count: he goes anyway) and started.
    second = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert preview_of(second) == expected
    done = idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=second["RestoreId"])["Restoration"]
    assert done["RestoreStatus"] == "RESTORE_COMPLETED"
    assert preview_of(done) == expected

    # Alice is back, as she was: same sub, her password, her group.
    got = idp.admin_get_user(UserPoolId=pool_id, Username=alice)
    attrs = {a["Name"]: a["Value"] for a in got["UserAttributes"]}
    assert attrs["sub"] == alice_sub and attrs["given_name"] == "Alice"
    assert got["UserStatus"] == "CONFIRMED" and got["Enabled"]
    password_auth(public_idp, client, alice, alice_pw)
    assert groups_of(idp, pool_id, alice) == {"team"}
    # Bob: his name and group back, his new password kept, his new passkey gone.
    got = idp.admin_get_user(UserPoolId=pool_id, Username=bob)
    assert {a["Name"]: a["Value"] for a in got["UserAttributes"]}["given_name"] == "Bob"
    assert groups_of(idp, pool_id, bob) == {"team"}
    bob_tokens = password_auth(public_idp, client, bob, bob_new_pw)
    with aws_error("NotAuthorizedException"):
        password_auth(public_idp, client, bob, bob_pw)
    assert public_idp.list_web_authn_credentials(AccessToken=bob_tokens["AccessToken"])["Credentials"] == []
    # Carol: enabled, no MFA, and her passkey signs her in again.
    got = idp.admin_get_user(UserPoolId=pool_id, Username=carol)
    assert got["Enabled"] and not got.get("UserMFASettingList") and "PreferredMfaSetting" not in got
    passkey_sign_in(public_idp, client, carol, carol_key)
    # Dave and temp are gone; team is as it was.
    with aws_error("UserNotFoundException"):
        idp.admin_get_user(UserPoolId=pool_id, Username=dave)
    with aws_error("ResourceNotFoundException"):
        idp.get_group(UserPoolId=pool_id, GroupName="temp")
    assert idp.get_group(UserPoolId=pool_id, GroupName="team")["Group"]["Description"] == "the team"
    # Writes resumed.
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=bob,
                                     UserAttributes=[{"Name": "given_name", "Value": "Bobby"}])

    # The list, newest first, in pages.
    listed = idp.list_point_in_time_recoveries(UserPoolId=pool_id)["Restorations"]
    assert [(r["RestoreId"], r["RestoreStatus"]) for r in listed] == [
        (second["RestoreId"], "RESTORE_COMPLETED"),
        (first["RestoreId"], "PREVIEW_CANCELLED"),
    ]
    page = idp.list_point_in_time_recoveries(UserPoolId=pool_id, MaxResults=1)
    assert [r["RestoreId"] for r in page["Restorations"]] == [second["RestoreId"]]
    rest = idp.list_point_in_time_recoveries(UserPoolId=pool_id, MaxResults=1, NextToken=page["NextToken"])
    assert [r["RestoreId"] for r in rest["Restorations"]] == [first["RestoreId"]]
    assert "NextToken" not in rest

    # One completed recovery per pool in 24 hours; a completed one can't be cancelled.
    with aws_error("LimitExceededException"):
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)
    with aws_error("InvalidParameterException"):
        idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=second["RestoreId"])


def test_recovery_points_and_feature_plans(idp):
    pool_id = create_pool(idp)
    now = time.time()
    with aws_error("InvalidParameterException", f"RestoreTimestamp must be at least {MIN_AGE} seconds in the past."):
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=now)
    with aws_error("InvalidParameterException", contains="recovery period of 1 day"):
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=now - 2 * 86400)
    with aws_error("InvalidParameterException", contains="creation time of the user pool"):
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=now - 3600)
    lite = create_pool(idp, UserPoolTier="LITE")
    with aws_error("FeatureUnavailableInTierException"):
        idp.initiate_point_in_time_recovery(UserPoolId=lite, RestoreTimestamp=now - 3600)
    with aws_error("ResourceNotFoundException"):
        idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=str(uuid.uuid4()))
    with aws_error("ResourceNotFoundException"):
        idp.list_point_in_time_recoveries(UserPoolId="us-east-1_nopool999")
    with aws_error("InvalidParameterException"):
        idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId="Z" * 36)  # the model's pattern: lowercase hex
    assert idp.list_point_in_time_recoveries(UserPoolId=pool_id)["Restorations"] == []


def test_a_recovery_with_nothing_to_undo_changes_nothing(idp, public_idp):
    pool_id = create_pool(idp)
    client = create_client(idp, pool_id)
    user, pw = confirmed_user(idp, pool_id, client)
    time.sleep(1.1)
    point = time.time()
    wait_until_old_enough(point)
    r = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=point)["Restoration"]
    assert set(preview_of(r).values()) == {(0, 0, 0)}
    done = idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=r["RestoreId"])["Restoration"]
    assert done["RestoreStatus"] == "RESTORE_COMPLETED"
    password_auth(public_idp, client, user, pw)


def test_tessera_operations_lists_all_153_with_the_honest_refusals_apart(server):
    import subprocess  # noqa: PLC0415

    lines = subprocess.run([server.binary, "operations"], capture_output=True, text=True,
                           timeout=30, check=True).stdout.splitlines()
    idp_ops = [line for line in lines if line.startswith("cognito-idp.")]
    assert len(idp_ops) == 153
    for op in ["InitiatePointInTimeRecovery", "DescribePointInTimeRecovery", "ListPointInTimeRecoveries",
               "StartPointInTimeRecovery", "CancelPointInTimeRecovery"]:
        assert f"cognito-idp.{op}" in idp_ops, op
    refused = sorted(line.split("\t")[0] for line in idp_ops if "\t" in line)
    assert refused == ["cognito-idp.CreateUserPoolReplica", "cognito-idp.DeleteUserPoolReplica",
                       "cognito-idp.ListUserPoolReplicas", "cognito-idp.UpdateUserPoolReplica"]
    assert all("refused: OperationNotEnabledException" in line for line in idp_ops if "\t" in line)

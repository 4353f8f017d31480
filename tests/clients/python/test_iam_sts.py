"""IAM (roles, inline and managed policies, OIDC and SAML providers, the policy simulator) and
STS role assumption, with boto3 and aws-cli against the real binary. Credentials STS issues are
proven by calling STS GetCallerIdentity signed with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from support import aws_error, confirmed_user, create_client, create_pool, password_auth, unique
from tessera_server import REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY


def doc(*statements, version="2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust_root(account: str) -> str:
    return doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole"})


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="module")
def sts(server):
    return server.client("sts")


@pytest.fixture(scope="module")
def account(sts):
    return sts.get_caller_identity()["Account"]


def raw_bodies(client, operation: str) -> list[str]:
    """Collects the raw XML of every `operation` response `client` receives."""
    seen: list[str] = []

    def hook(http_response, **_):
        seen.append(http_response.text)

    client.meta.events.register(f"after-call.{client.meta.service_model.service_name}.{operation}", hook)
    return seen


def sts_with(server, creds: dict | None = None, *, unsigned: bool = False):
    kwargs = {}
    if creds is not None:
        kwargs = dict(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return boto3.session.Session().client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                      signature_version=UNSIGNED if unsigned else None),
        **kwargs,
    )


# -- roles -----------------------------------------------------------------------------------


def test_roles_round_trip_with_url_encoded_trust_policy(iam, account):
    name = unique("role")
    trust = trust_root(account)
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Path="/app/",
                              Description="app role", MaxSessionDuration=7200,
                              Tags=[{"Key": "team", "Value": "id"}])["Role"]
    assert created["Arn"] == f"arn:aws:iam::{account}:role/app/{name}"
    assert created["RoleId"].startswith("AROA") and len(created["RoleId"]) == 21
    assert created["MaxSessionDuration"] == 7200
    # botocore unquotes and parses the document.
    assert created["AssumeRolePolicyDocument"] == json.loads(trust)

    bodies = raw_bodies(iam, "GetRole")
    got = iam.get_role(RoleName=name.upper())["Role"]
    assert got["RoleName"] == name and got["Description"] == "app role"
    assert got["Tags"] == [{"Key": "team", "Value": "id"}]
    # On the wire the document is URL-encoded, as IAM sends it (a space is %20, never +).
    encoded = bodies[-1].split("<AssumeRolePolicyDocument>")[1].split("<")[0]
    assert "{" not in encoded and "%7B%22Version%22" in encoded
    assert urllib.parse.unquote(encoded) == trust

    described = iam.update_role_description(RoleName=name, Description="described")["Role"]
    assert described["Description"] == "described"
    # Tessera has no instance profiles; Terraform asks before DeleteRole.
    assert iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"] == []
    iam.update_role(RoleName=name, Description="changed", MaxSessionDuration=43200)
    got = iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("changed", 43200)
    new_trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                     "Action": "sts:AssumeRole"})
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=new_trust)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(new_trust)

    iam.tag_role(RoleName=name, Tags=[{"Key": "TEAM", "Value": "sts"}, {"Key": "env", "Value": "dev"}])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [
        {"Key": "team", "Value": "sts"}, {"Key": "env", "Value": "dev"}]
    iam.untag_role(RoleName=name, TagKeys=["Team"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "env", "Value": "dev"}]

    iam.delete_role(RoleName=name)
    with aws_error("NoSuchEntity", f"The role with name {name} cannot be found.") as e:
        iam.get_role(RoleName=name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_role_errors(iam, account):
    name = unique("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_root(account))
    with aws_error("EntityAlreadyExists", f"Role with name {name.upper()} already exists.") as e:
        iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=trust_root(account))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with aws_error("MalformedPolicyDocument"):
        iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument="{not json")
    # A trust policy needs a Principal; tessera-policy says so in IAM's words.
    with aws_error("MalformedPolicyDocument") as e:
        iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=doc(allow("sts:AssumeRole")))
    assert e.value.response["Error"]["Message"]
    with aws_error("ValidationError", contains="maxSessionDuration"):
        iam.update_role(RoleName=name, MaxSessionDuration=43201)
    with aws_error("ValidationError", contains="roleName"):
        iam.create_role(RoleName="has space", AssumeRolePolicyDocument=trust_root(account))
    with aws_error("NoSuchEntity"):
        iam.update_role(RoleName=unique("missing"), Description="x")


def test_list_roles_pages_with_marker(iam, account):
    prefix = f"/{unique('p')}/"
    names = sorted(unique(f"r{i}") for i in range(5))
    for n in names:
        iam.create_role(RoleName=n, Path=prefix, AssumeRolePolicyDocument=trust_root(account))
    seen, marker = [], None
    while True:
        kwargs = dict(PathPrefix=prefix, MaxItems=2)
        if marker:
            kwargs["Marker"] = marker
        page = iam.list_roles(**kwargs)
        seen += [r["RoleName"] for r in page["Roles"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == sorted(names, key=str.lower)
    # The paginator follows the same markers.
    pages = iam.get_paginator("list_roles").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 3})
    assert [r["RoleName"] for p in pages for r in p["Roles"]] == seen


# -- inline policies ---------------------------------------------------------------------------


def test_inline_role_policies_and_delete_conflict(iam, account):
    role = unique("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_root(account))
    policy = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=policy)
    iam.put_role_policy(RoleName=role, PolicyName="write",
                        PolicyDocument=doc(allow("s3:PutObject", "arn:aws:s3:::bucket/*")))
    got = iam.get_role_policy(RoleName=role, PolicyName="read")
    assert got["RoleName"] == role and got["PolicyDocument"] == json.loads(policy)
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["read", "write"]
    with aws_error("DeleteConflict", "Cannot delete entity, must delete policies first."):
        iam.delete_role(RoleName=role)
    iam.delete_role_policy(RoleName=role, PolicyName="read")
    with aws_error("NoSuchEntity", "The role policy with name read cannot be found."):
        iam.get_role_policy(RoleName=role, PolicyName="read")
    with aws_error("MalformedPolicyDocument"):
        iam.put_role_policy(RoleName=role, PolicyName="bad",
                            PolicyDocument=json.dumps({"Version": "2012-10-17",
                                                       "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}))
    with aws_error("NoSuchEntity"):
        iam.put_role_policy(RoleName=unique("missing"), PolicyName="p", PolicyDocument=policy)
    iam.delete_role_policy(RoleName=role, PolicyName="write")
    iam.delete_role(RoleName=role)


# -- managed policies --------------------------------------------------------------------------


def test_managed_policies_versions_and_attachments(iam, account):
    name = unique("pol")
    v1 = doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))
    p = iam.create_policy(PolicyName=name, PolicyDocument=v1, Path="/team/",
                          Description="reads")["Policy"]
    arn = p["Arn"]
    assert arn == f"arn:aws:iam::{account}:policy/team/{name}"
    assert p["PolicyId"].startswith("ANPA") and p["DefaultVersionId"] == "v1"
    with aws_error("EntityAlreadyExists",
                   f"A policy called {name} already exists. Duplicate names are not allowed."):
        iam.create_policy(PolicyName=name, PolicyDocument=v1)

    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert got["Document"] == json.loads(v1) and got["IsDefaultVersion"] is True
    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(f"s3:Get{i}", "*")),
                                      SetAsDefault=(i == 3))["PolicyVersion"]
        assert v["VersionId"] == f"v{i}"
    with aws_error("LimitExceeded", contains="up to 5 versions"):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=v1)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v2", "v3", "v4", "v5"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v3"]
    with aws_error("DeleteConflict", "Cannot delete the default version of a policy."):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    with aws_error("NoSuchEntity"):
        iam.get_policy_version(PolicyArn=arn, VersionId="v1")
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v5"

    role = unique("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_root(account))
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == [
        {"PolicyName": name, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    listed = iam.list_policies(Scope="Local", OnlyAttached=True, PathPrefix="/team/")["Policies"]
    assert arn in [x["Arn"] for x in listed]
    assert iam.list_policies(Scope="AWS")["Policies"] == []  # no AWS managed policies
    with aws_error("DeleteConflict", "Cannot delete entity, must detach all policies first."):
        iam.delete_role(RoleName=role)
    with aws_error("DeleteConflict", "Cannot delete a policy attached to entities."):
        iam.delete_policy(PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    with aws_error("NoSuchEntity"):
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.delete_role(RoleName=role)
    for v in ("v2", "v3", "v4"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    iam.delete_policy(PolicyArn=arn)
    with aws_error("NoSuchEntity", f"Policy {arn} was not found."):
        iam.get_policy(PolicyArn=arn)


# -- identity providers ------------------------------------------------------------------------


def test_oidc_providers(iam, account):
    url = f"https://{unique('idp')}.example.com"
    arn = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=["app-1"], ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{account}:oidc-provider/{url[8:]}"
    with aws_error("EntityAlreadyExists"):
        iam.create_open_id_connect_provider(Url=url, ThumbprintList=["a" * 40])
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app-2")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn,
                                                   ThumbprintList=["b" * 40])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == url[8:]
    assert got["ClientIDList"] == ["app-1", "app-2"] and got["ThumbprintList"] == ["b" * 40]
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app-1")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == ["app-2"]
    assert {"Arn": arn} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    with aws_error("ValidationError"):
        iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn,
                                                       ThumbprintList=["z" * 40])
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with aws_error("NoSuchEntity"):
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)


SAML_METADATA = (
    '<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="https://idp.example.com" validUntil="2031-05-06T07:08:09Z"><md:IDPSSODescriptor '
    'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    + "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
    + "<ds:X509Data><ds:X509Certificate>" + "MIIC" * 250 + "</ds:X509Certificate></ds:X509Data>"
    + "</ds:KeyInfo></md:KeyDescriptor>"
    + '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
    'Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
)


def test_saml_providers(iam, account):
    name = unique("saml")
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_METADATA)["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{account}:saml-provider/{name}"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == SAML_METADATA
    assert got["ValidUntil"].year == 2031
    updated = SAML_METADATA.replace("idp.example.com/sso", "idp.example.com/sso2")
    assert iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=updated)["SAMLProviderArn"] == arn
    assert iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == updated
    assert arn in [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]]
    with aws_error("EntityAlreadyExists"):
        iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_METADATA)
    with aws_error("InvalidInput"):
        iam.create_saml_provider(Name=unique("saml"), SAMLMetadataDocument="<nope/>" * 200)
    iam.delete_saml_provider(SAMLProviderArn=arn)
    with aws_error("NoSuchEntity"):
        iam.get_saml_provider(SAMLProviderArn=arn)


def test_iam_needs_signed_root_credentials(server):
    unsigned = server.client("iam", unsigned=True)
    with aws_error("MissingAuthenticationToken"):
        unsigned.list_roles()
    wrong = server.client("iam", access_key="AKIAWRONGWRONGWRONG1", secret_key="x" * 40)
    with pytest.raises(Exception):
        wrong.list_roles()


# -- the simulator -----------------------------------------------------------------------------

SUB_KEY = "cognito-identity.amazonaws.com:sub"
ME = "us-east-1:12345678-1234-1234-1234-123456790ab"
OTHER = "us-east-1:98765432-1234-1234-1234-123456790ab"

# The seed's three identity-pool role policies (Cognito developer guide, iam-roles examples).
GUEST_READ = doc({"Action": ["s3:GetObject"], "Effect": "Allow",
                  "Resource": ["arn:aws:s3:::mybucket/assets/my_picture.jpg"]})
S3_PREFIX = doc(
    {"Action": ["s3:ListBucket"], "Effect": "Allow", "Resource": ["arn:aws:s3:::mybucket"],
     "Condition": {"StringLike": {"s3:prefix": ["${cognito-identity.amazonaws.com:sub}/*"]}}},
    {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow",
     "Resource": ["arn:aws:s3:::mybucket/${cognito-identity.amazonaws.com:sub}/*"]})
DYNAMO_ROWS = doc(
    {"Effect": "Allow",
     "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
                "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
     "Resource": ["arn:aws:dynamodb:us-west-2:123456789012:table/MyTable"],
     "Condition": {"ForAllValues:StringEquals": {
         "dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"]}}})


@pytest.fixture(scope="module")
def aws_iam(server, tmp_path_factory):
    home = tmp_path_factory.mktemp("awshome-iam")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ROOT_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=ROOT_SECRET_ACCESS_KEY,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"), AWS_PAGER="", HOME=str(home))

    def run(*args):
        cmd = [sys.executable, "-m", "awscli", "iam", *args, "--endpoint-url", server.endpoint,
               "--output", "json"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"{cmd}\nstdout: {p.stdout}\nstderr: {p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else {}

    return run


def simulate(aws_iam, role_arn, action, resource, *context):
    args = ["simulate-principal-policy", "--policy-source-arn", role_arn,
            "--action-names", action, "--resource-arns", resource]
    if context:
        args += ["--context-entries", *context]
    return aws_iam(*args)["EvaluationResults"][0]


def sub_entry(value):
    return f"ContextKeyName={SUB_KEY},ContextKeyValues={value},ContextKeyType=string"


def test_aws_cli_simulates_the_seed_policies(iam, aws_iam, account):
    role = unique("seed")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_root(account))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="guest-read", PolicyDocument=GUEST_READ)
    iam.put_role_policy(RoleName=role, PolicyName="s3-prefix", PolicyDocument=S3_PREFIX)
    managed = iam.create_policy(PolicyName=unique("dynamo"), PolicyDocument=DYNAMO_ROWS)["Policy"]
    iam.attach_role_policy(RoleName=role, PolicyArn=managed["Arn"])

    # 1. Guest read of one object.
    r = simulate(aws_iam, arn, "s3:GetObject", "arn:aws:s3:::mybucket/assets/my_picture.jpg")
    assert r["EvalDecision"] == "allowed"
    assert r["MatchedStatements"][0]["SourcePolicyId"] == "guest-read"
    assert r["MatchedStatements"][0]["SourcePolicyType"] == "role"
    assert r["MatchedStatements"][0]["StartPosition"] == {"Line": 1, "Column": 41}
    assert simulate(aws_iam, arn, "s3:DeleteObject",
                    "arn:aws:s3:::mybucket/assets/my_picture.jpg")["EvalDecision"] == "implicitDeny"

    # 2. Per-identity S3 prefix: the caller's own folder, not another's.
    mine = simulate(aws_iam, arn, "s3:PutObject", f"arn:aws:s3:::mybucket/{ME}/a.txt", sub_entry(ME))
    assert mine["EvalDecision"] == "allowed"
    assert mine["MatchedStatements"][0]["SourcePolicyId"] == "s3-prefix"
    theirs = simulate(aws_iam, arn, "s3:PutObject", f"arn:aws:s3:::mybucket/{OTHER}/a.txt", sub_entry(ME))
    assert theirs["EvalDecision"] == "implicitDeny"
    listing = simulate(aws_iam, arn, "s3:ListBucket", "arn:aws:s3:::mybucket", sub_entry(ME),
                       f"ContextKeyName=s3:prefix,ContextKeyValues={ME}/photos/,ContextKeyType=string")
    assert listing["EvalDecision"] == "allowed"
    # Without s3:prefix the simulator says which key it missed.
    bare = simulate(aws_iam, arn, "s3:ListBucket", "arn:aws:s3:::mybucket", sub_entry(ME))
    assert bare["EvalDecision"] == "implicitDeny"
    assert bare["MissingContextValues"] == ["s3:prefix"]

    # 3. DynamoDB rows keyed by the identity (an attached managed policy).
    table = "arn:aws:dynamodb:us-west-2:123456789012:table/MyTable"
    own = simulate(aws_iam, arn, "dynamodb:GetItem", table, sub_entry(ME),
                   f"ContextKeyName=dynamodb:LeadingKeys,ContextKeyValues={ME},ContextKeyType=stringList")
    assert own["EvalDecision"] == "allowed"
    assert own["MatchedStatements"][0]["SourcePolicyType"] == "user-managed"
    other = simulate(aws_iam, arn, "dynamodb:GetItem", table, sub_entry(ME),
                     f"ContextKeyName=dynamodb:LeadingKeys,ContextKeyValues={OTHER},ContextKeyType=stringList")
    assert other["EvalDecision"] == "implicitDeny"
    assert simulate(aws_iam, arn, "dynamodb:Scan", table, sub_entry(ME))["EvalDecision"] == "implicitDeny"


def test_simulator_explicit_deny_and_custom_policies(iam, account):
    role = unique("sim")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_root(account))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="all", PolicyDocument=doc(allow("s3:*")))
    iam.put_role_policy(RoleName=role, PolicyName="no-delete", PolicyDocument=doc(
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}))
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject", "s3:DeleteObject", "ec2:RunInstances"],
        ResourceArns=["arn:aws:s3:::b/k"])["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "explicitDeny", "implicitDeny"]
    assert results[1]["MatchedStatements"][0]["SourcePolicyId"] == "no-delete"
    custom = iam.simulate_custom_policy(PolicyInputList=[GUEST_READ], ActionNames=["s3:GetObject"],
                                        ResourceArns=["arn:aws:s3:::mybucket/assets/my_picture.jpg"])
    r = custom["EvaluationResults"][0]
    assert r["EvalDecision"] == "allowed"
    assert r["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    with aws_error("NoSuchEntity"):
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{account}:role/{unique('x')}",
                                      ActionNames=["s3:GetObject"])
    with aws_error("MalformedPolicyDocument"):
        iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["s3:GetObject"])


# -- STS -------------------------------------------------------------------------------------


def test_assume_role_with_root_then_chaining(iam, server, account):
    role = unique("target")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_root(account),
                          MaxSessionDuration=7200)["Role"]["Arn"]
    root_sts = server.client("sts")
    out = root_sts.assume_role(RoleArn=arn, RoleSessionName="ops-session", DurationSeconds=7200)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    user = out["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role}/ops-session"
    role_id = iam.get_role(RoleName=role)["Role"]["RoleId"]
    assert user["AssumedRoleId"] == f"{role_id}:ops-session"
    me = sts_with(server, creds).get_caller_identity()
    assert me["Arn"] == user["Arn"] and me["UserId"] == user["AssumedRoleId"]
    assert me["Account"] == account

    # A forged session token is refused.
    forged = dict(creds, SessionToken=creds["SessionToken"][:-4] + "AAAA")
    with aws_error("InvalidClientTokenId"):
        sts_with(server, forged).get_caller_identity()
    # A trust policy that names only a service refuses the account.
    lam = unique("lambda")
    lam_arn = iam.create_role(RoleName=lam, AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    with aws_error("AccessDenied", contains="is not authorized to perform: sts:AssumeRole"):
        root_sts.assume_role(RoleArn=lam_arn, RoleSessionName="x1")
    # Past the role's MaxSessionDuration.
    with aws_error("ValidationError",
                   "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."):
        root_sts.assume_role(RoleArn=arn, RoleSessionName="x2", DurationSeconds=7201)

    # Role chaining: the session may assume a role only if its own policies allow it.
    hop = unique("hop")
    hop_arn = iam.create_role(RoleName=hop, AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    session_sts = sts_with(server, creds)
    with aws_error("AccessDenied"):
        session_sts.assume_role(RoleArn=hop_arn, RoleSessionName="hop")
    iam.put_role_policy(RoleName=role, PolicyName="may-hop",
                        PolicyDocument=doc(allow("sts:AssumeRole", hop_arn)))
    hopped = session_sts.assume_role(RoleArn=hop_arn, RoleSessionName="hop")
    assert hopped["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{hop}/hop")
    with aws_error("ValidationError", contains="role chaining"):
        session_sts.assume_role(RoleArn=hop_arn, RoleSessionName="hop", DurationSeconds=3601)
    # Session credentials can't administer IAM.
    session_iam = boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"])
    with aws_error("AccessDenied"):
        session_iam.list_roles()


def web_trust(provider_arn: str, key: str, aud: str) -> str:
    return doc({"Effect": "Allow", "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{key}:aud": aud}}})


def test_assume_role_with_web_identity_from_a_user_pool_id_token(iam, idp, server, account):
    pool = create_pool(idp)
    client = create_client(idp, pool)
    other_client = create_client(idp, pool)
    username, password = confirmed_user(idp, pool, client)
    id_token = password_auth(idp, client, username, password)["IdToken"]
    issuer = server.issuer(pool)
    host_path = issuer.split("://", 1)[1]
    unsigned_sts = sts_with(server, unsigned=True)
    role = unique("web")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=web_trust(
        f"arn:aws:iam::{account}:oidc-provider/{host_path}", host_path, client["ClientId"]))["Role"]["Arn"]

    # As in AWS, the issuer must be registered as an OIDC provider first.
    with aws_error("InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}"):
        unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="web",
                                                   WebIdentityToken=id_token)
    provider = iam.create_open_id_connect_provider(
        Url=issuer, ClientIDList=[client["ClientId"], other_client["ClientId"]],
        ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
    out = unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="web",
                                                     WebIdentityToken=id_token)
    claims = json.loads(
        __import__("base64").urlsafe_b64decode(id_token.split(".")[1] + "==").decode())
    assert out["SubjectFromWebIdentityToken"] == claims["sub"]
    assert out["Audience"] == client["ClientId"]
    assert out["Provider"] == issuer
    me = sts_with(server, out["Credentials"]).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role}/web"

    # A token for another client of the pool: the trust policy's aud condition refuses it.
    other_token = password_auth(idp, other_client, username, password)["IdToken"]
    with aws_error("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"):
        unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="web",
                                                   WebIdentityToken=other_token)
    # A tampered token doesn't verify; an access token is not an ID token of the pool's key.
    tampered = id_token[:-6] + ("AAAAAA" if not id_token.endswith("AAAAAA") else "BBBBBB")
    with aws_error("InvalidIdentityToken"):
        unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="web",
                                                   WebIdentityToken=tampered)
    with aws_error("InvalidIdentityToken"):
        unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="web",
                                                   WebIdentityToken="not-a-jwt")
    with aws_error("ValidationError",
                   "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."):
        unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="web",
                                                   WebIdentityToken=id_token, DurationSeconds=3700)
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider)


def cognito_trust(pool_id: str, amr: str) -> str:
    return doc({"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                              "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}})


def test_classic_flow_identity_pool_token_to_sts_credentials(iam, server, account):
    ci = server.client("cognito-identity")
    public_ci = server.client("cognito-identity", unsigned=True)
    pools = [ci.create_identity_pool(IdentityPoolName=unique("classic").replace("-", "_"),
                                     AllowUnauthenticatedIdentities=True,
                                     AllowClassicFlow=True)["IdentityPoolId"] for _ in range(2)]
    mine, other = pools
    role = unique("guest")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=cognito_trust(mine, "unauthenticated"))["Role"]["Arn"]

    identity = public_ci.get_id(IdentityPoolId=mine)["IdentityId"]
    token = public_ci.get_open_id_token(IdentityId=identity)["Token"]
    unsigned_sts = sts_with(server, unsigned=True)
    out = unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="classic",
                                                     WebIdentityToken=token)
    assert out["SubjectFromWebIdentityToken"] == identity
    assert out["Audience"] == mine
    assert out["Provider"] == "cognito-identity.amazonaws.com"
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role}/classic"
    me = sts_with(server, out["Credentials"]).get_caller_identity()
    assert me["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert me["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]

    # Another pool's token: the trust policy's aud condition refuses it.
    stranger = public_ci.get_id(IdentityPoolId=other)["IdentityId"]
    foreign = public_ci.get_open_id_token(IdentityId=stranger)["Token"]
    with aws_error("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity") as e:
        unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="classic",
                                                   WebIdentityToken=foreign)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # A role for authenticated identities refuses a guest's token.
    auth_role = iam.create_role(RoleName=unique("auth"),
                                AssumeRolePolicyDocument=cognito_trust(mine, "authenticated"))["Role"]["Arn"]
    with aws_error("AccessDenied"):
        unsigned_sts.assume_role_with_web_identity(RoleArn=auth_role, RoleSessionName="classic",
                                                   WebIdentityToken=token)
    # Past the role's MaxSessionDuration (3600 by default).
    with aws_error("ValidationError",
                   "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."):
        unsigned_sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="classic",
                                                   WebIdentityToken=token, DurationSeconds=7200)
    # A role that doesn't exist is an AccessDenied, as in AWS.
    with aws_error("AccessDenied"):
        unsigned_sts.assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{account}:role/{unique('none')}", RoleSessionName="classic",
            WebIdentityToken=token)


def test_enhanced_flow_needs_a_role_that_trusts_the_pool(iam, server, account):
    ci = server.client("cognito-identity")
    public_ci = server.client("cognito-identity", unsigned=True)
    pool = ci.create_identity_pool(IdentityPoolName=unique("enhanced").replace("-", "_"),
                                   AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    other = ci.create_identity_pool(IdentityPoolName=unique("enhanced").replace("-", "_"),
                                    AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    role = unique("guest")
    arn = f"arn:aws:iam::{account}:role/{role}"
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"unauthenticated": arn})
    identity = public_ci.get_id(IdentityPoolId=pool)["IdentityId"]
    refused = ("InvalidIdentityPoolConfigurationException",
               "Invalid identity pool configuration. Check assigned IAM roles for this pool.")
    # The role doesn't exist yet.
    with aws_error(*refused):
        public_ci.get_credentials_for_identity(IdentityId=identity)
    # It exists but trusts another pool.
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=cognito_trust(other, "unauthenticated"))
    with aws_error(*refused):
        public_ci.get_credentials_for_identity(IdentityId=identity)
    # It trusts this pool's guests.
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=cognito_trust(pool, "unauthenticated"))
    creds = public_ci.get_credentials_for_identity(IdentityId=identity)["Credentials"]
    who = sts_with(server, dict(creds, SecretAccessKey=creds["SecretKey"])).get_caller_identity()
    role_id = iam.get_role(RoleName=role)["Role"]["RoleId"]
    assert who["Arn"] == f"arn:aws:sts::{account}:assumed-role/{role}/CognitoIdentityCredentials"
    assert who["UserId"] == f"{role_id}:CognitoIdentityCredentials"


# -- API calls signed with session credentials ---------------------------------------------------


def session_client(server, service: str, creds: dict):
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def test_session_credentials_call_apis_as_far_as_their_role_allows(iam, server, account):
    """An assumed role's credentials may call cognito-idp and IAM where the role's policies
    allow that action on that resource (the pool's ARN, the role's ARN), and nowhere else."""
    idp = server.client()
    mine = create_pool(idp)
    other = create_pool(idp)
    mine_arn = f"arn:aws:cognito-idp:{REGION}:{account}:userpool/{mine}"
    role = unique("operator")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_root(account))
    iam.put_role_policy(RoleName=role, PolicyName="ops", PolicyDocument=doc(
        allow(["cognito-idp:ListUsers", "cognito-idp:AdminGetUser"], mine_arn),
        allow("iam:GetRole", f"arn:aws:iam::{account}:role/{role}"),
        {"Effect": "Deny", "Action": "cognito-idp:AdminGetUser", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blocked"}}},
    ))
    creds = server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}",
                                             RoleSessionName="ops")["Credentials"]
    session_arn = f"arn:aws:sts::{account}:assumed-role/{role}/ops"
    s_idp = session_client(server, "cognito-idp", creds)
    s_iam = session_client(server, "iam", creds)

    assert s_idp.list_users(UserPoolId=mine)["Users"] == []
    with aws_error("AccessDeniedException",
                   f"User: {session_arn} is not authorized to perform: cognito-idp:ListUsers on resource: "
                   f"arn:aws:cognito-idp:{REGION}:{account}:userpool/{other} because no identity-based policy "
                   "allows the cognito-idp:ListUsers action"):
        s_idp.list_users(UserPoolId=other)
    with aws_error("AccessDeniedException", contains="cognito-idp:AdminCreateUser"):
        s_idp.admin_create_user(UserPoolId=mine, Username=unique("u"))
    assert idp.list_users(UserPoolId=mine)["Users"] == []

    assert s_iam.get_role(RoleName=role)["Role"]["RoleName"] == role
    with aws_error("AccessDenied",
                   f"User: {session_arn} is not authorized to perform: iam:CreateRole on resource: "
                   f"arn:aws:iam::{account}:role/escalate because no identity-based policy allows the "
                   "iam:CreateRole action"):
        s_iam.create_role(RoleName="escalate", AssumeRolePolicyDocument=trust_root(account))
    with aws_error("AccessDenied", contains="iam:PutRolePolicy"):
        s_iam.put_role_policy(RoleName=role, PolicyName="more", PolicyDocument=doc(allow("*")))

    # A forged session token is refused before any policy is read.
    forged = dict(creds, SessionToken=creds["SessionToken"][:-4] + "AAAA")
    with aws_error("UnrecognizedClientException"):
        session_client(server, "cognito-idp", forged).list_users(UserPoolId=mine)

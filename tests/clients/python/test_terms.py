"""Terms documents (CreateTerms, DescribeTerms, DescribeTermsByClient, UpdateTerms, DeleteTerms,
ListTerms) with boto3, including Cognito's errors, and the replica operations' honest refusal
(regional replicas are AWS infrastructure)."""

from __future__ import annotations

import re

import pytest
from support import aws_error, create_client, create_pool

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def pool(idp):
    return create_pool(idp)


@pytest.fixture
def client_id(idp, pool):
    return create_client(idp, pool)["ClientId"]


def create(idp, pool, client_id, name="terms-of-use", links=None):
    return idp.create_terms(
        UserPoolId=pool,
        ClientId=client_id,
        TermsName=name,
        TermsSource="LINK",
        Enforcement="NONE",
        Links=links or {"cognito:default": f"https://example.com/{name}"},
    )["Terms"]


def test_create_describe_update_delete(idp, pool, client_id):
    links = {"cognito:default": "https://example.com/tos", "cognito:german": "https://example.com/de/tos"}
    terms = create(idp, pool, client_id, links=links)
    assert UUID4.match(terms["TermsId"])
    assert terms["UserPoolId"] == pool and terms["ClientId"] == client_id
    assert terms["TermsName"] == "terms-of-use"
    assert (terms["TermsSource"], terms["Enforcement"]) == ("LINK", "NONE")
    assert terms["Links"] == links
    assert terms["CreationDate"] == terms["LastModifiedDate"]

    assert idp.describe_terms(UserPoolId=pool, TermsId=terms["TermsId"])["Terms"] == terms
    by_client = idp.describe_terms_by_client(
        UserPoolId=pool, ClientId=client_id, TermsName="terms-of-use"
    )["Terms"]
    assert by_client == terms

    updated = idp.update_terms(
        UserPoolId=pool,
        TermsId=terms["TermsId"],
        Links={"cognito:default": "https://example.com/tos-v2"},
    )["Terms"]
    assert updated["Links"] == {"cognito:default": "https://example.com/tos-v2"}
    assert updated["TermsName"] == "terms-of-use"
    assert updated["CreationDate"] == terms["CreationDate"]
    assert idp.describe_terms(UserPoolId=pool, TermsId=terms["TermsId"])["Terms"] == updated

    idp.delete_terms(UserPoolId=pool, TermsId=terms["TermsId"])
    with aws_error("ResourceNotFoundException"):
        idp.describe_terms(UserPoolId=pool, TermsId=terms["TermsId"])
    with aws_error("ResourceNotFoundException"):
        idp.delete_terms(UserPoolId=pool, TermsId=terms["TermsId"])
    with aws_error("ResourceNotFoundException"):
        idp.describe_terms_by_client(UserPoolId=pool, ClientId=client_id, TermsName="terms-of-use")


def test_one_document_of_each_kind_per_client(idp, pool, client_id):
    tos = create(idp, pool, client_id, "terms-of-use")
    privacy = create(idp, pool, client_id, "privacy-policy")
    with aws_error("TermsExistsException"):
        create(idp, pool, client_id, "terms-of-use")
    # Renaming the privacy policy into the taken name is refused the same way.
    with aws_error("TermsExistsException"):
        idp.update_terms(UserPoolId=pool, TermsId=privacy["TermsId"], TermsName="terms-of-use")
    # Another client has its own.
    other = create_client(idp, pool)["ClientId"]
    create(idp, pool, other, "terms-of-use")
    idp.delete_terms(UserPoolId=pool, TermsId=tos["TermsId"])
    create(idp, pool, client_id, "terms-of-use")


def test_list_pages(idp):
    pool = create_pool(idp)
    made = set()
    for _ in range(3):
        c = create_client(idp, pool)["ClientId"]
        made.add(create(idp, pool, c)["TermsId"])
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"UserPoolId": pool, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        resp = idp.list_terms(**kwargs)
        pages += 1
        for t in resp["Terms"]:
            assert set(t) == {"TermsId", "TermsName", "Enforcement", "CreationDate", "LastModifiedDate"}
        seen += [t["TermsId"] for t in resp["Terms"]]
        token = resp.get("NextToken")
        if not token:
            break
    assert pages == 2 and set(seen) == made and len(seen) == 3
    with aws_error("InvalidParameterException"):
        idp.list_terms(UserPoolId=pool, NextToken="!!not-a-token!!")
    with aws_error("InvalidParameterException"):
        idp.list_terms(UserPoolId=pool, MaxResults=61)


def test_errors(idp, pool, client_id):
    with aws_error("ResourceNotFoundException"):
        create(idp, "us-east-1_nopool", client_id)
    with aws_error("ResourceNotFoundException"):
        create(idp, pool, "nosuchclient")
    # A client of another pool isn't this pool's.
    other_pool = create_pool(idp)
    with aws_error("ResourceNotFoundException"):
        create(idp, other_pool, client_id)
    # The model's constraints: TermsName, TermsSource, Enforcement, language keys, 13 links.
    with aws_error("InvalidParameterException"):
        create(idp, pool, client_id, name="cookie-policy")
    with aws_error("InvalidParameterException"):
        idp.create_terms(UserPoolId=pool, ClientId=client_id, TermsName="terms-of-use",
                         TermsSource="FILE", Enforcement="NONE",
                         Links={"cognito:default": "https://example.com"})
    with aws_error("InvalidParameterException"):
        create(idp, pool, client_id, links={"cognito:klingon": "https://example.com"})
    # Links are shown as hrefs: absolute https only, and required with LINK.
    for bad in ["javascript:alert(1)", "http://example.com/tos", "/tos"]:
        with aws_error("InvalidParameterException", "Links must be absolute https URLs."):
            create(idp, pool, client_id, links={"cognito:default": bad})
    with aws_error("InvalidParameterException"):
        idp.create_terms(UserPoolId=pool, ClientId=client_id, TermsName="terms-of-use",
                         TermsSource="LINK", Enforcement="NONE")
    with aws_error("ResourceNotFoundException"):
        idp.describe_terms(UserPoolId=pool, TermsId="0b3f7c2e-8a44-4b7e-9c51-2d6f0e1a9b38")
    with aws_error("InvalidParameterException"):
        idp.describe_terms(UserPoolId=pool, TermsId="not-a-uuid")


def test_terms_operations_need_sigv4(server, pool, client_id):
    public = server.client(unsigned=True)
    with aws_error("MissingAuthenticationTokenException"):
        public.list_terms(UserPoolId=pool)


def test_replicas_answer_an_honest_error(idp, pool):
    for call in (
        lambda: idp.create_user_pool_replica(UserPoolId=pool, RegionName="eu-west-1"),
        lambda: idp.list_user_pool_replicas(UserPoolId=pool),
        lambda: idp.update_user_pool_replica(UserPoolId=pool, RegionName="eu-west-1", Status="ACTIVE"),
        lambda: idp.delete_user_pool_replica(UserPoolId=pool, RegionName="eu-west-1"),
    ):
        with aws_error("OperationNotEnabledException", contains="AWS infrastructure"):
            call()
    with aws_error("ResourceNotFoundException"):
        idp.list_user_pool_replicas(UserPoolId="us-east-1_nopool")


def test_operations_lists_the_new_operations(server):
    import subprocess

    out = subprocess.run([server.binary, "operations"], capture_output=True, text=True,
                         timeout=30, check=True).stdout.split()
    for op in ["CreateTerms", "DescribeTerms", "DescribeTermsByClient", "UpdateTerms", "DeleteTerms",
               "ListTerms", "GetClientToken", "GetDerivedToken", "CreateUserPoolReplica",
               "DeleteUserPoolReplica", "ListUserPoolReplicas", "UpdateUserPoolReplica",
               "CreateCIMDPolicy", "DescribeCIMDPolicy", "UpdateCIMDPolicy", "DeleteCIMDPolicy",
               "ListCIMDPolicies", "ListClientMetadataURLs", "UpdateClientMetadataURLState"]:
        assert f"cognito-idp.{op}" in out, op

"""Answers that must match Cognito's to the letter, found by running client tests written against
AWS: schema rules and how the schema is echoed, the legacy verification-message fields, alias
conflicts where email is the username, attribute deletion, and ForgotPassword's refusals. boto3
against the real binary."""

from __future__ import annotations

import pytest
from support import aws_error, create_client, create_pool, password, unique


def schema_of(idp, pool_id: str) -> dict:
    attrs = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["SchemaAttributes"]
    return {a["Name"]: a for a in attrs}


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ({"Name": "email", "AttributeDataType": "String", "StringAttributeConstraints": {"MaxLength": "2049"}},
         "user.email: String attributes cannot have a length of more than 2048"),
        ({"Name": "email", "AttributeDataType": "String", "StringAttributeConstraints": {"MinLength": "2049"}},
         "user.email: String attributes cannot have a length of more than 2048"),
        ({"Name": "nick", "AttributeDataType": "String",
          "StringAttributeConstraints": {"MinLength": "5", "MaxLength": "4"}},
         "user.custom:nick: Max length cannot be less than min length."),
        ({"Name": "updated_at", "AttributeDataType": "Number",
          "NumberAttributeConstraints": {"MinValue": "2", "MaxValue": "1"}},
         "user.updated_at: Max value cannot be less than min value."),
        ({"Name": "email", "AttributeDataType": "String", "StringAttributeConstraints": {"MinLength": "many"}},
         "Invalid StringAttributeConstraints for schema attribute email"),
        ({"Name": "score", "AttributeDataType": "Number", "NumberAttributeConstraints": {"MaxValue": "lots"}},
         "Invalid NumberAttributeConstraints for schema attribute custom:score"),
        ({"Name": "level"},
         "Invalid AttributeDataType input, consider using the provided AttributeDataType enum."),
        ({"Name": "email", "AttributeDataType": "Number"},
         "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute email"),
        ({"Name": "email", "DeveloperOnlyAttribute": True},
         "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute email"),
    ],
)
def test_schema_is_validated_as_cognito_validates_it(idp, attribute, message):
    name = unique("schema")
    with aws_error("InvalidParameterException", message):
        idp.create_user_pool(PoolName=name, Schema=[attribute])
    assert name not in [p["Name"] for p in idp.list_user_pools(MaxResults=60)["UserPools"]]


def test_the_schema_echoes_only_the_constraints_of_each_type(idp):
    both = {"NumberAttributeConstraints": {"MinValue": "10", "MaxValue": "20"},
            "StringAttributeConstraints": {"MinLength": "10", "MaxLength": "20"}}
    pool = idp.create_user_pool(PoolName=unique("echo"), Schema=[
        {"Name": "text", "AttributeDataType": "String", **both},
        {"Name": "number", "AttributeDataType": "Number", **both},
        {"Name": "flag", "AttributeDataType": "Boolean", **both},
        {"Name": "bare", "AttributeDataType": "String"},
        {"Name": "count", "AttributeDataType": "Number"},
        {"Name": "short", "AttributeDataType": "String", "StringAttributeConstraints": {"MaxLength": "10"}},
    ])["UserPool"]
    for schema in ({a["Name"]: a for a in pool["SchemaAttributes"]}, schema_of(idp, pool["Id"])):
        assert schema["custom:text"]["StringAttributeConstraints"] == {"MinLength": "10", "MaxLength": "20"}
        assert "NumberAttributeConstraints" not in schema["custom:text"]
        assert schema["custom:number"]["NumberAttributeConstraints"] == {"MinValue": "10", "MaxValue": "20"}
        assert "StringAttributeConstraints" not in schema["custom:number"]
        assert "StringAttributeConstraints" not in schema["custom:flag"]
        assert "NumberAttributeConstraints" not in schema["custom:flag"]
        assert schema["custom:bare"]["StringAttributeConstraints"] == {}
        assert "NumberAttributeConstraints" not in schema["custom:count"]
        assert schema["custom:short"]["StringAttributeConstraints"] == {"MaxLength": "10"}
        assert schema["email"]["StringAttributeConstraints"] == {"MinLength": "0", "MaxLength": "2048"}

    # The bounds are enforced on values: an 11-character custom:short is refused, 10 is fine.
    with aws_error("InvalidParameterException", contains="custom:short"):
        idp.admin_create_user(UserPoolId=pool["Id"], Username=unique(), MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "custom:short", "Value": "x" * 11}])
    fits = unique()
    idp.admin_create_user(UserPoolId=pool["Id"], Username=fits, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "custom:short", "Value": "x" * 10}])
    got = idp.admin_get_user(UserPoolId=pool["Id"], Username=fits)["UserAttributes"]
    assert {a["Name"]: a["Value"] for a in got}["custom:short"] == "x" * 10


def test_an_existing_custom_attribute_cannot_be_added_again(idp):
    banana = {"Name": "banana", "AttributeDataType": "String", "DeveloperOnlyAttribute": True}
    pool_id = idp.create_user_pool(PoolName=unique("add"), Schema=[banana])["UserPool"]["Id"]
    with aws_error("InvalidParameterException",
                   "custom:banana: Existing attribute already has name dev:custom:banana."):
        idp.add_custom_attributes(UserPoolId=pool_id, CustomAttributes=[banana])
    with aws_error("InvalidParameterException",
                   "Invalid AttributeDataType input, consider using the provided AttributeDataType enum."):
        idp.add_custom_attributes(UserPoolId=pool_id, CustomAttributes=[{"Name": "untyped"}])
    idp.add_custom_attributes(UserPoolId=pool_id, CustomAttributes=[{"Name": "apple", "AttributeDataType": "String"}])
    assert "custom:apple" in schema_of(idp, pool_id)


def test_verification_template_and_legacy_fields_describe_the_same_messages(idp):
    pool = idp.create_user_pool(PoolName=unique("tpl"), VerificationMessageTemplate={
        "DefaultEmailOption": "CONFIRM_WITH_LINK",
        "EmailMessage": "foo {####} bar",
        "EmailMessageByLink": "{##foobar##}",
        "EmailSubject": "foobar {####}",
        "EmailSubjectByLink": "foobar",
        "SmsMessage": "{####} baz",
    })["UserPool"]
    described = idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
    for p in (pool, described):
        assert p["SmsVerificationMessage"] == "{####} baz"
        assert p["EmailVerificationSubject"] == "foobar {####}"
        assert p["EmailVerificationMessage"] == "foo {####} bar"
        assert p["VerificationMessageTemplate"]["DefaultEmailOption"] == "CONFIRM_WITH_LINK"

    legacy = idp.create_user_pool(PoolName=unique("legacy"), EmailVerificationMessage="Code: {####}",
                                  EmailVerificationSubject="Your code", SmsVerificationMessage="SMS {####}")
    template = legacy["UserPool"]["VerificationMessageTemplate"]
    assert template == {"EmailMessage": "Code: {####}", "EmailSubject": "Your code", "SmsMessage": "SMS {####}",
                        "DefaultEmailOption": "CONFIRM_WITH_CODE"}


def test_an_email_username_cannot_be_taken_by_another_user(idp, public_idp):
    pool_id = create_pool(idp, UsernameAttributes=["email"])
    client = create_client(idp, pool_id)
    for who in ("ann", "bob"):
        idp.admin_create_user(UserPoolId=pool_id, Username=f"{who}@example.com", MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": f"{who}@example.com"}])
    with aws_error("AliasExistsException", "An account with the given email already exists."):
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username="ann@example.com",
                                         UserAttributes=[{"Name": "email", "Value": "bob@example.com"}])
    with aws_error("UsernameExistsException", "An account with the given email already exists."):
        public_idp.sign_up(ClientId=client["ClientId"], Username="bob@example.com", Password=password())
    ann = idp.admin_get_user(UserPoolId=pool_id, Username="ann@example.com")
    assert {a["Name"]: a["Value"] for a in ann["UserAttributes"]}["email"] == "ann@example.com"

    # Where the username is free-form, two users may share an email address.
    plain = create_pool(idp)
    for who in ("ann", "bob"):
        idp.admin_create_user(UserPoolId=plain, Username=who, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": f"{who}@example.com"}])
    idp.admin_update_user_attributes(UserPoolId=plain, Username="ann",
                                     UserAttributes=[{"Name": "email", "Value": "bob@example.com"}])


def test_deleting_attributes_the_schema_lacks(idp):
    pool_id = create_pool(idp)
    user = unique()
    idp.admin_create_user(UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "nickname", "Value": "Joe"}])
    with aws_error("InvalidParameterException",
                   "Invalid user attributes: user.custom:foo: Attribute does not exist in the schema.\n"):
        idp.admin_delete_user_attributes(UserPoolId=pool_id, Username=user,
                                         UserAttributeNames=["nickname", "custom:foo"])
    # Nothing was deleted.
    got = idp.admin_get_user(UserPoolId=pool_id, Username=user)["UserAttributes"]
    assert {a["Name"]: a["Value"] for a in got}["nickname"] == "Joe"


def test_forgot_password_refusals(idp, public_idp):
    with aws_error("ResourceNotFoundException", "Username/client id combination not found."):
        public_idp.forgot_password(ClientId="1example23456789abcdefghij", Username=unique())

    pool_id = create_pool(idp, AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]})
    client = create_client(idp, pool_id)
    known = unique()
    idp.admin_create_user(UserPoolId=pool_id, Username=known, MessageAction="SUPPRESS")
    for name in (known, unique("nobody")):
        with aws_error("NotAuthorizedException", "Contact administrator to reset password."):
            public_idp.forgot_password(ClientId=client["ClientId"], Username=name)


def test_pool_tags_through_the_tagging_api(idp):
    """Pool-as-code tools read and write tags with TagResource / ListTagsForResource; they are the
    same tags as UserPoolTags in CreateUserPool and DescribeUserPool."""
    pool = idp.create_user_pool(PoolName=unique("tags"), UserPoolTags={"team": "id"})["UserPool"]
    arn = pool["Arn"]
    assert idp.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "id"}
    idp.tag_resource(ResourceArn=arn, Tags={"env": "test", "team": "identity"})
    assert idp.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "test", "team": "identity"}
    idp.untag_resource(ResourceArn=arn, TagKeys=["team", "absent"])
    assert idp.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "test"}
    assert idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["UserPoolTags"] == {"env": "test"}

    missing = arn.rsplit("/", 1)[0] + "/" + pool["Id"].split("_")[0] + "_nosuchpool1"
    with aws_error("ResourceNotFoundException"):
        idp.list_tags_for_resource(ResourceArn=missing)
    with aws_error("ResourceNotFoundException"):
        idp.tag_resource(ResourceArn="arn:aws:s3:us-east-1:000000000000:bucket/x", Tags={"a": "b"})

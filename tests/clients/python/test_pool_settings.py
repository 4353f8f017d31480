"""GetCSVHeader, Set/GetLogDeliveryConfiguration and Set/GetUICustomization with boto3 against
the real binary: the import header Cognito documents, log configurations stored as given (Tessera
ships no logs), classic hosted-UI branding per pool and per client with the documented
fallback, and Cognito's refusals."""

from __future__ import annotations

import urllib.request

import pytest
from support import aws_error, create_client, create_pool, unique

MISSING_POOL = "us-east-1_missing0"
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/tessera"
PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
NOTIFICATIONS = {
    "LogLevel": "ERROR",
    "EventSource": "userNotification",
    "CloudWatchLogsConfiguration": {"LogGroupArn": LOG_GROUP},
}
AUTH_EVENTS = {
    "LogLevel": "INFO",
    "EventSource": "userAuthEvents",
    "FirehoseConfiguration": {
        "StreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/tessera"
    },
}


@pytest.fixture
def pool_id(idp):
    return create_pool(idp)


@pytest.fixture
def branded(idp, pool_id):
    """A pool with a domain, as SetUICustomization needs."""
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("brand"))
    return pool_id


# -- GetCSVHeader -------------------------------------------------------------------------------


def test_csv_header_is_the_schema_then_mfa_and_username(idp, pool_id):
    idp.add_custom_attributes(
        UserPoolId=pool_id,
        CustomAttributes=[{"Name": "joinedOn", "AttributeDataType": "String"}],
    )
    out = idp.get_csv_header(UserPoolId=pool_id)
    assert out["UserPoolId"] == pool_id
    assert out["CSVHeader"] == [
        "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
        "profile", "picture", "website", "email", "email_verified", "gender", "birthdate",
        "zoneinfo", "locale", "phone_number", "phone_number_verified", "address", "updated_at",
        "custom:tier", "custom:level", "custom:joinedOn", "cognito:mfa_enabled",
        "cognito:username",
        # Tessera's optional column for imported password hashes (test_user_import.py).
        "cognito:password_hash",
    ]


def test_csv_header_of_an_unknown_pool(idp):
    with aws_error("ResourceNotFoundException", f"User pool {MISSING_POOL} does not exist."):
        idp.get_csv_header(UserPoolId=MISSING_POOL)


# -- log delivery -------------------------------------------------------------------------------


def test_log_delivery_configuration_round_trips(idp, pool_id):
    empty = idp.get_log_delivery_configuration(UserPoolId=pool_id)["LogDeliveryConfiguration"]
    assert empty == {"UserPoolId": pool_id, "LogConfigurations": []}
    set_ = idp.set_log_delivery_configuration(
        UserPoolId=pool_id, LogConfigurations=[NOTIFICATIONS, AUTH_EVENTS]
    )["LogDeliveryConfiguration"]
    assert set_ == {"UserPoolId": pool_id, "LogConfigurations": [NOTIFICATIONS, AUTH_EVENTS]}
    idp.update_user_pool(UserPoolId=pool_id)
    got = idp.get_log_delivery_configuration(UserPoolId=pool_id)["LogDeliveryConfiguration"]
    assert got == set_
    cleared = idp.set_log_delivery_configuration(UserPoolId=pool_id, LogConfigurations=[])
    assert cleared["LogDeliveryConfiguration"]["LogConfigurations"] == []


@pytest.mark.parametrize(
    "configs, message",
    [
        ([{**NOTIFICATIONS, "LogLevel": "INFO"}], "LogLevel for userNotification must be ERROR."),
        ([{**AUTH_EVENTS, "LogLevel": "ERROR"}], "LogLevel for userAuthEvents must be INFO."),
        (
            [{"LogLevel": "ERROR", "EventSource": "userNotification",
              "S3Configuration": {"BucketArn": "arn:aws:s3:::tessera-logs"}}],
            "userNotification logs can only be delivered to CloudWatchLogsConfiguration.",
        ),
        ([NOTIFICATIONS, NOTIFICATIONS], "Duplicate EventSource in LogConfigurations."),
        (
            [{"LogLevel": "ERROR", "EventSource": "userNotification"}],
            "Exactly one of CloudWatchLogsConfiguration, S3Configuration or "
            "FirehoseConfiguration must be specified with its ARN.",
        ),
    ],
)
def test_log_delivery_configuration_refusals(idp, pool_id, configs, message):
    with aws_error("InvalidParameterException", message):
        idp.set_log_delivery_configuration(UserPoolId=pool_id, LogConfigurations=configs)
    got = idp.get_log_delivery_configuration(UserPoolId=pool_id)["LogDeliveryConfiguration"]
    assert got["LogConfigurations"] == []


def test_log_delivery_configuration_model_limits_and_unknown_pool(idp, pool_id):
    with aws_error("InvalidParameterException", contains="logConfigurations"):
        idp.set_log_delivery_configuration(
            UserPoolId=pool_id, LogConfigurations=[NOTIFICATIONS, AUTH_EVENTS, AUTH_EVENTS]
        )
    with aws_error("ResourceNotFoundException", f"User pool {MISSING_POOL} does not exist."):
        idp.set_log_delivery_configuration(
            UserPoolId=MISSING_POOL, LogConfigurations=[NOTIFICATIONS]
        )
    with aws_error("ResourceNotFoundException", f"User pool {MISSING_POOL} does not exist."):
        idp.get_log_delivery_configuration(UserPoolId=MISSING_POOL)


# -- UI customization ---------------------------------------------------------------------------


def test_ui_customization_per_pool_and_per_client(idp, branded):
    client_id = create_client(idp, branded)["ClientId"]
    assert idp.get_ui_customization(UserPoolId=branded)["UICustomization"] == {}

    css = ".banner-customizable { background-color: black; }"
    pool_ui = idp.set_ui_customization(
        UserPoolId=branded, ClientId="ALL", CSS=css, ImageFile=PNG
    )["UICustomization"]
    assert pool_ui["UserPoolId"] == branded and pool_ui["ClientId"] == "ALL"
    assert pool_ui["CSS"] == css and pool_ui["CSSVersion"]
    assert pool_ui["CreationDate"] == pool_ui["LastModifiedDate"]
    with urllib.request.urlopen(pool_ui["ImageUrl"]) as logo:
        assert logo.headers["Content-Type"] == "image/png" and logo.read() == PNG
    # A client without its own branding gets the pool's.
    for_client = idp.get_ui_customization(UserPoolId=branded, ClientId=client_id)
    assert for_client["UICustomization"] == pool_ui

    client_ui = idp.set_ui_customization(
        UserPoolId=branded, ClientId=client_id, CSS=".label-customizable { font-weight: 400; }"
    )["UICustomization"]
    assert client_ui["ClientId"] == client_id and "ImageUrl" not in client_ui
    for_client = idp.get_ui_customization(UserPoolId=branded, ClientId=client_id)
    assert for_client["UICustomization"] == client_ui
    assert idp.get_ui_customization(UserPoolId=branded)["UICustomization"] == pool_ui

    # Setting again keeps the creation date.
    again = idp.set_ui_customization(UserPoolId=branded, CSS=css)["UICustomization"]
    assert again["CreationDate"] == pool_ui["CreationDate"]
    assert again["LastModifiedDate"] >= pool_ui["LastModifiedDate"]


def test_ui_customization_refusals(idp, branded):
    other_client = create_client(idp, create_pool(idp))["ClientId"]
    with aws_error("ResourceNotFoundException", f"User pool {MISSING_POOL} does not exist."):
        idp.set_ui_customization(UserPoolId=MISSING_POOL, CSS="")
    with aws_error("ResourceNotFoundException", f"User pool {MISSING_POOL} does not exist."):
        idp.get_ui_customization(UserPoolId=MISSING_POOL)
    with aws_error("ResourceNotFoundException", f"User pool client {other_client} does not exist."):
        idp.get_ui_customization(UserPoolId=branded, ClientId=other_client)
    with aws_error("InvalidParameterException", "The image file must be a PNG or JPEG image."):
        idp.set_ui_customization(UserPoolId=branded, ImageFile=b"GIF89a")
    with aws_error("InvalidParameterException", "The image file size must not exceed 100 KB."):
        idp.set_ui_customization(UserPoolId=branded, ImageFile=PNG + b"\0" * (100 * 1024))
    no_domain = create_pool(idp)
    with aws_error(
        "InvalidParameterException",
        "There has to be an existing domain associated with this user pool",
    ):
        idp.set_ui_customization(UserPoolId=no_domain, CSS="")
    with aws_error("InvalidParameterException", contains="cSS"):
        idp.set_ui_customization(UserPoolId=branded, CSS="a" * 131073)

"""Hosted-UI branding with boto3 against the real binary: the five managed-login branding
operations (ManagedLoginVersion 2) with their rules and errors, and the classic CSS allow-list
that SetUICustomization enforces (ManagedLoginVersion 1)."""

from __future__ import annotations

import re
import uuid

import pytest
from support import aws_error, create_client, create_pool, unique

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SETTINGS = {
    "components": {
        "primaryButton": {"lightMode": {"defaults": {"backgroundColor": "ff0000ff"}}},
        "pageBackground": {"lightMode": {"color": "eeeeeeff"}},
    },
    "categories": {"global": {"colorSchemeMode": "LIGHT"}},
}


def logo(category="FORM_LOGO", mode="LIGHT", data=PNG):
    return {"Category": category, "ColorMode": mode, "Extension": "PNG", "Bytes": data}


@pytest.fixture
def pool_id(idp):
    return create_pool(idp)


@pytest.fixture
def client_id(idp, pool_id):
    return create_client(idp, pool_id)["ClientId"]


# -- managed login branding ---------------------------------------------------------------------


def test_create_describe_update_delete(idp, pool_id, client_id):
    created = idp.create_managed_login_branding(
        UserPoolId=pool_id, ClientId=client_id, Settings=SETTINGS, Assets=[logo()]
    )["ManagedLoginBranding"]
    style_id = created["ManagedLoginBrandingId"]
    assert UUID_V4.match(style_id)
    assert created["UserPoolId"] == pool_id
    assert created["UseCognitoProvidedValues"] is False
    assert created["Settings"] == SETTINGS
    assert created["Assets"] == [logo()]
    assert created["CreationDate"] == created["LastModifiedDate"]

    by_id = idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=style_id)
    assert by_id["ManagedLoginBranding"] == created
    by_client = idp.describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=client_id)
    assert by_client["ManagedLoginBranding"] == created

    # ReturnMergedResources fills in defaults; the customised values win.
    merged = idp.describe_managed_login_branding(
        UserPoolId=pool_id, ManagedLoginBrandingId=style_id, ReturnMergedResources=True
    )["ManagedLoginBranding"]["Settings"]
    button = merged["components"]["primaryButton"]["lightMode"]
    assert button["defaults"]["backgroundColor"] == "ff0000ff"
    assert "hover" in button and "form" in merged["components"]
    assert merged["componentClasses"]["link"]["lightMode"]["defaults"]["textColor"]

    # Update merges: unspecified settings and assets are kept; a new asset of the same
    # category and colour mode replaces the old one.
    updated = idp.update_managed_login_branding(
        UserPoolId=pool_id,
        ManagedLoginBrandingId=style_id,
        Settings={"components": {"pageBackground": {"lightMode": {"color": "000000ff"}}}},
        Assets=[logo(data=PNG + b"v2"), logo("FAVICON_ICO", "DYNAMIC")],
    )["ManagedLoginBranding"]
    assert updated["Settings"]["components"]["primaryButton"] == SETTINGS["components"]["primaryButton"]
    assert updated["Settings"]["components"]["pageBackground"]["lightMode"]["color"] == "000000ff"
    assert updated["Settings"]["categories"] == SETTINGS["categories"]
    assert sorted((a["Category"], a["Bytes"]) for a in updated["Assets"]) == [
        ("FAVICON_ICO", PNG), ("FORM_LOGO", PNG + b"v2")]
    assert updated["CreationDate"] == created["CreationDate"]
    assert updated["LastModifiedDate"] >= created["LastModifiedDate"]
    again = idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=style_id)
    assert again["ManagedLoginBranding"] == updated

    # Back to Cognito's values.
    reset = idp.update_managed_login_branding(
        UserPoolId=pool_id, ManagedLoginBrandingId=style_id, UseCognitoProvidedValues=True
    )["ManagedLoginBranding"]
    assert reset["UseCognitoProvidedValues"] is True and reset["Assets"] == []

    idp.delete_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=style_id)
    with aws_error("ResourceNotFoundException"):
        idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=style_id)
    with aws_error("ResourceNotFoundException"):
        idp.describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=client_id)
    with aws_error("ResourceNotFoundException"):
        idp.delete_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=style_id)
    # The client may have a style again.
    idp.create_managed_login_branding(
        UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True)


def test_cognito_provided_values_merge_to_the_defaults(idp, pool_id, client_id):
    style = idp.create_managed_login_branding(
        UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True
    )["ManagedLoginBranding"]
    assert style["UseCognitoProvidedValues"] is True
    assert style["Settings"] == {} and style["Assets"] == []
    merged = idp.describe_managed_login_branding_by_client(
        UserPoolId=pool_id, ClientId=client_id, ReturnMergedResources=True
    )["ManagedLoginBranding"]["Settings"]
    assert merged["components"]["primaryButton"]["lightMode"]["defaults"]["backgroundColor"]


def test_one_style_per_client(idp, pool_id, client_id):
    idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id, Settings=SETTINGS)
    with aws_error("ManagedLoginBrandingExistsException"):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True)
    # Another client of the pool has its own.
    other = create_client(idp, pool_id)["ClientId"]
    idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=other, Settings={})


def test_refusals(idp, pool_id, client_id):
    missing_pool = "us-east-1_missing0"
    with aws_error("ResourceNotFoundException", f"User pool {missing_pool} does not exist."):
        idp.create_managed_login_branding(
            UserPoolId=missing_pool, ClientId=client_id, UseCognitoProvidedValues=True)
    foreign = create_client(idp, create_pool(idp))["ClientId"]
    with aws_error("ResourceNotFoundException", f"User pool client {foreign} does not exist."):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=foreign, UseCognitoProvidedValues=True)
    with aws_error("ResourceNotFoundException"):
        idp.describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=foreign)
    # UseCognitoProvidedValues excludes Settings and Assets; one of them is needed.
    with aws_error("InvalidParameterException"):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True,
            Settings=SETTINGS)
    with aws_error("InvalidParameterException"):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=client_id, UseCognitoProvidedValues=True,
            Assets=[logo()])
    with aws_error("InvalidParameterException"):
        idp.create_managed_login_branding(UserPoolId=pool_id, ClientId=client_id)
    with aws_error("InvalidParameterException"):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=client_id, Settings=["not", "an", "object"])
    # Assets: one per category and colour mode, at most 1,000,000 bytes, at most 40.
    with aws_error("InvalidParameterException"):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=client_id, Settings={}, Assets=[logo(), logo()])
    with aws_error("InvalidParameterException"):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=client_id, Settings={},
            Assets=[logo(data=b"\0" * 1_000_001)])
    with aws_error("InvalidParameterException"):
        idp.create_managed_login_branding(
            UserPoolId=pool_id, ClientId=client_id, Settings={},
            Assets=[logo(mode=m, category=c) for c in ("FORM_LOGO", "PAGE_BACKGROUND", "FAVICON_ICO",
                    "EMAIL_GRAPHIC", "SMS_GRAPHIC", "PAGE_HEADER_LOGO", "PAGE_FOOTER_LOGO",
                    "PASSKEY_GRAPHIC", "FORM_BACKGROUND", "IDP_BUTTON_ICON", "AUTH_APP_GRAPHIC",
                    "PASSWORD_GRAPHIC", "PAGE_HEADER_BACKGROUND", "PAGE_FOOTER_BACKGROUND")
                    for m in ("LIGHT", "DARK", "DYNAMIC")])
    # Nothing was created by the refused requests.
    with aws_error("ResourceNotFoundException"):
        idp.describe_managed_login_branding_by_client(UserPoolId=pool_id, ClientId=client_id)
    # Ids follow the model's UUID v4 pattern; a well-formed unknown id is not found.
    with aws_error("InvalidParameterException"):
        idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId="nope")
    unknown = str(uuid.uuid4())
    with aws_error("ResourceNotFoundException"):
        idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=unknown)
    with aws_error("ResourceNotFoundException"):
        idp.update_managed_login_branding(
            UserPoolId=pool_id, ManagedLoginBrandingId=unknown, Settings={})
    with aws_error("ResourceNotFoundException"):
        idp.delete_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=unknown)
    # A style is found only in its own pool.
    style_id = idp.create_managed_login_branding(
        UserPoolId=pool_id, ClientId=client_id, Settings={}
    )["ManagedLoginBranding"]["ManagedLoginBrandingId"]
    other_pool = create_pool(idp)
    with aws_error("ResourceNotFoundException"):
        idp.describe_managed_login_branding(UserPoolId=other_pool, ManagedLoginBrandingId=style_id)
    with aws_error("InvalidParameterException"):
        idp.update_managed_login_branding(
            UserPoolId=pool_id, ManagedLoginBrandingId=style_id, UseCognitoProvidedValues=True,
            Settings={})


def test_deleting_the_client_deletes_its_style(idp, pool_id, client_id):
    style_id = idp.create_managed_login_branding(
        UserPoolId=pool_id, ClientId=client_id, Settings=SETTINGS
    )["ManagedLoginBranding"]["ManagedLoginBrandingId"]
    idp.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    with aws_error("ResourceNotFoundException"):
        idp.describe_managed_login_branding(UserPoolId=pool_id, ManagedLoginBrandingId=style_id)


# -- classic CSS allow-list ---------------------------------------------------------------------


@pytest.fixture
def branded(idp, pool_id):
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("brand"))
    return pool_id


def test_allowed_css_is_stored_as_given(idp, branded):
    css = (
        "/* Cognito's template */\n"
        ".background-customizable { background-color: #fafafa; }\n"
        ".label-customizable { font-weight: 700; }\n"
        ".submitButton-customizable:hover { color: rgb(255, 255, 255); background-color: #123456; }\n"
        ".inputField-customizable:focus { border-color: red; outline: 1px; }\n"
        ".idpButton-customizable { height: 40px; text-align: center; }\n"
        ".logo-customizable { max-width: 60%; max-height: 30%; }\n"
    )
    ui = idp.set_ui_customization(UserPoolId=branded, CSS=css)["UICustomization"]
    assert ui["CSS"] == css


@pytest.mark.parametrize(
    "css, says",
    [
        ("body { color: red; }", "body"),
        (".other-customizable { color: red; }", "other-customizable"),
        (".label-customizable { color: red; }", "color"),
        (".label-customizable { font-weight: 450; }", "font-weight"),
        (".textDescription-customizable { display: flex; }", "display"),
        ("@import url(https://evil.example/x.css);", "@import"),
        ("@media screen { .label-customizable { font-weight: 400; } }", "@media"),
        ("@supports (display: grid) {}", "@supports"),
        ("@page { margin: 1cm; }", "@page"),
        ("@font-face { src: url(x.woff); }", "@font-face"),
        (".background-customizable { background-color: url(javascript:alert(1)); }", "url()"),
        (".background-customizable { background-color: expression(alert(1)); }", "expression"),
        (".background-customizable { background-color: red; }</style><script>alert(1)</script>",
         "'<'"),
        (".banner-customizable { background-color: \"</style>\"; }", "string"),
    ],
)
def test_css_outside_the_allow_list_is_refused(idp, branded, css, says):
    with aws_error("InvalidParameterException", contains=says):
        idp.set_ui_customization(UserPoolId=branded, CSS=css)
    # Nothing was stored.
    assert idp.get_ui_customization(UserPoolId=branded)["UICustomization"] == {}

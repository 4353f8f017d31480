"""PreTokenGeneration, version 1 (ID token only): adds a tenant claim, suppresses the email,
tries to forge `sub` (protected), and replaces the group claims."""

ROLE = "arn:aws:iam::123456789012:role/v1-reader"


def handler(event, context):
    event["response"]["claimsOverrideDetails"] = {
        "claimsToAddOrOverride": {"tenant": "acme", "plan": "gold", "sub": "forged"},
        "claimsToSuppress": ["email", "plan"],
        "groupOverrideDetails": {
            "groupsToOverride": ["v1-readers"] + event["request"]["groupConfiguration"]["groupsToOverride"],
            "iamRolesToOverride": [ROLE],
            "preferredRole": ROLE,
        },
    }
    return event

"""PreTokenGeneration, version 2: claims of any JSON type in both tokens, a scope added, and
the group claims replaced."""


def handler(event, context):
    event["response"]["claimsAndScopeOverrideDetails"] = {
        "idTokenGeneration": {
            "claimsToAddOrOverride": {"tenant": "acme", "tiers": ["gold", "silver"], "limits": {"seats": 5}, "sub": "forged"},
            "claimsToSuppress": ["email"],
        },
        "accessTokenGeneration": {
            "claimsToAddOrOverride": {"tenant": "acme", "client_id": "forged"},
            "scopesToAdd": ["api/read", "api/write"],
            "scopesToSuppress": ["api/write"],
        },
        "groupOverrideDetails": {"groupsToOverride": ["vip"]},
    }
    return event

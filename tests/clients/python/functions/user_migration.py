"""UserMigration from a legacy directory: it knows the names starting with "legacy", whose
password there is OldPassw0rd!."""

LEGACY_PASSWORD = "OldPassw0rd!"


def handler(event, context):
    name = event["userName"]
    if not name.startswith("legacy"):
        return event  # not ours: the name stays unknown
    if event["triggerSource"] == "UserMigration_Authentication":
        if event["request"]["password"] != LEGACY_PASSWORD:
            raise Exception("Bad password")
        event["response"]["finalUserStatus"] = "CONFIRMED"
    event["response"]["userAttributes"] = {
        "email": f"{name}@old.example",
        "email_verified": "true",
        "name": "Legacy User",
    }
    event["response"]["messageAction"] = "SUPPRESS"
    return event

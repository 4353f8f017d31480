"""A SyncTrigger that tries to write another identity's data: read-only fields must not change."""


def handler(event, context):
    event["identityId"] = "us-east-1:00000000-0000-4000-8000-000000000000"
    return event

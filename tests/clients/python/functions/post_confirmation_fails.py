"""PostConfirmation whose downstream service is down."""


def handler(event, context):
    raise RuntimeError("Welcome service unavailable")

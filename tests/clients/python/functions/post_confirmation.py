"""PostConfirmation: a welcome hook that only looks (the host records what it was sent)."""


def handler(event, context):
    return event

"""A function that answers a string instead of the event."""


def handler(event, context):
    return "ok"

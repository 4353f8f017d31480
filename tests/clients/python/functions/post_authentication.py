"""PostAuthentication: an audit hook that only looks."""


def handler(event, context):
    return event

"""PreAuthentication: suspended accounts (names starting with "blocked") may not sign in."""


def handler(event, context):
    if event["userName"].startswith("blocked"):
        raise Exception("Sign-in is suspended")
    return event

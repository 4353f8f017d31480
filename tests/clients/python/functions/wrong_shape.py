"""A PreSignUp function answering a response of the wrong shape."""


def handler(event, context):
    event["response"]["autoConfirmUser"] = "yes please"
    return event

"""CustomEmailSender: would hand the code to the pool's own mail service (the host records it)."""


def handler(event, context):
    assert event["request"]["type"] == "customEmailSenderRequestV1"
    return None  # asynchronous: nobody reads the answer

"""A PreSignUp function with a bug."""


def handler(event, context):
    return event["request"]["userAttributes"]["no_such_attribute"]  # KeyError

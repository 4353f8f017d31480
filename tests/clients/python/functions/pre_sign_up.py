"""PreSignUp: refuses addresses at blocked.test; confirms and verifies addresses at
trusted.test as they sign themselves up (an invitation's status is the administrator's)."""


def handler(event, context):
    email = event["request"]["userAttributes"].get("email", "")
    if email.endswith("@blocked.test"):
        raise Exception("Registration from this domain is not allowed")
    if email.endswith("@trusted.test") and event["triggerSource"] == "PreSignUp_SignUp":
        event["response"]["autoConfirmUser"] = True
        event["response"]["autoVerifyEmail"] = True
    return event

"""VerifyAuthChallengeResponse: compares the answer with the private one."""


def handler(event, context):
    expected = event["request"]["privateChallengeParameters"].get("answer")
    event["response"]["answerCorrect"] = event["request"]["challengeAnswer"].strip() == expected
    return event

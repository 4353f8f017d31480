"""CreateAuthChallenge: asks what 6 x 7 is; the answer stays private."""


def handler(event, context):
    if event["request"]["challengeName"] == "CUSTOM_CHALLENGE":
        tries = sum(1 for s in event["request"]["session"] if s["challengeName"] == "CUSTOM_CHALLENGE")
        event["response"]["publicChallengeParameters"] = {"question": "6 x 7", "attempt": str(tries + 1)}
        event["response"]["privateChallengeParameters"] = {"answer": "42"}
        event["response"]["challengeMetadata"] = "ARITHMETIC"
    return event

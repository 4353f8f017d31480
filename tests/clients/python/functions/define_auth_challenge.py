"""DefineAuthChallenge for a question-and-answer sign-in: an SRP password proof first when the
client starts with one, then up to three tries at the custom challenge."""

MAX_TRIES = 3


def handler(event, context):
    session = event["request"]["session"]
    response = event["response"]
    last = session[-1] if session else None
    if last and last["challengeName"] == "SRP_A":
        response.update(issueTokens=False, failAuthentication=False, challengeName="PASSWORD_VERIFIER")
    elif last and last["challengeName"] == "PASSWORD_VERIFIER" and not last["challengeResult"]:
        response.update(issueTokens=False, failAuthentication=True)
    elif last and last["challengeName"] == "CUSTOM_CHALLENGE" and last["challengeResult"]:
        response.update(issueTokens=True, failAuthentication=False)
    elif sum(1 for s in session if s["challengeName"] == "CUSTOM_CHALLENGE") >= MAX_TRIES:
        response.update(issueTokens=False, failAuthentication=True)
    else:
        response.update(issueTokens=False, failAuthentication=False, challengeName="CUSTOM_CHALLENGE")
    return event

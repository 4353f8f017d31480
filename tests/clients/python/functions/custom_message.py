"""CustomMessage: its own subject and wording for every message, keeping Cognito's
placeholders ({####} for the code, {username} for invitations) for Cognito to fill in."""


def handler(event, context):
    source = event["triggerSource"]
    req = event["request"]
    code = req["codeParameter"]
    who = event["userName"]
    if source == "CustomMessage_AdminCreateUser":
        subject = "Welcome aboard"
        body = f"Hi! Sign in as {req['usernameParameter']} with {code} before it expires."
    elif source == "CustomMessage_ForgotPassword":
        subject = f"Reset for {who}"
        body = f"Reset code for {who}: {code}"
    else:
        subject = f"[{source}] for {who}"
        body = f"Hello {who}, your code is {code}. Tier: {req.get('clientMetadata', {}).get('tier', '-')}"
    event["response"]["emailSubject"] = subject
    event["response"]["emailMessage"] = body
    event["response"]["smsMessage"] = f"{who}: {code}"
    return event

"""When trigger functions fail, with boto3 against the real binary: a function that raises
(UserLambdaValidationException), output that isn't the event (InvalidLambdaResponseException
"Unrecognizable lambda output"), a function too slow for the server's timeout, a host that is gone
or a function that doesn't exist (UnexpectedLambdaException), and a throttled host retried.
None of them leaves a user behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lambda_host import LambdaHost, arn, triggered_pool
from mailroom import free_port
from support import aws_error, confirmed_user, password, sign_up, unique
from tessera_server import TesseraServer

UNRECOGNIZABLE = "Unrecognizable lambda output"


@pytest.fixture(scope="module")
def functions():
    host = LambdaHost().start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions):
    s = TesseraServer(tmp_path_factory.mktemp("tessera-failures") / "data", extra_args=functions.server_args()).start()
    yield s
    s.stop()


def refused_sign_up(idp, public_idp, pool_id, client, code, message=None, *, contains=None):
    name = unique("refused")
    with aws_error(code, message, contains=contains) as info:
        sign_up(public_idp, client, name, password(), {"email": f"{name}@example.com"})
    with aws_error("UserNotFoundException"):
        idp.admin_get_user(UserPoolId=pool_id, Username=name)
    return info.value.response["Error"]["Message"]


def test_a_function_that_raises(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("raises")})
    # Python's KeyError message is the quoted key; Cognito appends a full stop.
    refused_sign_up(idp, public_idp, pool_id, client, "UserLambdaValidationException",
                    "PreSignUp failed with error 'no_such_attribute'.")
    [call] = functions.calls("raises", pool_id)
    assert call.status == 200 and call.error == "'no_such_attribute'"
    assert call.answer["errorType"] == "KeyError"


def test_a_function_that_raises_during_custom_auth(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"DefineAuthChallenge": arn("raises"),
                                           "CreateAuthChallenge": arn("create-auth-challenge"),
                                           "VerifyAuthChallengeResponse": arn("verify-auth-challenge")})
    name, _ = confirmed_user(idp, pool_id, client)
    with aws_error("UserLambdaValidationException", "DefineAuthChallenge failed with error 'no_such_attribute'."):
        public_idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": name})


def test_output_that_is_not_the_event(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("returns-string")})
    refused_sign_up(idp, public_idp, pool_id, client, "InvalidLambdaResponseException", UNRECOGNIZABLE)
    assert functions.calls("returns-string", pool_id)[0].answer == "ok"


def test_output_that_is_not_json(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("not-json")})
    functions.respond_raw("not-json", "<html>oops</html>", headers={"Content-Type": "text/html"})
    refused_sign_up(idp, public_idp, pool_id, client, "InvalidLambdaResponseException", UNRECOGNIZABLE)
    functions.respond_raw("not-json", "{ truncated", headers={"Content-Type": "application/json"})
    refused_sign_up(idp, public_idp, pool_id, client, "InvalidLambdaResponseException", UNRECOGNIZABLE)
    assert len(functions.calls("not-json", pool_id)) == 2


def test_a_response_of_the_wrong_shape(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("wrong-shape")})
    refused_sign_up(idp, public_idp, pool_id, client, "InvalidLambdaResponseException")


def test_a_function_that_does_not_exist(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("no-such-function")})
    message = refused_sign_up(idp, public_idp, pool_id, client, "UnexpectedLambdaException")
    assert message.startswith("PreSignUp invocation failed"), message
    # 404 is final: asked once, not retried.
    assert len(functions.calls("no-such-function", pool_id)) == 1


def test_a_throttled_host_is_retried(idp, public_idp, functions):
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("flaky")})
    functions.fail_next("flaky", 2, status=503)
    name = unique("flaky")
    resp = sign_up(public_idp, client, name, password(), {"email": f"{name}@example.com"})
    assert resp["UserSub"]
    assert [c.status for c in functions.calls("flaky", pool_id)] == [503, 503, 200]
    # Three attempts (the default) in all: a host that keeps failing fails the call.
    functions.fail_next("flaky", 3, status=429)
    message = refused_sign_up(idp, public_idp, pool_id, client, "UnexpectedLambdaException")
    assert message.startswith("PreSignUp invocation failed"), message
    assert len(functions.calls("flaky", pool_id)) == 6


def test_a_slow_function_times_out(spawn, functions):
    """A dedicated server waiting 500 ms, once (TESSERA_LAMBDA_TIMEOUT_MS, TESSERA_LAMBDA_ATTEMPTS),
    for a function that takes 2 s."""
    s = spawn(
        extra_args=functions.server_args(),
        extra_env={"TESSERA_LAMBDA_TIMEOUT_MS": "500", "TESSERA_LAMBDA_ATTEMPTS": "1"},
    )
    idp, public_idp = s.client(), s.client(unsigned=True)
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("slow")})
    started = time.monotonic()
    message = refused_sign_up(idp, public_idp, pool_id, client, "UnexpectedLambdaException")
    assert time.monotonic() - started < 1.9, "the server waited for the slow function"
    assert message.startswith("PreSignUp invocation failed"), message
    assert len(functions.calls("slow", pool_id)) == 1


def test_an_unreachable_host(spawn):
    gone = LambdaHost().start()
    gone.stop()  # its port now refuses connections
    s = spawn(extra_args=gone.server_args(), extra_env={"TESSERA_LAMBDA_ATTEMPTS": "2"})
    idp, public_idp = s.client(), s.client(unsigned=True)
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("pre-sign-up")})
    message = refused_sign_up(idp, public_idp, pool_id, client, "UnexpectedLambdaException")
    assert message.startswith("PreSignUp invocation failed"), message


def test_no_function_host_configured(spawn):
    s = spawn()  # no --lambda-endpoint at all
    idp, public_idp = s.client(), s.client(unsigned=True)
    pool_id, client = triggered_pool(idp, {"PreSignUp": arn("pre-sign-up")})
    refused_sign_up(idp, public_idp, pool_id, client, "UnexpectedLambdaException")


def test_the_endpoint_flag_guards_private_addresses(tmp_path):
    """Without --lambda-allow-private, a loopback endpoint is refused at start-up."""
    s = TesseraServer(tmp_path / "guarded", extra_args=["--lambda-endpoint", f"http://127.0.0.1:{free_port()}"])
    with pytest.raises(RuntimeError, match="did not start"):
        s.start()
    log = Path(s.log_path).read_text(errors="replace")
    assert "refusing internal address 127.0.0.1" in log, log[:2000]
    assert "--lambda-allow-private" in log

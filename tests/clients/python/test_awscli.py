"""The AWS CLI (v1, from PyPI) against Tessera with --endpoint-url, credentials from the
environment, as an operator would script it."""

from __future__ import annotations

# `aws` (conftest.py) runs the CLI against the module's server.


def test_cli_scenario(aws):
    pool = aws("create-user-pool", "--pool-name", "cli-pool",
               "--schema", "Name=tier,AttributeDataType=String,Mutable=true")["UserPool"]
    pool_id = pool["Id"]
    assert pool_id.startswith("us-east-1_")
    client = aws("create-user-pool-client", "--user-pool-id", pool_id, "--client-name", "cli-client",
                 "--explicit-auth-flows", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
                 "--generate-secret")["UserPoolClient"]
    assert client["ClientSecret"]

    for name, email in (("carol", "carol@example.com"), ("carlos", "carlos@example.org"), ("dave", "dave@example.com")):
        user = aws("admin-create-user", "--user-pool-id", pool_id, "--username", name,
                   "--temporary-password", "Temp0rary!Pass", "--message-action", "SUPPRESS",
                   "--user-attributes", f"Name=email,Value={email}", "Name=custom:tier,Value=cli")["User"]
        assert user["Username"] == name and user["UserStatus"] == "FORCE_CHANGE_PASSWORD"

    listed = aws("list-users", "--user-pool-id", pool_id, "--filter", 'username ^= "car"')["Users"]
    assert sorted(u["Username"] for u in listed) == ["carlos", "carol"]
    listed = aws("list-users", "--user-pool-id", pool_id, "--filter", 'email = "dave@example.com"')["Users"]
    assert [u["Username"] for u in listed] == ["dave"]
    # The CLI paginates by itself with --page-size.
    listed = aws("list-users", "--user-pool-id", pool_id, "--page-size", "1")["Users"]
    assert sorted(u["Username"] for u in listed) == ["carlos", "carol", "dave"]

    got = aws("admin-get-user", "--user-pool-id", pool_id, "--username", "carol")
    assert got["Username"] == "carol" and got["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    attrs = {a["Name"]: a["Value"] for a in got["UserAttributes"]}
    assert attrs["email"] == "carol@example.com" and attrs["custom:tier"] == "cli"

    aws("admin-set-user-password", "--user-pool-id", pool_id, "--username", "carol",
        "--password", "Perm4nent!Pass", "--permanent")
    assert aws("admin-get-user", "--user-pool-id", pool_id, "--username", "carol")["UserStatus"] == "CONFIRMED"

    pools = aws("list-user-pools", "--max-results", "10")["UserPools"]
    assert pool_id in {p["Id"] for p in pools}

    aws("delete-user-pool", "--user-pool-id", pool_id)


def test_cli_error(aws):
    p = aws("admin-get-user", "--user-pool-id", "us-east-1_NoSuchPool0", "--username", "x", check=False)
    assert p.returncode != 0
    assert "ResourceNotFoundException" in p.stderr
    assert "User pool us-east-1_NoSuchPool0 does not exist." in p.stderr

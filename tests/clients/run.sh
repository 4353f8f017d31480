#!/usr/bin/env bash
# Real-client acceptance suites: boto3 / PyJWT / aws-cli / pycognito (Python) and the AWS SDK
# for JavaScript v3 / aws-jwt-verify / amazon-cognito-identity-js (Node) against the real
# `tessera` release binary. Code delivery is checked end to end with a real SMTP server (aiosmtpd
# in Python, a minimal one in Node) and SMS webhook receivers on 127.0.0.1; code expiry moves the
# server's clock with libfaketime (a PyPI package shipping the preload library). Dependencies are pinned in python/requirements.txt and
# node/package-lock.json; this script installs them.
#
#   TESSERA_BIN=/path/to/tessera tests/clients/run.sh [extra pytest args]
#
# Needs python3 (with venv and pip), node >= 20, npm and apt (Debian's chromium for the browser
# suite; root or passwordless sudo); installs everything else itself.
# PostgreSQL tests run when 127.0.0.1:5432 (or TESSERA_TEST_POSTGRES_URL) answers, else skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# Default: ../../target/release/tessera from here, i.e. the repo's release build. A relative
# TESSERA_BIN is taken relative to the directory run.sh was started from.
TESSERA_BIN="${TESSERA_BIN:-$repo/target/release/tessera}"
case "$TESSERA_BIN" in
  /*) ;;
  *) TESSERA_BIN="$PWD/$TESSERA_BIN" ;;
esac
export TESSERA_BIN
if [[ ! -x "$TESSERA_BIN" ]]; then
  echo "tessera binary not found at $TESSERA_BIN (cargo build --release -p tessera, or set TESSERA_BIN)" >&2
  exit 1
fi
echo "== using $TESSERA_BIN ($("$TESSERA_BIN" --version))"

status=0

# Debian packages a suite needs (root or passwordless sudo).
apt_install() {
  local sudo_=""
  [[ $(id -u) -ne 0 ]] && sudo_="sudo -n"
  $sudo_ apt-get install -y --no-install-recommends "$@" >/dev/null \
    || { $sudo_ apt-get update >/dev/null && $sudo_ apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

# The forward-auth suite puts Debian's nginx (auth_request) in front of a tiny upstream.
if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  echo "== installing Debian's nginx for the forward-auth suite"
  apt_install nginx
fi

# Node packages first: the Python suite runs kinesalite (npm) as its Kinesis endpoint.
echo "== installing the Node packages"
cd "$here/node"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

echo "== Python suite (boto3, PyJWT, aws-cli, pycognito, aiosmtpd, nginx, moto, kinesalite)"
cd "$here/python"
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -m pytest -q "$@" || status=$?

# The hosted-UI browser suite drives Debian's Chromium with playwright-core (which downloads no
# browser of its own); install the package when it is missing.
if [[ -z "${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the browser suite"
  apt_install chromium
fi

# The Node gateway suite uses moto_server from the Python venv above.
echo "== Node suite (@aws-sdk/client-cognito-identity-provider, @aws-sdk/client-s3, @aws-sdk/client-dynamodb, @aws-sdk/credential-providers, @aws-sdk/client-sts, aws-jwt-verify, amazon-cognito-identity-js, aws-amplify v6, amazon-cognito-js + aws-sdk v2, playwright-core + chromium, openid-client, a samlify SAML IdP)"
cd "$here/node"
# --test-force-exit: Amplify's autoSignIn leaves a 3-minute timer behind; each file ends with
# its tests rather than with every timer a client library started.
AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true node --test --test-force-exit || status=$?

if [[ $status -ne 0 ]]; then
  echo "== client suites FAILED" >&2
fi
exit $status

#!/usr/bin/env bash
# The whole test suite, as the README's quick start and CI run it. Everything the tests need is
# built or started from here; a service that does not start fails the run, it is never skipped.
#
# LocalStack (API Gateway, S3 and CloudWatch) is installed if needed and started on a free loopback port
# (or STAGECRAFT_LOCALSTACK_PORT), its endpoint exported as STAGECRAFT_LOCALSTACK_ENDPOINT for
# the tests, and stopped when this script exits, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

LOCALSTACK_PORT="${STAGECRAFT_LOCALSTACK_PORT:-$(free_port)}"
# Stop only what this run started; on Ctrl-C or TERM exit through the EXIT trap too.
trap 'scripts/localstack.sh stop "$LOCALSTACK_PORT" || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# `start` exits non-zero (and so does this script) when LocalStack does not become healthy.
if ! scripts/localstack.sh start "$LOCALSTACK_PORT" >/dev/null; then
  echo "test.sh: LocalStack did not start on 127.0.0.1:$LOCALSTACK_PORT; failing the run" >&2
  exit 1
fi
export STAGECRAFT_LOCALSTACK_ENDPOINT="http://127.0.0.1:$LOCALSTACK_PORT"

cargo test --workspace --all-targets --locked
# Doc tests are part of the suite too.
cargo test --workspace --doc --locked

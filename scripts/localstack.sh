#!/usr/bin/env bash
# Install, start and stop the LocalStack emulator (API Gateway, S3 and CloudWatch) that stagecraft's
# integration tests run against; `scripts/test.sh` starts it and exports STAGECRAFT_LOCALSTACK_ENDPOINT.
#
#   scripts/localstack.sh install        create the virtualenv (idempotent, fast when done)
#   scripts/localstack.sh start [PORT]   install if needed, start on 127.0.0.1:PORT (default 4566),
#                                        wait until healthy, print the endpoint export line
#   scripts/localstack.sh stop [PORT]    stop the instance started by `start`
#   scripts/localstack.sh status [PORT]  exit 0 when an instance on PORT is healthy
#
# Environment:
#   STAGECRAFT_CACHE_DIR         where the venv, logs and pid files go (default <repo>/.cache)
#   STAGECRAFT_PYTHON            interpreter used to create the venv (default python3; needs 3.11)
#   LOCALSTACK_START_TIMEOUT     seconds to wait for health (default 180)
#
# A start that does not become healthy exits non-zero: CI must fail, never skip.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${STAGECRAFT_CACHE_DIR:-$REPO_DIR/.cache}"
VENV_DIR="$CACHE_DIR/localstack-venv"
STAMP_FILE="$VENV_DIR/.stagecraft-pins"
PYTHON_BIN="${STAGECRAFT_PYTHON:-python3}"
START_TIMEOUT="${LOCALSTACK_START_TIMEOUT:-180}"

# The exact pins. LocalStack 4.9.2 is the last one that runs on Python 3.11
# without an auth token; the four others keep its twisted gateway working (cbor2 also decodes
# CloudWatch's Smithy RPC v2 CBOR requests, which the Rust SDK sends).
PINS=(
  "localstack-core[runtime]==4.9.2"
  "cbor2==5.6.5"
  "cryptography==44.0.3"
  "pyOpenSSL==24.3.0"
  "service-identity==24.2.0"
)

log() { printf 'localstack.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

pins_text() { printf '%s\n' "${PINS[@]}"; }

is_installed() {
  [[ -x "$VENV_DIR/bin/python" && -f "$STAMP_FILE" ]] &&
    [[ "$(cat "$STAMP_FILE")" == "$(pins_text)" ]] &&
    "$VENV_DIR/bin/python" -c 'import localstack' >/dev/null 2>&1
}

cmd_install() {
  if is_installed; then
    log "already installed in $VENV_DIR"
    return 0
  fi
  mkdir -p "$CACHE_DIR"
  local started=$SECONDS
  if [[ -d "$VENV_DIR" ]]; then
    log "pins changed or install incomplete: recreating $VENV_DIR"
    rm -rf "$VENV_DIR"
  fi
  "$PYTHON_BIN" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' ||
    die "$PYTHON_BIN is older than Python 3.11"
  "$PYTHON_BIN" -m venv "$VENV_DIR"
  "$VENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
  "$VENV_DIR/bin/python" -c 'import localstack' || die "localstack does not import after install"
  pins_text >"$STAMP_FILE"
  log "installed in $((SECONDS - started)) s into $VENV_DIR"
}

port_arg() {
  local port="${1:-4566}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "not a port number: $port"
  printf '%s' "$port"
}

# Exit 0 when the health endpoint reports apigateway, s3 and cloudwatch as available or running.
healthy() {
  local port=$1 body
  body="$(curl -fsS --max-time 3 "http://127.0.0.1:$port/_localstack/health" 2>/dev/null)" || return 1
  HEALTH_BODY="$body" "$PYTHON_BIN" - <<'EOF'
import json, os, sys
try:
    services = json.loads(os.environ["HEALTH_BODY"]).get("services", {})
except ValueError:
    sys.exit(1)
ok = ("available", "running")
sys.exit(0 if all(services.get(s) in ok for s in ("apigateway", "s3", "cloudwatch")) else 1)
EOF
}

pid_alive() {
  local pid_file=$1
  [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

cmd_start() {
  local port pid_file log_file data_dir
  port="$(port_arg "${1:-}")"
  pid_file="$CACHE_DIR/localstack-$port.pid"
  log_file="$CACHE_DIR/localstack-$port.log"
  data_dir="$CACHE_DIR/localstack-$port.d"

  # One `start` per port at a time (parallel CI steps); LocalStack itself must not inherit fd 9.
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/localstack-$port.lock"
  flock 9

  if healthy "$port"; then
    log "reusing the healthy LocalStack already on 127.0.0.1:$port"
    echo "export STAGECRAFT_LOCALSTACK_ENDPOINT=http://127.0.0.1:$port"
    return 0
  fi
  if pid_alive "$pid_file"; then
    log "an instance we started (pid $(cat "$pid_file")) is still starting; waiting for it"
  else
    if curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
      die "something else answers on 127.0.0.1:$port and it is not a healthy LocalStack"
    fi
    cmd_install
    rm -rf "$data_dir"
    mkdir -p "$data_dir"
    log "starting LocalStack on 127.0.0.1:$port (log: $log_file)"
    # Offline and local: no analytics events, no certificate download (a self-signed one is
    # generated), no DNS server (it would want port 53), no persistence, and all
    # state under the cache directory (FILESYSTEM_ROOT; the default is inside the venv).
    # CloudWatch is there for the alarms that gate a canary's rollout (DescribeAlarms; the
    # tests create and set alarms with PutMetricAlarm and SetAlarmState).
    # EAGER_SERVICE_LOADING loads the services at start-up, so the health endpoint reports them
    # running only once they really are, and the first test does not pay for the loading.
    (
      cd "$data_dir"
      exec env \
        GATEWAY_LISTEN="127.0.0.1:$port" \
        SERVICES=apigateway,s3,cloudwatch \
        EAGER_SERVICE_LOADING=1 \
        LOCALSTACK_HOST="127.0.0.1:$port" \
        DISABLE_EVENTS=1 \
        SKIP_SSL_CERT_DOWNLOAD=1 \
        DNS_ADDRESS=0 \
        PERSISTENCE=0 \
        SNAPSHOT_SAVE_STRATEGY=MANUAL \
        SNAPSHOT_LOAD_STRATEGY=MANUAL \
        FILESYSTEM_ROOT="$data_dir/filesystem" \
        DEBUG="${LOCALSTACK_DEBUG:-0}" \
        setsid "$VENV_DIR/bin/python" -m localstack.runtime.main
    ) >"$log_file" 2>&1 </dev/null 9>&- &
    echo $! >"$pid_file"
  fi

  local started=$SECONDS
  while ((SECONDS - started < START_TIMEOUT)); do
    if healthy "$port"; then
      log "healthy after $((SECONDS - started)) s (pid $(cat "$pid_file"))"
      echo "export STAGECRAFT_LOCALSTACK_ENDPOINT=http://127.0.0.1:$port"
      return 0
    fi
    if grep -q -E 'CannotListenError|Address already in use' "$log_file" 2>/dev/null; then
      log "LocalStack could not listen on 127.0.0.1:$port; last 50 log lines:"
      tail -n 50 "$log_file" >&2 || true
      cmd_stop "$port"
      exit 1
    fi
    if ! pid_alive "$pid_file"; then
      log "LocalStack exited during start-up; last 50 log lines:"
      tail -n 50 "$log_file" >&2 || true
      rm -f "$pid_file"
      exit 1
    fi
    sleep 1
  done
  log "LocalStack did not become healthy within $START_TIMEOUT s; last 50 log lines:"
  tail -n 50 "$log_file" >&2 || true
  cmd_stop "$port"
  exit 1
}

cmd_stop() {
  local port pid_file pid
  port="$(port_arg "${1:-}")"
  pid_file="$CACHE_DIR/localstack-$port.pid"
  if [[ ! -f "$pid_file" ]]; then
    log "no pid file for port $port; nothing to stop"
    return 0
  fi
  pid="$(cat "$pid_file")"
  if kill -0 "$pid" 2>/dev/null; then
    # setsid made the pid a process-group leader: stop the group (LocalStack's own children too).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 30)); do
      sleep 0.5
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored SIGTERM; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped LocalStack on port $port (pid $pid)"
  else
    log "pid $pid from $pid_file is not running"
  fi
  rm -f "$pid_file"
}

cmd_status() {
  local port
  port="$(port_arg "${1:-}")"
  if healthy "$port"; then
    echo "healthy: http://127.0.0.1:$port"
  else
    echo "not healthy: http://127.0.0.1:$port"
    return 1
  fi
}

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    *) usage ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# The whole test suite, as the README's quick start and CI run it. Everything the tests need is
# built or started from here; a service that does not start fails the run, it is never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-targets --locked
# Doc tests are part of the suite too.
cargo test --workspace --doc --locked

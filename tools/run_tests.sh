#!/usr/bin/env bash
# Builds and runs every test, then prints "N passed, M failed" counting real test cases.
# Extra arguments go to `bazel test` (e.g. --config=asan). Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

bazel test //... --keep_going --build_event_json_file="$out/bep.json" "$@"
rc=$?

# An outside workspace that depends only on @dtls_srtp//:dtls_srtp (tests/consumer).
(cd tests/consumer && bazel test //... --keep_going --build_event_json_file="$out/consumer.json")
consumer_rc=$?

python3 tools/count_tests.py "$out/bep.json" "$out/consumer.json"
count_rc=$?

# CI must not leave Bazel servers behind.
if [[ -n "${CI:-}" ]]; then
  bazel shutdown >/dev/null 2>&1
  (cd tests/consumer && bazel shutdown >/dev/null 2>&1)
fi
if [[ $rc -ne 0 || $consumer_rc -ne 0 || $count_rc -ne 0 ]]; then exit 1; fi
exit 0

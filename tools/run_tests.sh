#!/usr/bin/env bash
# Builds and runs every test, then the whole suite again under ASan+LSan+UBSan, and prints
# "N passed, M failed" counting real test cases of both passes. --no-sanitizers skips the
# second pass; other arguments go to `bazel test`. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

sanitize=1
args=()
for a in "$@"; do
  if [[ "$a" == "--no-sanitizers" ]]; then sanitize=0; else args+=("$a"); fi
done

bazel test //... --keep_going --build_event_json_file="$out/bep.json" "${args[@]}"
rc=$?
beps=("$out/bep.json")

# The whole suite again under ASan (+LSan) and UBSan (.bazelrc --config=san,
# its own output directory), unless --no-sanitizers.
if [[ $sanitize -eq 1 ]]; then
  bazel test //... --config=san --keep_going \
    --build_event_json_file="$out/san.json" "${args[@]}"
  [[ $? -eq 0 ]] || rc=1
  beps+=("$out/san.json")
fi

# An outside workspace that depends only on @dtls_srtp//:dtls_srtp (tests/consumer).
(cd tests/consumer && bazel test //... --keep_going --build_event_json_file="$out/consumer.json")
consumer_rc=$?

python3 tools/count_tests.py "${beps[@]}" "$out/consumer.json"
count_rc=$?

# CI must not leave Bazel servers behind.
if [[ -n "${CI:-}" ]]; then
  bazel shutdown >/dev/null 2>&1
  (cd tests/consumer && bazel shutdown >/dev/null 2>&1)
fi
if [[ $rc -ne 0 || $consumer_rc -ne 0 || $count_rc -ne 0 ]]; then exit 1; fi
exit 0

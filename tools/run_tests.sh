#!/usr/bin/env bash
# Builds and runs every test, then the ten-minute churn soak (//tools/bench:soak_test), then the
# whole suite again under ASan+LSan+UBSan, then the DTLS tests against Debian's other OpenSSL 3.0
# builds (tools/older_openssl_tests.sh), and prints "N passed, M failed" counting real test cases
# of every pass. --no-soak, --no-sanitizers and --no-older-openssl skip those passes; other
# arguments go to `bazel test`. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

sanitize=1
older=1
soak=1
args=()
for a in "$@"; do
  case "$a" in
    --no-sanitizers) sanitize=0 ;;
    --no-older-openssl) older=0 ;;
    --no-soak) soak=0 ;;
    *) args+=("$a") ;;
  esac
done

bazel test //... --keep_going --build_event_json_file="$out/bep.json" "${args[@]}"
rc=$?
beps=("$out/bep.json")

# The churn soak: sessions joining and leaving for ten minutes while media flows; RSS,
# descriptors and deadlines must stay flat (tagged manual: //... leaves it out).
if [[ $soak -eq 1 ]]; then
  bazel test //tools/bench:soak_test --test_output=all \
    --build_event_json_file="$out/soak.json" "${args[@]}" | tail -n 40
  [[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
  beps+=("$out/soak.json")
fi

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

# The DTLS tests again on the first pass's binaries, against each other libssl3 3.0 build of
# Debian 12, one BEP file per build (counted separately), unless --no-older-openssl. Those runs
# overwrite the first pass's test.xml files of the same targets: keep copies first.
if [[ $older -eq 1 ]]; then
  [[ -s "$out/bep.json" ]] && python3 tools/freeze_bep.py "$out/bep.json" "$out/bep.json" "$out/bep"
  bash tools/older_openssl_tests.sh --bep-dir "$out/older" "${args[@]}"
  [[ $? -eq 0 ]] || rc=1
  for f in "$out/older"/libssl3_*.json; do
    [[ -f "$f" ]] && beps+=("$f")
  done
fi

python3 tools/count_tests.py "${beps[@]}" "$out/consumer.json"
count_rc=$?

# CI must not leave Bazel servers behind.
if [[ -n "${CI:-}" ]]; then
  bazel shutdown >/dev/null 2>&1
  (cd tests/consumer && bazel shutdown >/dev/null 2>&1)
fi
if [[ $rc -ne 0 || $consumer_rc -ne 0 || $count_rc -ne 0 ]]; then exit 1; fi
exit 0

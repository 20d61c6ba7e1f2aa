#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 (ASan+UBSan) and runs each for N seconds
# (default 60) on a scratch copy of its seed corpus. A crash leaves its input in
# tests/fuzz/findings/; copy it into tests/fuzz/corpus/<target>/ to make it a regression test.
#   tools/fuzz.sh [seconds] [target...]     targets: client_hello association released srtp stun
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(client_hello association released srtp stun)
labels=()
for t in "${targets[@]}"; do labels+=("//tests/fuzz:${t}_fuzzer"); done
bazel build --config=fuzz "${labels[@]}"
mkdir -p tests/fuzz/findings
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/"$t"/* "$work"/
  echo "== ${t}_fuzzer for ${seconds}s"
  if ! ./bazel-bin/tests/fuzz/"${t}"_fuzzer "$work" -max_total_time="$seconds" \
      -rss_limit_mb=4096 -artifact_prefix=tests/fuzz/findings/"$t"- 2>&1 | tail -n 3; then
    status=1
  fi
  rm -rf "$work"
done
exit $status

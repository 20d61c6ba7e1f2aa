#!/usr/bin/env bash
# The main job: the loopback DTLS-SRTP benchmark on freshly generated certificates, with this
# machine's ceilings measured in the same run (raw UDP loopback, libsrtp in process, OpenSSL
# handshakes in memory). Prints a table; writes JSON and an SVG plot to bench-results/ (or
# $DTLS_SRTP_BENCH_OUT). Extra arguments go to `dtls-srtp bench` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
out=${DTLS_SRTP_BENCH_OUT:-bench-results}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bazel build -c opt //tools:dtls-srtp >&2
./bazel-bin/tools/dtls-srtp bench --json "$out/bench.json" --svg "$out/bench.svg" "$@"
echo "JSON and SVG plot in $out" >&2

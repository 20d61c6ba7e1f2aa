#!/usr/bin/env bash
# The micro benchmarks run to the end, every case, with no error (no timing asserted).
set -euo pipefail
out=$("$1" --benchmark_min_time=0.001 2>&1)
echo "$out"
if grep -q "ERROR OCCURRED" <<<"$out"; then exit 1; fi
rows=$(grep -c '^BM_' <<<"$out")
[[ $rows -eq 48 ]] || { echo "expected 48 benchmark rows, got $rows"; exit 1; }

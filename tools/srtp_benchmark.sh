#!/usr/bin/env bash
# SRTP micro benchmarks: our SrtpContext beside raw libsrtp calls, for libsrtp built with
# OpenSSL crypto (the default) and for Debian's NSS build (--define libsrtp=system); the AEAD
# profiles beside a bare OpenSSL AES-GCM seal/open, and the AES-CM ones beside a bare AES-CTR +
# HMAC-SHA1 (srtp/crypto_floor.h). Prints ns per packet and the ratios ours/raw, nss/openssl and
# ours/evp; the bench's crypto phase measures ours/evp in paired slices, steadier. Extra
# arguments go to the benchmark (e.g. --benchmark_min_time=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for flavor in openssl system; do
  define=()
  [[ $flavor == system ]] && define=(--define libsrtp=system)
  bazel run -c opt "${define[@]}" //srtp:srtp_benchmark -- \
    --benchmark_format=json --benchmark_out="$out/$flavor.json" --benchmark_out_format=json \
    --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true "$@" >/dev/null
done
python3 - "$out/openssl.json" "$out/system.json" <<'PY'
import json, sys
def load(path):
    rows = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"]  # BM_OursProtectRtp/0/1200
        fn, profile, size = name.split("/")
        rows[(fn, int(profile), int(size))] = b["cpu_time"]
    return rows
ossl, nss = load(sys.argv[1]), load(sys.argv[2])
names = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"]
print(f"{'profile':<24} {'bytes':>5} {'op':<10} {'ours ns':>8} {'raw ns':>8} {'ours/raw':>8} {'nss ns':>8} {'nss/ossl':>8}")
for p in range(4):
    for size in (200, 1200):
        for op in ("Protect", "Unprotect"):
            ours = ossl[(f"BM_Ours{op}Rtp", p, size)]
            raw = ossl[(f"BM_Raw{op}Rtp", p, size)]
            ours_nss = nss[(f"BM_Ours{op}Rtp", p, size)]
            print(f"{names[p]:<24} {size:>5} {op.lower():<10} {ours:>8.0f} {raw:>8.0f} "
                  f"{ours / raw:>8.2f} {ours_nss:>8.0f} {ours_nss / ours:>8.2f}")
# The AEAD profiles beside their crypto floor: a bare OpenSSL EVP AES-GCM seal/open of the same
# bytes (persistent context, only the IV per packet). Goal: ours/evp <= 1.15.
print()
print(f"{'AEAD profile':<24} {'bytes':>5} {'op':<10} {'ours ns':>8} {'evp ns':>8} {'ours/evp':>8}")
for p in (2, 3):
    for size in (200, 1200):
        for op in ("Protect", "Unprotect"):
            ours = ossl[(f"BM_Ours{op}Rtp", p, size)]
            evp = ossl[(f"BM_Floor{op}Rtp", p, size)]
            print(f"{names[p]:<24} {size:>5} {op.lower():<10} {ours:>8.0f} {evp:>8.0f} {ours / evp:>8.2f}")
# The AES-CM profiles beside theirs: AES-128-CTR on a persistent context (only the IV per
# packet) and HMAC-SHA1 from kept key states over header, payload and ROC. Goal: ours/evp <= 1.1.
print()
print(f"{'AES-CM profile':<24} {'bytes':>5} {'op':<10} {'ours ns':>8} {'evp ns':>8} {'ours/evp':>8}")
for p in (0, 1):
    for size in (200, 1200):
        for op in ("Protect", "Unprotect"):
            ours = ossl[(f"BM_Ours{op}Rtp", p, size)]
            evp = ossl[(f"BM_Floor{op}Rtp", p, size)]
            print(f"{names[p]:<24} {size:>5} {op.lower():<10} {ours:>8.0f} {evp:>8.0f} {ours / evp:>8.2f}")
PY

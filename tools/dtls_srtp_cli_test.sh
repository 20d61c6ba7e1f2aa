#!/usr/bin/env bash
# The built tool writes a pair that openssl accepts, and prints the matching fingerprint.
set -euo pipefail
bin="$PWD/tools/dtls-srtp"
cd "${TEST_TMPDIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

line=$("$bin" cert --cert c.pem --key k.pem 2>/dev/null)
[[ "$line" =~ ^a=fingerprint:sha-256\ ([0-9A-F]{2}:){31}[0-9A-F]{2}$ ]] || fail "bad line: $line"
want=$(openssl x509 -in c.pem -noout -fingerprint -sha256 | cut -d= -f2)
[[ "${line#a=fingerprint:sha-256 }" == "$want" ]] || fail "fingerprint $line != $want"
openssl pkey -in k.pem -noout -check >/dev/null || fail "key rejected by openssl"

set +e
"$bin" >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "no command should exit 2"
"$bin" frobnicate >/dev/null 2>err.txt; [[ $? -eq 2 ]] || fail "unknown command should exit 2"
grep -q '^ERR_INVALID_ARG_VALUE' err.txt || fail "unknown command should print a code"
"$bin" --help | grep -q cert || fail "--help lists cert"
echo PASS

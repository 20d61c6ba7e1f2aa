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

# serve / connect, the spec's listen and connect examples, over loopback.
"$bin" serve --host 127.0.0.1 --port 0 --count 2 --srtp SRTP_AEAD_AES_128_GCM >serve.out 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening on' serve.out && break; sleep 0.05; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' serve.out)
pin=$(sed -n 's/^our certificate: a=fingerprint:\(.*\)$/\1/p' serve.out)
[[ -n "$port" && -n "$pin" ]] || fail "serve did not start: $(cat serve.out)"
"$bin" connect 127.0.0.1 "$port" --fingerprint "sha-256 $(printf '00:%.0s' $(seq 31))00" \
  --timeout 3000 >bad.out 2>&1 && fail "a wrong pin must fail"
grep -q '^ERR_DTLS_CERT_FINGERPRINT_MISMATCH' bad.out || fail "wrong pin: $(cat bad.out)"
"$bin" connect 127.0.0.1 "$port" --fingerprint "$pin" --srtp SRTP_AEAD_AES_128_GCM \
  --message one --message two >client.out 2>&1 || fail "connect: $(cat client.out)"
grep -q '^connected: DTLSv1.2 srtp=SRTP_AEAD_AES_128_GCM' client.out || fail "$(cat client.out)"
grep -q '^reply: echo: one$' client.out || fail "no echo: $(cat client.out)"
grep -q '^reply: echo: two$' client.out || fail "no echo: $(cat client.out)"
for _ in $(seq 100); do kill -0 $server 2>/dev/null || break; sleep 0.05; done
wait $server || fail "serve exited with an error: $(cat serve.out)"
grep -q 'says: two' serve.out || fail "$(cat serve.out)"
echo PASS

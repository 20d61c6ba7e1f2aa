#!/usr/bin/env bash
# The key log works for real: tshark captures a loopback session between `dtls-srtp serve` and
# `dtls-srtp connect --keylog`, and decrypts the application data with that key log (and
# cannot without it). Needs tshark (tools/setup.sh installs it) and root to capture on lo.
set -euo pipefail
bin="$PWD/tools/dtls-srtp"
cd "${TEST_TMPDIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v tshark >/dev/null || fail "tshark is not installed (run tools/setup.sh)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

"$bin" serve --host 127.0.0.1 --port 0 --count 1 >serve.out 2>&1 &
pids+=($!)
server=$!
for _ in $(seq 100); do grep -q '^listening on' serve.out && break; sleep 0.05; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' serve.out)
pin=$(sed -n 's/^our certificate: a=fingerprint:\(.*\)$/\1/p' serve.out)
[[ -n "$port" ]] || fail "serve did not start: $(cat serve.out)"

tshark -i lo -f "udp port $port" -w capture.pcap >tshark.out 2>&1 &
pids+=($!)
capture=$!
# "Capturing on" is printed before capture is live. Prove it is: send probe datagrams (first
# byte 'p', which the server's RFC 7983 demux drops as unknown) until one is in the file.
live=0
for _ in $(seq 100); do
  printf 'probe' >/dev/udp/127.0.0.1/"$port"
  sleep 0.1
  if [[ -n "$(tshark -r capture.pcap 2>/dev/null || true)" ]]; then live=1; break; fi
done
[[ $live -eq 1 ]] || fail "tshark captured nothing: $(cat tshark.out)"

message="keylog-check-$RANDOM$RANDOM"
"$bin" connect 127.0.0.1 "$port" --fingerprint "$pin" --keylog keys.txt --message "$message" \
  >client.out 2>&1 || fail "connect: $(cat client.out)"
wait "$server" || fail "serve: $(cat serve.out)"
grep -q '^CLIENT_RANDOM ' keys.txt || fail "no key log line: $(cat keys.txt)"

want=$(printf '%s' "$message" | od -An -tx1 | tr -d ' \n')
echo_want=$(printf 'echo: %s' "$message" | od -An -tx1 | tr -d ' \n')
# dumpcap writes as packets come; read the growing file until both messages decrypt (a loaded
# machine can take a moment), for at most 10 s.
decrypted=""
for _ in $(seq 100); do
  decrypted=$(tshark -r capture.pcap -o "tls.keylog_file:$PWD/keys.txt" -Y data -T fields \
    -e data.data 2>/dev/null || true)
  grep -qx "$want" <<<"$decrypted" && grep -qx "$echo_want" <<<"$decrypted" && break
  sleep 0.1
done
kill -INT "$capture"
wait "$capture" || true
packets=$(tshark -r capture.pcap 2>/dev/null || true)
grep -qx "$want" <<<"$decrypted" || fail "client data not decrypted: '$decrypted'; capture: $packets"
grep -qx "$echo_want" <<<"$decrypted" || fail "server data not decrypted: '$decrypted'; capture: $packets"
without=$(tshark -r capture.pcap -Y data -T fields -e data.data 2>/dev/null || true)
! grep -qx -e "$want" -e "$echo_want" <<<"$without" || fail "readable without the key log"
echo PASS

#!/usr/bin/env bash
# A real browser (argument: chromium or firefox, Debian's packages) sends fake
# camera and microphone media to our ICE-lite endpoint on 127.0.0.1 in every
# combination of DTLS role and SRTP profile it offers; we decrypt it and echo
# the RTP back. Asserted from both sides: our decrypted packet counts and
# DTLS/SRTP parameters, and the browser's getStats() (DTLS connected, the
# negotiated DTLS version, cipher suite, SRTP cipher, its DTLS role, inbound
# RTP from our echo). Both engines offer DTLS 1.3; against our OpenSSL 3.0
# they must settle on 1.2. Afterwards no process of the browser may be left.
set -euo pipefail
ENGINE=${1:?usage: webrtc_browser_test.sh chromium|firefox}
BIN="$TEST_SRCDIR/$TEST_WORKSPACE/tools/dtls-srtp"
case "$ENGINE" in
  chromium)
    BROWSER=${CHROMIUM:-/usr/bin/chromium}
    PACKAGE=chromium
    # Chromium offers AES128_CM_SHA1_80, AEAD_AES_256_GCM, AEAD_AES_128_GCM.
    ROUNDS=passive:SRTP_AES128_CM_SHA1_80,active:SRTP_AEAD_AES_128_GCM
    ROUNDS+=,active:SRTP_AES128_CM_SHA1_80,passive:SRTP_AEAD_AES_128_GCM
    ROUNDS+=,passive:SRTP_AEAD_AES_256_GCM
    ;;
  firefox)
    BROWSER=${FIREFOX:-/usr/bin/firefox-esr}
    PACKAGE=firefox-esr
    # NSS offers AEAD_AES_128_GCM, AEAD_AES_256_GCM, AES128_CM_SHA1_80 and
    # AES128_CM_SHA1_32, in that order.
    ROUNDS=passive:SRTP_AES128_CM_SHA1_80,active:SRTP_AEAD_AES_128_GCM
    ROUNDS+=,active:SRTP_AES128_CM_SHA1_80,passive:SRTP_AEAD_AES_128_GCM
    ROUNDS+=,active:SRTP_AEAD_AES_256_GCM,passive:SRTP_AES128_CM_SHA1_32
    ;;
  *)
    echo "FAIL: unknown engine '$ENGINE' (chromium or firefox)" >&2
    exit 1
    ;;
esac
if [[ ! -x "$BROWSER" ]]; then
  echo "FAIL: $BROWSER is missing (tools/setup.sh installs Debian's $PACKAGE" \
    "package)" >&2
  exit 1
fi
OUT="$TEST_TMPDIR/webrtc-$ENGINE.json"
LOG="$TEST_TMPDIR/webrtc-$ENGINE.log"
start=$SECONDS
rc=0
# 3 s of media a round (~20 s a run); the tool gives up at 45 s whatever the
# browser does, inside the 60 s Bazel allows a "short" test.
"$BIN" webrtc --browser "$BROWSER" --rounds "$ROUNDS" --seconds 3 \
  --timeout 45 --json >"$OUT" 2>"$LOG" || rc=$?
cat "$LOG" >&2
echo "$ENGINE: the run took $((SECONDS - start)) s"
[[ $rc -eq 0 ]] || { cat "$OUT"; echo "FAIL: dtls-srtp webrtc exited $rc"; exit 1; }

# The tool kills the browser's process group when it finishes: nothing of it
# may outlive the run (bounded wait: SIGKILLed processes go within moments).
pid=$(sed -n 's/^webrtc: started [a-z]* .* (pid \([0-9]*\)).*/\1/p' "$LOG")
[[ -n "$pid" ]] || { echo "FAIL: the tool did not say which pid it started"; exit 1; }
left=""
for _ in $(seq 1 50); do
  # Firefox's crashhelper leaves the group (it names the browser's pid) and
  # exits by itself once the browser is gone.
  left=$(ps -eo pid=,pgid=,stat=,args= | awk -v g="$pid" \
    '$3 !~ /^Z/ && ($2 == g || ($4 ~ /crashhelper$/ && $5 == g)) { print }')
  [[ -z "$left" ]] && break
  sleep 0.1
done
[[ -z "$left" ]] || { echo "FAIL: left running in group $pid:"; echo "$left"; exit 1; }

python3 - "$OUT" "$ENGINE" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
engine = sys.argv[2]
assert result["ok"], result["error"]
assert result["engine"] == engine, "ran %r, not %s" % (result["engine"], engine)
# What both engines call each profile in RTCTransportStats.srtpCipher.
cipher = {
    "SRTP_AES128_CM_SHA1_80": "SRTP_AES128_CM_HMAC_SHA1_80",
    "SRTP_AES128_CM_SHA1_32": "SRTP_AES128_CM_HMAC_SHA1_32",
    "SRTP_AEAD_AES_128_GCM": "SRTP_AEAD_AES_128_GCM",
    "SRTP_AEAD_AES_256_GCM": "SRTP_AEAD_AES_256_GCM",
}
N = 20  # ~50 audio and ~25-30 video packets a second arrive in 3 s
failures = []
for i, r in enumerate(result["rounds"]):
    ours, browser = r["ours"], r["browser"] or {}
    name = "%s round %d (%s %s)" % (engine, i, r["role"], r["profile"])
    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + name + ": " + what)
        if not cond:
            failures.append(name + ": " + what)
    t = browser.get("transport") or {}
    # The version actually negotiated, as each side saw it: "FEFD" is DTLS
    # 1.2 on the wire (1.3 would be "FEFC").
    print("%s round %d: DTLS negotiated: ours %s, %s's tlsVersion %s; cipher "
          "%s; SRTP %s (%s); browser's local candidate %s, ours saw %s" % (
              engine, i, ours["protocol"], engine, t.get("tlsVersion"),
              ours["cipher"], ours["srtp_profile"], t.get("srtpCipher"),
              browser.get("local"), ours["remote_address"]))
    check(ours["protocol"] == "DTLSv1.2", "our DTLS is 1.2: %r" % ours["protocol"])
    check(t.get("tlsVersion") == "FEFD",
          "browser tlsVersion %r (FEFD: DTLS 1.2)" % t.get("tlsVersion"))
    check(ours["cipher"].startswith("TLS_ECDHE_"), "cipher %r" % ours["cipher"])
    if t.get("dtlsCipher") is not None:
        check(t.get("dtlsCipher") == ours["cipher"],
              "browser dtlsCipher %r" % t.get("dtlsCipher"))
    check(ours["srtp_profile"] == r["profile"], "profile %r" % ours["srtp_profile"])
    check(ours["audio_rtp"] >= N, "we decrypted %d audio RTP" % ours["audio_rtp"])
    check(ours["video_rtp"] >= N, "we decrypted %d video RTP" % ours["video_rtp"])
    check(ours["rtcp"] >= 1, "we decrypted %d RTCP" % ours["rtcp"])
    check(ours["srtp_auth_failures"] == 0,
          "%d SRTP auth failures" % ours["srtp_auth_failures"])
    check(ours["echo_errors"] == 0, "every echo sent")
    check(t.get("dtlsState") == "connected", "browser dtlsState %r" % t.get("dtlsState"))
    check(t.get("srtpCipher") == cipher[r["profile"]],
          "browser srtpCipher %r" % t.get("srtpCipher"))
    want_role = "client" if r["role"] == "passive" else "server"
    check(t.get("dtlsRole") == want_role, "browser dtlsRole %r" % t.get("dtlsRole"))
    inbound = browser.get("inbound") or {}
    for kind in ("audio", "video"):
        got = (inbound.get(kind) or {}).get("packetsReceived", 0)
        check(got >= N // 2, "browser received %d %s RTP from our echo" % (got, kind))
if failures:
    sys.exit("%d checks failed" % len(failures))
PY
echo PASS

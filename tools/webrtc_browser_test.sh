#!/usr/bin/env bash
# Headless Chromium (Debian's package) sends fake camera and microphone media
# to our ICE-lite endpoint on 127.0.0.1 in every combination of DTLS role and
# SRTP profile; we decrypt it and echo the RTP back. Asserted from both sides:
# our decrypted packet counts, and the browser's getStats() (DTLS connected,
# the negotiated SRTP cipher, its DTLS role, inbound RTP from our echo).
set -euo pipefail
BIN="$TEST_SRCDIR/$TEST_WORKSPACE/tools/dtls-srtp"
BROWSER=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$BROWSER" ]]; then
  echo "FAIL: $BROWSER is missing (tools/setup.sh installs Debian's chromium)" >&2
  exit 1
fi
ROUNDS=passive:SRTP_AES128_CM_SHA1_80,active:SRTP_AEAD_AES_128_GCM
ROUNDS+=,active:SRTP_AES128_CM_SHA1_80,passive:SRTP_AEAD_AES_128_GCM
ROUNDS+=,passive:SRTP_AEAD_AES_256_GCM
OUT="$TEST_TMPDIR/webrtc.json"
"$BIN" webrtc --browser "$BROWSER" --rounds "$ROUNDS" --seconds 3 \
  --timeout 120 --json >"$OUT" || { cat "$OUT"; exit 1; }
python3 - "$OUT" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert result["ok"], result["error"]
# What Chromium calls each profile in RTCTransportStats.srtpCipher.
cipher = {
    "SRTP_AES128_CM_SHA1_80": "SRTP_AES128_CM_HMAC_SHA1_80",
    "SRTP_AEAD_AES_128_GCM": "SRTP_AEAD_AES_128_GCM",
    "SRTP_AEAD_AES_256_GCM": "SRTP_AEAD_AES_256_GCM",
}
N = 20  # ~50 audio and ~25 video packets a second arrive in 3 s
failures = []
for i, r in enumerate(result["rounds"]):
    ours, browser = r["ours"], r["browser"]
    name = "round %d (%s %s)" % (i, r["role"], r["profile"])
    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + name + ": " + what)
        if not cond:
            failures.append(name + ": " + what)
    check(ours["protocol"] == "DTLSv1.2", "our DTLS is 1.2: %r" % ours["protocol"])
    check(ours["srtp_profile"] == r["profile"], "profile %r" % ours["srtp_profile"])
    check(ours["audio_rtp"] >= N, "we decrypted %d audio RTP" % ours["audio_rtp"])
    check(ours["video_rtp"] >= N, "we decrypted %d video RTP" % ours["video_rtp"])
    check(ours["rtcp"] >= 1, "we decrypted %d RTCP" % ours["rtcp"])
    check(ours["srtp_auth_failures"] == 0, "no SRTP auth failures")
    check(ours["echo_errors"] == 0, "every echo sent")
    t = (browser or {}).get("transport") or {}
    check(t.get("dtlsState") == "connected", "browser dtlsState %r" % t.get("dtlsState"))
    check(t.get("srtpCipher") == cipher[r["profile"]], "browser srtpCipher %r" % t.get("srtpCipher"))
    want_role = "client" if r["role"] == "passive" else "server"
    check(t.get("dtlsRole") == want_role, "browser dtlsRole %r" % t.get("dtlsRole"))
    inbound = (browser or {}).get("inbound") or {}
    for kind in ("audio", "video"):
        got = (inbound.get(kind) or {}).get("packetsReceived", 0)
        check(got >= N // 2, "browser received %d %s RTP from our echo" % (got, kind))
if failures:
    sys.exit("%d checks failed" % len(failures))
PY
echo PASS

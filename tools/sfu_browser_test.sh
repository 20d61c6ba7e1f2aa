#!/usr/bin/env bash
# A room of three in headless browsers (argument: chromium or firefox, all
# three in one page of Debian's package; or mixed, two in a Chromium page and
# one in a Firefox page, which then leaves): three peer connections, each sending fake camera and microphone to
# `dtls-srtp sfu`, each receiving the other two through the room's fan-out
# send. Then the third leaves and a fourth joins, taking the slots it freed.
# Asserted from every participant's getStats() (inbound audio and video from
# each other participant, video decoded) and from our counters (every
# forwarded packet protected and sent, none refused, the leaver's session
# ended cleanly).
set -euo pipefail
ENGINE=${1:?usage: sfu_browser_test.sh chromium|firefox|mixed}
BIN="$TEST_SRCDIR/$TEST_WORKSPACE/tools/dtls-srtp"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}
case "$ENGINE" in
  chromium) ARGS=(--browser "$CHROMIUM" --participants 3) BROWSERS=1 ;;
  firefox) ARGS=(--browser "$FIREFOX" --participants 3) BROWSERS=1 ;;
  mixed)
    ARGS=(--browser "$CHROMIUM" --browser "$FIREFOX" --participants 2,1)
    BROWSERS=2
    ;;
  *) echo "usage: sfu_browser_test.sh chromium|firefox|mixed" >&2; exit 2 ;;
esac
for b in "$CHROMIUM" "$FIREFOX"; do
  if [[ " ${ARGS[*]} " == *" $b "* && ! -x "$b" ]]; then
    echo "FAIL: $b is missing (tools/setup.sh installs Debian's chromium and firefox-esr)" >&2
    exit 1
  fi
done
OUT="$TEST_TMPDIR/sfu.json"
LOG="$TEST_TMPDIR/sfu.log"
rc=0
# 3 s a phase (~10 s a run); the tool gives up at 45 s whatever the browsers
# do, inside the 60 s Bazel allows a "short" test.
"$BIN" sfu "${ARGS[@]}" --seconds 3 --timeout 45 --json >"$OUT" 2>"$LOG" ||
  rc=$?
grep -v '^sfu: [0-9]* s ' "$LOG" >&2 || true
[[ $rc -eq 0 ]] || { cat "$OUT"; echo "FAIL: dtls-srtp sfu exited $rc"; exit 1; }

# The tool kills each browser's process group when it finishes: nothing of
# them may outlive the run (bounded wait: SIGKILLed processes go within
# moments). Firefox's crashhelper leaves the group (it names the browser's
# pid) and exits by itself once the browser is gone.
pids=$(sed -n 's/^sfu: started [a-z]* .* (pid \([0-9]*\)).*/\1/p' "$LOG")
[[ $(wc -w <<<"$pids") -eq $BROWSERS ]] ||
  { echo "FAIL: the tool did not say which pids it started ($pids)"; exit 1; }
for pid in $pids; do
  left=""
  for _ in $(seq 1 50); do
    left=$(ps -eo pid=,pgid=,stat=,args= | awk -v g="$pid" \
      '$3 !~ /^Z/ && ($2 == g || ($4 ~ /crashhelper$/ && $5 == g)) { print }')
    [[ -z "$left" ]] && break
    sleep 0.1
  done
  [[ -z "$left" ]] || { echo "FAIL: left running in group $pid:"; echo "$left"; exit 1; }
done
python3 - "$OUT" "$ENGINE" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
engine = sys.argv[2]
assert result["ok"], result["error"]
room = result["room"]
# Several browsers report one page each: merged into one view of the room.
pages = result["browser"] if isinstance(result["browser"], list) else [result["browser"]]
leaving = [p for p in pages if p["left"] is not None]
assert len(leaving) == 1, "one page has the leaver: %r" % [p["left"] for p in pages]
browser = {
    "all": {"room": pages[0]["all"]["room"],
            "participants": [s for p in pages for s in p["all"]["participants"]]},
    # The leaving page's view comes after its leave and join.
    "after": {"room": leaving[0]["after"]["room"],
              "participants": [s for p in pages for s in p["after"]["participants"]]},
    "left": leaving[0]["left"], "joined": leaving[0]["joined"],
}
ours = {p["id"]: p for p in result["participants"]}
left, joined = browser["left"], browser["joined"]
# In 3 s a fake microphone sends ~150 opus packets and a fake camera ~75 VP8.
AUDIO, VIDEO, FRAMES = 60, 30, 20
failures = []
def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)

engines = ["Firefox" if "Firefox/" in p["engine"] else
           "Chromium" if "Chrome/" in p["engine"] else p["engine"] for p in pages]
want = {"chromium": ["Chromium"], "firefox": ["Firefox"],
        "mixed": ["Chromium", "Firefox"]}[engine]
check(engines == want, "pages ran in %s" % engines)
if engine == "mixed":
    check([len(p["all"]["participants"]) for p in pages] == [2, 1],
          "two participants in Chromium, one in Firefox")

check(room["fanout_failed"] == 0 and room["first_failure"] == "",
      "no forwarded packet refused (%d sent, %d refused %r)"
      % (room["fanout_sent"], room["fanout_failed"], room["first_failure"]))
check(room["send_errors"] == 0 and room["send_queue_drops"] == 0,
      "the endpoint sent everything (send errors %d, queue drops %d)"
      % (room["send_errors"], room["send_queue_drops"]))
check(room["keyframe_request_failures"] == 0, "every keyframe request sent")
check(sum(p["rtp_out"]["audio"] + p["rtp_out"]["video"] for p in ours.values())
      == room["fanout_sent"], "the per-participant counts add up to the fan-out's")
for pid, p in sorted(ours.items()):
    name = "participant %d" % pid
    out = p["rtp_out"]["audio"] + p["rtp_out"]["video"]
    check(p["srtp"]["rtp_protected"] == out,
          "%s: every packet forwarded to it protected (%d of %d)"
          % (name, p["srtp"]["rtp_protected"], out))
    check(p["srtp"]["protect_failures"] == 0 and p["srtp"]["auth_failures"] == 0,
          "%s: no protect or auth failures" % name)
    check(p["protocol"] == "DTLSv1.2", "%s: DTLS %r" % (name, p["protocol"]))
    check(p["rtp_other"] == 0, "%s: nothing outside the answered codecs" % name)
    want = "closed" if pid == left else ""
    check(p["ended"] == want, "%s: ended %r" % (name, p["ended"]))

def inbound(stats, ssrc):
    for i in stats["inbound"]:
        if i["ssrc"] == ssrc:
            return i
    return {}

def receive(phase, label):
    # Each participant, each slot the room had filled at that moment.
    slots = {p["id"]: p["slots"] for p in phase["room"]["participants"]}
    got = {}
    for stats in phase["participants"]:
        pid = stats["id"]
        t = stats["transport"] or {}
        check(t.get("dtlsState") == "connected" and t.get("tlsVersion") == "FEFD",
              "%s: participant %d DTLS 1.2 connected (%r)" % (label, pid, t))
        sources = {s["source"]: s for s in slots[pid] if s["source"]}
        others = sorted(q["id"] for q in phase["participants"] if q["id"] != pid)
        check(sorted(sources) == others,
              "%s: participant %d has a slot for each of %s" % (label, pid, others))
        for q, s in sources.items():
            a, v = inbound(stats, s["audio_ssrc"]), inbound(stats, s["video_ssrc"])
            got[(pid, q)] = (a.get("packetsReceived", 0), v.get("packetsReceived", 0),
                             v.get("framesDecoded", 0), s["video_ssrc"])
    return got

first = receive(browser["all"], "all three")
for (pid, q), (a, v, frames, _) in sorted(first.items()):
    check(a >= AUDIO and v >= VIDEO and frames >= FRAMES,
          "all three: %d received from %d audio %d, video %d, %d frames decoded"
          % (pid, q, a, v, frames))
check(len(first) == 6, "all three: six stream pairs (%d)" % len(first))

after = receive(browser["after"], "after the leave")
for (pid, q), (a, v, frames, ssrc) in sorted(after.items()):
    if pid == joined:
        # The newcomer got keyframes from publishers already sending.
        check(a >= AUDIO and v >= VIDEO and frames >= FRAMES,
              "newcomer %d received from %d audio %d, video %d, %d frames decoded"
              % (pid, q, a, v, frames))
        continue
    before = first.get((pid, q if q != joined else left))
    check(before is not None and before[3] == ssrc,
          "%d receives %d in the slot it had for %d" % (pid, q, q if q != joined else left))
    if before is None:
        continue
    check(a - before[0] >= AUDIO and v - before[1] >= VIDEO and frames - before[2] >= FRAMES,
          "%d %s %d: audio +%d, video +%d, +%d frames decoded"
          % (pid, "receives the newcomer" if q == joined else "kept receiving from",
             q, a - before[0], v - before[1], frames - before[2]))
check(len(after) == 6, "after the leave: six stream pairs (%d)" % len(after))
if failures:
    sys.exit("%d checks failed" % len(failures))
PY
echo PASS

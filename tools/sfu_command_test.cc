#include "tools/sfu_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

namespace dtls::tools {
namespace {

int run(const std::vector<std::string>& args, std::string* out_text,
        std::string* err_text) {
  std::ostringstream out, err;
  int rc = run_sfu_command(args, out, err);
  *out_text = out.str();
  *err_text = err.str();
  return rc;
}

TEST(SfuCommand, UsageErrorsHaveCodes) {
  std::string out, err;
  struct Case {
    std::vector<std::string> args;
    const char* code;
  };
  const Case cases[] = {
      {{"--max-participants", "1"}, "ERR_OUT_OF_RANGE"},
      {{"--max-participants", "17"}, "ERR_OUT_OF_RANGE"},
      {{"--port", "70000"}, "ERR_OUT_OF_RANGE"},
      {{"--media-port", "x"}, "ERR_OUT_OF_RANGE"},
      {{"--seconds", "3s", "--browser", "b"}, "ERR_OUT_OF_RANGE"},
      {{"--participants", "3"}, "ERR_INVALID_ARG_VALUE"},  // needs --browser
      {{"--browser", "b", "--participants", "5", "--max-participants", "4"},
       "ERR_OUT_OF_RANGE"},
      {{"--browser"}, "ERR_INVALID_ARG_VALUE"},
      // Several browsers: one count each, adding up to 2..max.
      {{"--browser", "a", "--browser", "b"}, "ERR_INVALID_ARG_VALUE"},
      {{"--browser", "a", "--browser", "b", "--participants", "2"},
       "ERR_INVALID_ARG_VALUE"},
      {{"--browser", "a", "--participants", "1"}, "ERR_OUT_OF_RANGE"},
      {{"--browser", "a", "--browser", "b", "--participants", "2,x"},
       "ERR_OUT_OF_RANGE"},
      {{"--browser", "a", "--browser", "b", "--participants", "3,3",
        "--max-participants", "5"},
       "ERR_OUT_OF_RANGE"},
      {{"--what"}, "ERR_INVALID_ARG_VALUE"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(run(c.args, &out, &err), 2) << c.args[0];
    EXPECT_NE(err.find(c.code), std::string::npos) << c.args[0] << ": " << err;
  }
  EXPECT_EQ(run({"--help"}, &out, &err), 0);
  EXPECT_NE(out.find("--participants"), std::string::npos);
}

TEST(SfuCommand, ABrowserThatCannotStartIsReported) {
  std::string out, err;
  EXPECT_EQ(run({"--browser", "/nonexistent/chromium", "--json"}, &out, &err),
            1);
  EXPECT_NE(out.find("\"ok\":false"), std::string::npos) << out;
  EXPECT_NE(out.find("ERR_BROWSER"), std::string::npos) << out;
}

// A stand-in for the browser, launched as the browser would be (the page's
// URL as its last argument): it speaks the page's protocol to the server
// with a made-up offer, checks each answer, and posts what it saw as its
// result. No DTLS happens; the room's own tests cover the media.
constexpr char kScriptedBrowser[] = R"PY(#!/usr/bin/env python3
import json, sys, urllib.request, urllib.error
url = sys.argv[-1]
base = url.split('?')[0].rstrip('/')
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else body.encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
seen = {}
seen['url_page'] = url.split('?')[1] if '?' in url else ''
status, config = call('GET', '/config?page=0')
seen['no_page_1'] = call('GET', '/config?page=1')[0]
# One browser: every step of the pages' barrier is open at once.
seen['barrier'] = call('POST', '/barrier?page=0&step=1', '')
seen['config'] = json.loads(config)
status, page = call('GET', '/')
seen['page'] = status == 200 and 'RTCPeerConnection' in page
def offer(ufrag, codec='VP8'):
    fp = ':'.join(['AB'] * 32)
    o = ('v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:%s\r\n'
         'a=ice-pwd:0123456789abcdef012345\r\na=fingerprint:sha-256 %s\r\n'
         'a=setup:actpass\r\n' % (ufrag, fp))
    lines = [('audio', 111, 'opus/48000/2', 'sendonly'),
             ('video', 96, codec + '/90000', 'sendonly')]
    lines += [('audio', 111, 'opus/48000/2', 'recvonly'),
              ('video', 96, 'VP8/90000', 'recvonly')] * seen['config']['slots']
    for mid, (kind, pt, rtpmap, direction) in enumerate(lines):
        o += ('m=%s 9 UDP/TLS/RTP/SAVPF %d\r\na=mid:%d\r\na=%s\r\na=rtcp-mux\r\n'
              'a=rtpmap:%d %s\r\n' % (kind, pt, mid, direction, pt, rtpmap))
    return o
status, body = call('POST', '/join', offer('aaaa'))
joined = json.loads(body)
seen['join'] = [status, joined['id'], joined['answer'].count('a=ssrc:')]
status, body = call('POST', '/join', offer('bbbb'))
second = json.loads(body)['id']
status, body = call('GET', '/room')
room = json.loads(body)
seen['room'] = [[p['id'], [s['source'] for s in p['slots']]] for p in room['participants']]
seen['h264'] = call('POST', '/join', offer('cccc', 'H264'))
seen['garbage'] = call('POST', '/join', 'hello')
seen['leave'] = call('POST', '/leave?id=%d' % joined['id'], '')
seen['leave_again'] = call('POST', '/leave?id=%d' % joined['id'], '')
seen['leave_nobody'] = call('POST', '/leave?id=x', '')
status, body = call('GET', '/room')
seen['after'] = [[p['id'], p['ended'], [s['source'] for s in p['slots']]]
                 for p in json.loads(body)['participants']]
call('POST', '/result?page=0', json.dumps(seen))
)PY";

TEST(SfuCommand, ThePageProtocolJoinsAndLeaves) {
  const char* tmp = getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  // The launcher tells engines apart by name first: this script stands in
  // for Chromium (it takes Chromium's flags and reads only the URL).
  const std::string script = std::string(tmp) + "/scripted_chromium.py";
  {
    std::ofstream f(script);
    f << kScriptedBrowser;
  }
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  std::string out, err;
  ASSERT_EQ(run({"--browser", script, "--participants", "2",
                 "--max-participants", "3", "--seconds", "1", "--json"},
                &out, &err),
            0)
      << out << err;
  auto has = [&](const std::string& want) {
    EXPECT_NE(out.find(want), std::string::npos) << want << " in " << out;
  };
  has("\"url_page\": \"page=0\"");
  has("\"config\": {\"auto\": true, \"participants\": 2, \"page\": 0, "
      "\"pages\": 1, \"seconds\": 1, \"slots\": 2}");
  has("\"no_page_1\": 400");
  has("\"barrier\": [200, \"{\\\"go\\\":true}\"]");
  has("\"page\": true");
  // Joined as 1 with an SSRC for each of 2 slots x (audio, video).
  has("\"join\": [200, 1, 4]");
  // Each took a slot of the other's.
  has("\"room\": [[1, [2, 0]], [2, [1, 0]]]");
  has("\"h264\": [400, \"ERR_SFU_CODEC: ");
  has("\"garbage\": [400, \"ERR_SDP_INVALID: ");
  has("\"leave\": [200, \"ok\"]");
  has("\"leave_again\": [400, \"ERR_SFU_UNKNOWN_PARTICIPANT: ");
  has("\"leave_nobody\": [400, \"ERR_SFU_UNKNOWN_PARTICIPANT: ");
  // 1 left cleanly (it had not connected: its session just ended) and its
  // slot in 2 is free; the record of 1 keeps its slots as they were.
  has("\"after\": [[2, \"\", [0, 0]], [1, \"closed\", [2, 0]]]");
  has("\"ok\":true");
  EXPECT_NE(err.find("participant 1 left"), std::string::npos) << err;
}

TEST(SfuCommand, ThePageSignalsThroughTheServer) {
  const std::string page = kSfuPage;
  for (const char* want : {"/join", "/leave?id=", "/result", "/config", "/room",
                           "recvonly", "sendonly", "setCodecPreferences",
                           "getStats", "inbound-rtp", "sendBeacon"}) {
    EXPECT_NE(page.find(want), std::string::npos) << want;
  }
}

}  // namespace
}  // namespace dtls::tools

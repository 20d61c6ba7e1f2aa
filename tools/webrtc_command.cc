#include "tools/webrtc_command.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tools/http_server.h"
#include "transport/dtls_api.h"
#include "transport/ice/sdp.h"

namespace dtls::tools {

const char kWebrtcUsage[] =
    "usage: dtls-srtp webrtc [options]\n"
    "A browser sends fake camera video and microphone audio to an ICE-lite\n"
    "DTLS-SRTP endpoint on 127.0.0.1, which echoes the RTP back.\n"
    "  --rounds R,R,...   each R is ROLE:PROFILE, ROLE our DTLS role\n"
    "                     (passive: the browser sends the ClientHello;\n"
    "                     active: we do); default\n"
    "                     passive:SRTP_AES128_CM_SHA1_80,"
    "active:SRTP_AEAD_AES_128_GCM\n"
    "  --seconds N        media time per round (default 4)\n"
    "  --browser PATH     launch this browser headless: Chromium (e.g.\n"
    "                     /usr/bin/chromium) or Firefox (e.g.\n"
    "                     /usr/bin/firefox-esr), told apart by the name or\n"
    "                     --version; without it, open the printed URL\n"
    "                     yourself\n"
    "  --http-port N      the page's port (default 0: any free port)\n"
    "  --timeout N        give up after N seconds (default 90 with --browser,\n"
    "                     3600 without)\n"
    "  --json             print the result as one JSON object\n";

// The page: one RTCPeerConnection per round, fake media both ways, the
// browser's own view of the transport from getStats() posted back.
const char kWebrtcPage[] = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>dtls-srtp webrtc echo</title></head>
<body><h3>dtls-srtp: WebRTC echo over ICE-lite + DTLS-SRTP</h3>
<pre id="log"></pre>
<script>
const log = (m) => { document.getElementById('log').textContent += m + '\n'; };
async function post(path, body) {
  const r = await fetch(path, {method: 'POST', body});
  const text = await r.text();
  if (!r.ok) throw new Error(path + ': ' + text);
  return text;
}
async function runRound(i, seconds) {
  const pc = new RTCPeerConnection();
  const stream = await navigator.mediaDevices.getUserMedia(
      {audio: true, video: {width: 320, height: 240}});
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  // The offer gets a data channel m-line, as real apps' offers do; the
  // answer rejects it and the media must flow regardless.
  pc.createDataChannel('unanswered');
  await pc.setLocalDescription(await pc.createOffer());
  const answer = await post('/offer?round=' + i, pc.localDescription.sdp);
  await pc.setRemoteDescription({type: 'answer', sdp: answer});
  log('round ' + i + ': answer set, media for ' + seconds + ' s');
  await new Promise((done) => setTimeout(done, seconds * 1000));
  const out = {connectionState: pc.connectionState,
               iceConnectionState: pc.iceConnectionState,
               transport: null, inbound: {}, outbound: {}};
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport') {
      out.transport = {dtlsState: s.dtlsState, srtpCipher: s.srtpCipher,
                       tlsVersion: s.tlsVersion, dtlsRole: s.dtlsRole,
                       dtlsCipher: s.dtlsCipher, iceState: s.iceState};
      if (s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    }
  });
  // Firefox names no selected pair in its transport stats but flags it.
  stats.forEach((s) => {
    if (!pair && s.type === 'candidate-pair' && (s.selected || s.nominated))
      pair = s;
  });
  const local = pair && stats.get(pair.localCandidateId);
  if (local) out.local = local.address + ':' + local.port + '/' + local.protocol;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp') {
      out.inbound[s.kind] = {packetsReceived: s.packetsReceived,
                             bytesReceived: s.bytesReceived};
    } else if (s.type === 'outbound-rtp') {
      out.outbound[s.kind] = {packetsSent: s.packetsSent};
    }
  });
  log('round ' + i + ': ' + JSON.stringify(out));
  for (const t of stream.getTracks()) t.stop();
  pc.close();
  await post('/result?round=' + i, JSON.stringify(out));
}
(async () => {
  try {
    const config = JSON.parse(await (await fetch('/config')).text());
    for (let i = 0; i < config.rounds; i++) await runRound(i, config.seconds);
    log('done');
  } catch (e) {
    log('error: ' + e);
    // Firefox's stack has no message line: send both.
    fetch('/error', {method: 'POST',
                     body: String(e) + '\n' + ((e && e.stack) || '')});
  }
})();
</script></body></html>
)HTML";

namespace {

struct Round {
  bool active = false;  // our a=setup:active
  std::string profile;
  Endpoint endpoint;
  Session session;
  std::optional<int> audio_pt;
  std::set<int> video_pts;
  std::uint32_t audio_ssrc = 0;
  std::uint32_t video_ssrc = 0;
  std::uint64_t audio_rtp = 0;
  std::uint64_t video_rtp = 0;
  std::uint64_t other_rtp = 0;
  std::uint64_t rtcp = 0;
  std::uint64_t echoed = 0;
  std::uint64_t echo_errors = 0;
  std::string protocol;      // at the handshake
  std::string srtp_profile;  // at the handshake
  std::string ended;         // how our session ended, if it did
  SessionStats final_stats;
  std::string browser_json;    // what the page posted
  std::string remote_address;  // the browser's checked address
  std::string cipher;          // our DTLS cipher suite (IETF name)
  bool reported = false;
};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

class WebrtcRun {
 public:
  WebrtcRun(uv_loop_t* loop, std::ostream& out, std::ostream& err)
      : loop_(loop), out_(out), err_(err) {}

  int run(const std::vector<std::string>& args);

 private:
  Status parse(const std::vector<std::string>& args);
  Status start();
  HttpResponse handle(const HttpRequest& r);
  HttpResponse offer(Round& round, const std::string& sdp_text);
  void on_rtp(Round& round, std::span<const std::uint8_t> packet);
  void launch_browser();
  void finish(std::string error);
  void progress();
  void report() const;
  void print_browser_log() const;

  uv_loop_t* loop_;
  std::ostream& out_;
  std::ostream& err_;
  std::vector<Round> rounds_;
  int seconds_ = 4;
  int timeout_ = 0;  // 0: the default for the mode
  std::uint16_t http_port_ = 0;
  std::string browser_;
  bool json_ = false;
  std::string cert_pem_, key_pem_;
  std::optional<certs::Fingerprint> fingerprint_;
  HttpServer* http_ = nullptr;
  uv_timer_t timer_{};
  uv_timer_t deadline_{};
  uv_process_t browser_process_{};
  bool browser_running_ = false;
  std::string browser_name_;        // "chromium" or "firefox", once detected
  std::filesystem::path work_dir_;  // profile, HOME, TMPDIR and the log
  std::filesystem::path log_path_;
  uv_signal_t signals_[3]{};
  std::vector<std::uint8_t> echo_;
  std::optional<std::string> result_;  // "" when all went well
  int ticks_ = 0;
};

Status WebrtcRun::parse(const std::vector<std::string>& args) {
  std::string rounds =
      "passive:SRTP_AES128_CM_SHA1_80,active:SRTP_AEAD_AES_128_GCM";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size())
        return make_error("ERR_INVALID_ARG_VALUE", a + " needs a value");
      return args[++i];
    };
    auto number = [&](int lo, int hi, int& out) -> Status {
      auto v = value();
      if (!v.ok()) return v.error();
      try {
        out = std::stoi(*v);
      } catch (...) {
        out = lo - 1;
      }
      if (out < lo || out > hi) {
        return make_error(
            "ERR_OUT_OF_RANGE",
            a + " must be " + std::to_string(lo) + ".." + std::to_string(hi));
      }
      return {};
    };
    Status st;
    if (a == "--rounds") {
      auto v = value();
      if (!v.ok()) return v.error();
      rounds = *v;
    } else if (a == "--seconds") {
      st = number(1, 600, seconds_);
    } else if (a == "--timeout") {
      st = number(5, 3600, timeout_);
    } else if (a == "--http-port") {
      int p = 0;
      st = number(0, 65535, p);
      http_port_ = static_cast<std::uint16_t>(p);
    } else if (a == "--browser") {
      auto v = value();
      if (!v.ok()) return v.error();
      browser_ = *v;
    } else if (a == "--json") {
      json_ = true;
    } else {
      return make_error("ERR_INVALID_ARG_VALUE", "unknown option " + a);
    }
    if (!st.ok()) return st;
  }
  std::stringstream list(rounds);
  std::string item;
  while (std::getline(list, item, ',')) {
    const size_t colon = item.find(':');
    Round r;
    const std::string role = item.substr(0, colon);
    if (colon == std::string::npos || (role != "active" && role != "passive")) {
      return make_error("ERR_INVALID_ARG_VALUE",
                        "a round is ROLE:PROFILE with ROLE active or "
                        "passive, got '" +
                            item + "'");
    }
    r.active = role == "active";
    r.profile = item.substr(colon + 1);
    rounds_.push_back(std::move(r));
  }
  if (timeout_ == 0) timeout_ = browser_.empty() ? 3600 : 90;
  if (rounds_.empty() || rounds_.size() > 16)
    return make_error("ERR_OUT_OF_RANGE", "--rounds takes 1..16 rounds");
  return {};
}

Status WebrtcRun::start() {
  auto creds = certs::generate_certificate();
  if (!creds.ok()) return creds.error();
  cert_pem_ = creds->leaf().to_pem();
  key_pem_ = creds->key.to_pem();
  fingerprint_ =
      certs::Fingerprint::of(creds->leaf(), certs::HashAlgorithm::kSha256);
  // One ICE-lite endpoint per round: the round's SRTP profile is the only
  // one it offers or accepts.
  for (size_t i = 0; i < rounds_.size(); ++i) {
    ListenOptions o;
    o.cert = cert_pem_;
    o.key = key_pem_;
    o.srtp = rounds_[i].profile;
    o.require_srtp = true;
    o.host = "127.0.0.1";
    o.port = 0;
    o.ice_lite = true;
    auto e = listen(
        loop_, [](Session) {}, o);
    if (!e.ok()) return e.error();
    rounds_[i].endpoint = std::move(e).value();
    rounds_[i].audio_ssrc = 0x10000000u + static_cast<std::uint32_t>(i);
    rounds_[i].video_ssrc = 0x20000000u + static_cast<std::uint32_t>(i);
  }
  auto http =
      HttpServer::start(loop_, "127.0.0.1", http_port_,
                        [this](const HttpRequest& r) { return handle(r); });
  if (!http.ok()) return http.error();
  http_ = *http;
  echo_.reserve(2048);
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_timer_start(
      &timer_,
      [](uv_timer_t* t) { static_cast<WebrtcRun*>(t->data)->progress(); }, 1000,
      1000);
  uv_timer_init(loop_, &deadline_);
  deadline_.data = this;
  uv_timer_start(
      &deadline_,
      [](uv_timer_t* t) {
        static_cast<WebrtcRun*>(t->data)->finish(
            "ERR_TIMEOUT: the browser did not report every round in time");
      },
      static_cast<std::uint64_t>(timeout_) * 1000, 0);
  // The browser runs in a process group of its own, which a signal to ours
  // does not reach: an interrupted run (Ctrl-C, a test's timeout) ends it
  // the way a finished run does.
  const int signums[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < std::size(signals_); ++i) {
    uv_signal_init(loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(
        &signals_[i],
        [](uv_signal_t* h, int signum) {
          static_cast<WebrtcRun*>(h->data)->finish("ERR_INTERRUPTED: signal " +
                                                   std::to_string(signum));
        },
        signums[i]);
  }
  return {};
}

HttpResponse WebrtcRun::handle(const HttpRequest& r) {
  if (r.method == "GET" && (r.path == "/" || r.path == "/index.html"))
    return {200, "text/html; charset=utf-8", kWebrtcPage};
  if (r.method == "GET" && r.path == "/config") {
    return {200, "application/json",
            "{\"rounds\":" + std::to_string(rounds_.size()) +
                ",\"seconds\":" + std::to_string(seconds_) + "}"};
  }
  if (r.method == "POST" && r.path == "/error") {
    finish("ERR_BROWSER: the page failed: " + r.body);
    return {200, "text/plain", "ok"};
  }
  if (r.method != "POST" || (r.path != "/offer" && r.path != "/result"))
    return {404, "text/plain", "not found"};
  size_t index = rounds_.size();
  try {
    index = std::stoul(query_value(r.query, "round"));
  } catch (...) {
  }
  if (index >= rounds_.size()) return {400, "text/plain", "bad round"};
  Round& round = rounds_[index];
  if (r.path == "/offer") return offer(round, r.body);
  round.browser_json = r.body;
  round.reported = true;
  bool all = true;
  for (const Round& x : rounds_) all = all && x.reported;
  if (all) finish("");
  return {200, "text/plain", "ok"};
}

HttpResponse WebrtcRun::offer(Round& round, const std::string& sdp_text) {
  auto offer = sdp::parse(sdp_text);
  if (!offer.ok()) return {400, "text/plain", offer.error().to_string()};
  if (round.session) return {400, "text/plain", "this round has an offer"};
  IceSessionConfig config;
  config.remote_ufrag = offer->transport_ice().ufrag;
  for (const auto& f : offer->transport_fingerprints())
    config.fingerprints.push_back(f.to_sdp());
  config.dtls_client = round.active;
  auto session = round.endpoint.add_ice_session(config);
  if (!session.ok()) return {400, "text/plain", session.error().to_string()};
  round.session = *session;
  // The payload types the answer accepts tell audio from video on the one
  // bundled transport.
  std::vector<std::uint32_t> ssrcs;
  for (const sdp::Media* m : sdp::answered_media(*offer)) {
    const int pt = sdp::answer_codec(*m)->payload_type;
    if (m->kind == "audio") {
      round.audio_pt = pt;
      ssrcs.push_back(round.audio_ssrc);
    } else {
      round.video_pts.insert(pt);
      ssrcs.push_back(round.video_ssrc);
    }
  }
  const AddressInfo addr = round.endpoint.address();
  sdp::AnswerOptions a{
      round.session.ice_credentials(), *fingerprint_,
      round.active ? sdp::Setup::kActive : sdp::Setup::kPassive,
      PeerAddress::parse(addr.address, addr.port).value(), ssrcs};
  auto answer = sdp::write_answer(*offer, a);
  if (!answer.ok()) {
    round.session.destroy();
    return {400, "text/plain", answer.error().to_string()};
  }
  Round* rp = &round;
  round.session.on_handshake([rp](const std::string& protocol) {
    rp->protocol = protocol;
    rp->srtp_profile = rp->session.srtp_profile();
    if (auto c = rp->session.cipher()) rp->cipher = c->standard_name;
    const AddressInfo a = rp->session.remote_address();
    rp->remote_address = a.address + ":" + std::to_string(a.port);
  });
  round.session.on_rtp(
      [this, rp](std::span<const std::uint8_t> p) { on_rtp(*rp, p); });
  round.session.on_rtcp([rp](std::span<const std::uint8_t>) { rp->rtcp++; });
  round.session.on_closed([rp](const Status& s) {
    rp->final_stats = rp->session.stats();
    rp->ended = s.ok() ? "closed" : s.error().code;
  });
  return {200, "application/sdp", *answer};
}

// Echo: the packet goes back under our SSRC for its kind (the one our answer
// declared), so the browser takes it as the media we send.
void WebrtcRun::on_rtp(Round& round, std::span<const std::uint8_t> packet) {
  if (packet.size() < 12) return;
  const int pt = packet[1] & 0x7f;
  std::uint32_t ssrc = 0;
  if (round.audio_pt && pt == *round.audio_pt) {
    round.audio_rtp++;
    ssrc = round.audio_ssrc;
  } else if (round.video_pts.count(pt) != 0) {
    round.video_rtp++;
    ssrc = round.video_ssrc;
  } else {
    round.other_rtp++;
    return;
  }
  echo_.assign(packet.begin(), packet.end());
  echo_[8] = static_cast<std::uint8_t>(ssrc >> 24);
  echo_[9] = static_cast<std::uint8_t>(ssrc >> 16);
  echo_[10] = static_cast<std::uint8_t>(ssrc >> 8);
  echo_[11] = static_cast<std::uint8_t>(ssrc);
  if (round.session.send_rtp(echo_).ok()) {
    round.echoed++;
  } else {
    round.echo_errors++;
  }
}

void WebrtcRun::launch_browser() {
  auto kind = detect_browser(browser_, 10000);
  if (!kind.ok()) {
    finish(kind.error().to_string());
    return;
  }
  const std::string url =
      "http://127.0.0.1:" + std::to_string(http_->port()) + "/";
  auto launch = prepare_browser_launch(*kind, browser_, url);
  if (!launch.ok()) {
    finish(launch.error().to_string());
    return;
  }
  browser_name_ = launch->name;
  work_dir_ = launch->work_dir;
  log_path_ = launch->log;
  browser_process_.data = this;
  const int r = spawn_browser(
      loop_, &browser_process_, *launch,
      [](uv_process_t* p, int64_t status, int signal) {
        auto* self = static_cast<WebrtcRun*>(p->data);
        self->browser_running_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
        if (!self->result_) {
          self->finish("ERR_BROWSER: the browser exited (status " +
                       std::to_string(status) + ", signal " +
                       std::to_string(signal) + ") before reporting");
        }
      });
  if (r != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&browser_process_), nullptr);
    finish("ERR_BROWSER: cannot start " + browser_ + ": " + uv_strerror(r));
    return;
  }
  browser_running_ = true;
  err_ << "webrtc: started " << browser_name_ << " " << browser_ << " (pid "
       << browser_process_.pid << ") on " << url << "\n";
}

void WebrtcRun::progress() {
  ++ticks_;
  for (size_t i = 0; i < rounds_.size(); ++i) {
    const Round& r = rounds_[i];
    if (!r.session || r.reported) continue;
    err_ << "webrtc: " << ticks_ << " s round " << i << " ("
         << (r.active ? "active" : "passive") << ' ' << r.profile << "): dtls "
         << (r.protocol.empty() ? "-" : r.protocol) << ", audio rtp "
         << r.audio_rtp << ", video rtp " << r.video_rtp << ", rtcp " << r.rtcp
         << ", echoed " << r.echoed << "\n";
  }
}

void WebrtcRun::finish(std::string error) {
  if (result_) return;
  result_ = std::move(error);
  uv_timer_stop(&timer_);
  uv_timer_stop(&deadline_);
  for (Round& r : rounds_) {
    if (r.session && r.ended.empty()) r.final_stats = r.session.stats();
    r.endpoint.close();
  }
  if (http_) http_->close();
  http_ = nullptr;
  if (browser_running_) {
    // The whole group at once: Chromium's renderer and GPU helpers, Firefox's
    // content and socket processes. SIGKILL, so the end is bounded.
    uv_kill(-browser_process_.pid, SIGKILL);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
  for (uv_signal_t& s : signals_) {
    if (s.data != nullptr)
      uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
  }
}

// The last lines the browser printed: why it failed, when it says.
void WebrtcRun::print_browser_log() const {
  if (log_path_.empty()) return;
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > 30) tail.pop_front();
  }
  if (tail.empty()) return;
  err_ << "webrtc: the last lines of " << browser_name_ << "'s output:\n";
  for (const std::string& line : tail) err_ << "  " << line << "\n";
}

void WebrtcRun::report() const {
  if (json_) {
    out_ << "{\"ok\":" << (result_->empty() ? "true" : "false")
         << ",\"engine\":\"" << browser_name_ << "\""
         << ",\"error\":\"" << json_escape(*result_) << "\",\"rounds\":[";
    for (size_t i = 0; i < rounds_.size(); ++i) {
      const Round& r = rounds_[i];
      out_ << (i ? "," : "") << "{\"role\":\""
           << (r.active ? "active" : "passive") << "\",\"profile\":\""
           << r.profile << "\",\"ours\":{\"protocol\":\"" << r.protocol
           << "\",\"cipher\":\"" << r.cipher << "\",\"srtp_profile\":\""
           << r.srtp_profile << "\",\"remote_address\":\""
           << json_escape(r.remote_address)
           << "\",\"audio_rtp\":" << r.audio_rtp
           << ",\"video_rtp\":" << r.video_rtp
           << ",\"other_rtp\":" << r.other_rtp << ",\"rtcp\":" << r.rtcp
           << ",\"echoed\":" << r.echoed << ",\"echo_errors\":" << r.echo_errors
           << ",\"srtp_unprotected\":"
           << r.final_stats.media.rtp_packets_unprotected
           << ",\"srtp_auth_failures\":" << r.final_stats.media.auth_failures
           << ",\"ended\":\"" << json_escape(r.ended) << "\"},\"browser\":"
           << (r.browser_json.empty() ? "null" : r.browser_json) << "}";
    }
    out_ << "]}\n";
    return;
  }
  for (size_t i = 0; i < rounds_.size(); ++i) {
    const Round& r = rounds_[i];
    out_ << "round " << i << " (" << (r.active ? "active" : "passive") << ' '
         << r.profile << "): " << (r.protocol.empty() ? "no DTLS" : r.protocol)
         << ' ' << r.cipher << ' ' << r.srtp_profile << " from "
         << (r.remote_address.empty() ? "-" : r.remote_address)
         << "; decrypted audio rtp " << r.audio_rtp << ", video rtp "
         << r.video_rtp << ", rtcp " << r.rtcp << "; echoed " << r.echoed
         << "\n"
         << "  browser: " << (r.browser_json.empty() ? "-" : r.browser_json)
         << "\n";
  }
  if (!result_->empty()) out_ << *result_ << "\n";
}

int WebrtcRun::run(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      out_ << kWebrtcUsage;
      return 0;
    }
  }
  if (Status s = parse(args); !s.ok()) {
    err_ << s.error().to_string() << "\n" << kWebrtcUsage;
    return 2;
  }
  if (Status s = start(); !s.ok()) {
    err_ << s.error().to_string() << "\n";
    for (Round& r : rounds_) r.endpoint.close();
    if (http_) http_->close();
    uv_run(loop_, UV_RUN_DEFAULT);
    return 1;
  }
  const std::string url =
      "http://127.0.0.1:" + std::to_string(http_->port()) + "/";
  if (browser_.empty()) {
    out_ << "open " << url << " in a browser (rounds: " << rounds_.size()
         << ", " << seconds_ << " s each)\n"
         << std::flush;
  } else {
    launch_browser();
  }
  uv_run(loop_, UV_RUN_DEFAULT);
  if (!result_->empty()) print_browser_log();
  if (!work_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
  }
  report();
  return result_ && result_->empty() ? 0 : 1;
}

}  // namespace

int run_webrtc_command(const std::vector<std::string>& args, std::ostream& out,
                       std::ostream& err) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int rc;
  {
    WebrtcRun run(&loop, out, err);
    rc = run.run(args);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}

}  // namespace dtls::tools

#include "tools/sfu_command.h"

#include <signal.h>
#include <stdlib.h>
#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "tools/browser_launch.h"
#include "tools/http_server.h"
#include "tools/sfu_room.h"

namespace dtls::tools {

const char kSfuUsage[] =
    "usage: dtls-srtp sfu [options]\n"
    "A room on 127.0.0.1: every participant sends camera and microphone and\n"
    "receives everyone else's, forwarded by an ICE-lite DTLS-SRTP endpoint.\n"
    "Open the printed URL in several browser windows (one participant each).\n"
    "  --port N              the page's port (default 0: any free port)\n"
    "  --media-port N        the media's UDP port (default 0: any free port)\n"
    "  --max-participants N  2..16 (default 6)\n"
    "  --browser PATH        launch this browser headless, Chromium or\n"
    "                        Firefox (e.g. /usr/bin/chromium,\n"
    "                        /usr/bin/firefox-esr), with --participants peer\n"
    "                        connections in one page; after --seconds the\n"
    "                        last leaves, a newcomer joins, and all go on\n"
    "                        --seconds more. Give it again for one room\n"
    "                        across browsers (the last one's page leaves)\n"
    "  --participants N,...  with --browser: one count per browser, 2..max-\n"
    "                        participants in all (default 3 for one)\n"
    "  --seconds N           with --browser: each phase's media time "
    "(default 4)\n"
    "  --timeout N           give up after N seconds (default 90 with\n"
    "                        --browser, 3600 without)\n"
    "  --json                print the result as one JSON object\n";

// The page. One participant is one RTCPeerConnection: its camera and
// microphone go out on sendonly transceivers, and a recvonly audio+video
// pair per receive slot comes before the offer, so that the room's answer
// can give each slot an SSRC and no renegotiation is ever needed.
const char kSfuPage[] = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>dtls-srtp sfu</title>
<style>
body { font: 13px sans-serif; }
.tile { display: inline-block; margin: 4px; vertical-align: top; width: 240px; }
video { width: 240px; height: 180px; background: #222; display: block; }
pre { font: 12px monospace; }
</style></head>
<body><h3>dtls-srtp sfu: a room over ICE-lite + DTLS-SRTP</h3>
<div id="tiles"></div>
<p><button id="leave" disabled>Leave</button> (click the page to hear sound)</p>
<pre id="room"></pre>
<pre id="log"></pre>
<script>
const log = (m) => { document.getElementById('log').textContent += m + '\n'; };
async function post(path, body) {
  const r = await fetch(path, {method: 'POST', body});
  const text = await r.text();
  if (!r.ok) throw new Error(path + ': ' + text);
  return text;
}
const sleep = (s) => new Promise((done) => setTimeout(done, s * 1000));

// The room forwards opus and VP8 and answers each m-line with its first
// media codec (rtx, red and FEC skipped): put those first.
function preferRoomCodecs(transceiver, kind) {
  if (!transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
  const want = kind === 'audio' ? 'audio/opus' : 'video/vp8';
  const codecs = RTCRtpReceiver.getCapabilities(kind).codecs;
  codecs.sort((a, b) => (a.mimeType.toLowerCase() === want ? 0 : 1) -
                        (b.mimeType.toLowerCase() === want ? 0 : 1));
  try { transceiver.setCodecPreferences(codecs); } catch (e) { log('codec preferences: ' + e); }
}

async function join(stream, slots) {
  const pc = new RTCPeerConnection({bundlePolicy: 'max-bundle'});
  for (const track of stream.getTracks()) {
    preferRoomCodecs(pc.addTransceiver(track, {direction: 'sendonly', streams: [stream]}), track.kind);
  }
  const receive = [];
  for (let i = 0; i < slots; i++) {
    const audio = pc.addTransceiver('audio', {direction: 'recvonly'});
    const video = pc.addTransceiver('video', {direction: 'recvonly'});
    preferRoomCodecs(audio, 'audio');
    preferRoomCodecs(video, 'video');
    receive.push({audio, video});
  }
  await pc.setLocalDescription(await pc.createOffer());
  const joined = JSON.parse(await post('/join', pc.localDescription.sdp));
  await pc.setRemoteDescription({type: 'answer', sdp: joined.answer});
  log('participant ' + joined.id + ' joined');
  return {id: joined.id, pc, stream, receive};
}

async function leave(p) {
  await post('/leave?id=' + p.id, '');
  for (const t of p.stream.getTracks()) t.stop();
  p.pc.close();
  log('participant ' + p.id + ' left');
}

// What the browser says about one participant's peer connection.
async function stats(p) {
  const out = {id: p.id, connectionState: p.pc.connectionState, transport: null,
               inbound: [], outbound: {}};
  (await p.pc.getStats()).forEach((s) => {
    if (s.type === 'transport') {
      out.transport = {dtlsState: s.dtlsState, srtpCipher: s.srtpCipher,
                       tlsVersion: s.tlsVersion, dtlsRole: s.dtlsRole};
    } else if (s.type === 'inbound-rtp') {
      out.inbound.push({ssrc: s.ssrc, kind: s.kind, packetsReceived: s.packetsReceived,
                        framesDecoded: s.framesDecoded, packetsLost: s.packetsLost});
    } else if (s.type === 'outbound-rtp') {
      out.outbound[s.kind] = {packetsSent: s.packetsSent};
    }
  });
  return out;
}

// For a person: one tile per receive slot, with the participant in it (the
// room says who) and what arrived.
async function show(p) {
  const tiles = document.getElementById('tiles');
  const self = document.createElement('div');
  self.className = 'tile';
  self.innerHTML = '<video autoplay playsinline muted></video><span>you: participant ' + p.id + '</span>';
  self.querySelector('video').srcObject = p.stream;
  tiles.appendChild(self);
  const audios = [];
  for (const slot of p.receive) {
    const tile = document.createElement('div');
    tile.className = 'tile';
    tile.innerHTML = '<video autoplay playsinline muted></video><audio autoplay></audio><span></span>';
    tile.querySelector('video').srcObject = new MediaStream([slot.video.receiver.track]);
    tile.querySelector('audio').srcObject = new MediaStream([slot.audio.receiver.track]);
    audios.push(tile.querySelector('audio'));
    slot.label = tile.querySelector('span');
    tiles.appendChild(tile);
  }
  document.body.addEventListener('click', () => audios.forEach((a) => a.play().catch(() => {})));
  setInterval(async () => {
    if (p.pc.connectionState === 'closed') return;
    const room = JSON.parse(await (await fetch('/room')).text());
    const me = room.participants.find((x) => x.id === p.id);
    const mine = await stats(p);
    p.receive.forEach((slot, i) => {
      const s = me && me.slots[i];
      const got = (ssrc) => mine.inbound.find((x) => x.ssrc === ssrc) || {};
      slot.label.textContent = !s || !s.source ? 'slot ' + i + ': free'
          : 'participant ' + s.source + ': audio ' + (got(s.audio_ssrc).packetsReceived || 0) +
            ' pkts, video ' + (got(s.video_ssrc).packetsReceived || 0) + ' pkts, ' +
            (got(s.video_ssrc).framesDecoded || 0) + ' frames';
    });
    document.getElementById('room').textContent = room.participants.map((x) =>
        'participant ' + x.id + (x.ended ? ' (' + x.ended + ')' : x.open ? '' : ' (connecting)') +
        ': sent us audio ' + x.rtp_in.audio + ' video ' + x.rtp_in.video +
        ', got audio ' + x.rtp_out.audio + ' video ' + x.rtp_out.video +
        ', keyframe requests ' + x.keyframe_requests_in).join('\n');
  }, 1000);
  const button = document.getElementById('leave');
  button.disabled = false;
  button.onclick = async () => { button.disabled = true; await leave(p); };
  window.addEventListener('pagehide', () => {
    if (p.pc.connectionState !== 'closed') navigator.sendBeacon('/leave?id=' + p.id, '');
  });
}

(async () => {
  try {
    const page = Number(new URLSearchParams(location.search).get('page') || 0);
    const config = JSON.parse(await (await fetch('/config?page=' + page)).text());
    const media = () => navigator.mediaDevices.getUserMedia(
        {audio: true, video: {width: 320, height: 240}});
    if (!config.auto) {
      await show(await join(await media(), config.slots));
      return;
    }
    // The test: N participants in this page; then the last page's last one
    // leaves and a newcomer joins, taking the slots it freed. Each phase's
    // stats come with the room's view of who is in which slot at that
    // moment. With several browsers (pages), each step waits for every page
    // (the room's barrier), so that all measure the same phase.
    const barrier = async (step) => {
      while (!JSON.parse(await post('/barrier?page=' + page + '&step=' + step, '')).go)
        await sleep(0.1);
    };
    const camera = await media();
    const clone = () => new MediaStream(camera.getTracks().map((t) => t.clone()));
    const phase = async (ps) => {
      const room = JSON.parse(await (await fetch('/room')).text());
      const seen = [];
      for (const p of ps) seen.push(await stats(p));
      return {room, participants: seen};
    };
    // Held by the window: once this script has reported nothing else refers
    // to the peer connections, and one collected then would close (a
    // close_notify) while the other pages are still measuring.
    const ps = window.participants = [];
    for (let i = 0; i < config.participants; i++) ps.push(await join(clone(), config.slots));
    await barrier(1);
    await sleep(config.seconds);
    const all = await phase(ps);
    await barrier(2);
    let leaver = null, newcomer = null;
    if (page === config.pages - 1) {
      leaver = ps.pop();
      await leave(leaver);
      newcomer = await join(clone(), config.slots);
      ps.push(newcomer);
    }
    await barrier(3);
    await sleep(config.seconds);
    const after = await phase(ps);
    await post('/result?page=' + page, JSON.stringify(
        {engine: navigator.userAgent, all, after,
         left: leaver && leaver.id, joined: newcomer && newcomer.id}));
    log('done');
  } catch (e) {
    log('error: ' + e);
    fetch('/error', {method: 'POST', body: String((e && e.stack) || e)});
  }
})();
</script></body></html>
)HTML";

namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The participants as a JSON array: the page's live view, and the report.
std::string participants_json(const std::vector<sfu::ParticipantInfo>& all) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < all.size(); ++i) {
    const sfu::ParticipantInfo& p = all[i];
    const auto& c = p.counters;
    o << (i ? "," : "") << "{\"id\":" << p.id
      << ",\"open\":" << (p.open ? "true" : "false")
      << ",\"ended\":" << json_string(p.ended)
      << ",\"protocol\":" << json_string(p.protocol)
      << ",\"srtp_profile\":" << json_string(p.srtp_profile) << ",\"slots\":[";
    for (size_t s = 0; s < p.slots.size(); ++s) {
      const sfu::SlotInfo& slot = p.slots[s];
      o << (s ? "," : "") << "{\"audio_ssrc\":" << slot.ssrc[sfu::kAudio]
        << ",\"video_ssrc\":" << slot.ssrc[sfu::kVideo]
        << ",\"source\":" << slot.source
        << ",\"last_source\":" << slot.last_source << "}";
    }
    o << "],\"rtp_in\":{\"audio\":" << c.rtp_in[sfu::kAudio]
      << ",\"video\":" << c.rtp_in[sfu::kVideo]
      << "},\"rtp_out\":{\"audio\":" << c.rtp_out[sfu::kAudio]
      << ",\"video\":" << c.rtp_out[sfu::kVideo]
      << "},\"rtp_refused\":{\"audio\":" << c.rtp_refused[sfu::kAudio]
      << ",\"video\":" << c.rtp_refused[sfu::kVideo]
      << "},\"rtp_other\":" << c.rtp_other
      << ",\"rtp_unrouted\":" << c.rtp_unrouted << ",\"rtcp_in\":" << c.rtcp_in
      << ",\"rtcp_dropped\":" << c.rtcp_dropped
      << ",\"keyframe_requests_in\":" << c.keyframe_requests_in
      << ",\"keyframe_requests_out\":" << c.keyframe_requests_out
      << ",\"keyframe_requests_unmapped\":" << c.keyframe_requests_unmapped
      << ",\"srtp\":{\"rtp_protected\":" << p.stats.media.rtp_packets_protected
      << ",\"rtcp_protected\":" << p.stats.media.rtcp_packets_protected
      << ",\"protect_failures\":" << p.stats.media.protect_failures
      << ",\"rtp_unprotected\":" << p.stats.media.rtp_packets_unprotected
      << ",\"auth_failures\":" << p.stats.media.auth_failures
      << ",\"replay_failures\":" << p.stats.media.replay_failures << "}}";
  }
  o << "]";
  return o.str();
}

class SfuRun {
 public:
  SfuRun(uv_loop_t* loop, std::ostream& out, std::ostream& err)
      : loop_(loop), out_(out), err_(err) {}
  int run(const std::vector<std::string>& args);

 private:
  Status parse(const std::vector<std::string>& args);
  Status start();
  HttpResponse handle(const HttpRequest& r);
  void launch_browser();
  void progress();
  void finish(std::string error);
  void report() const;

  uv_loop_t* loop_;
  std::ostream& out_;
  std::ostream& err_;
  std::uint16_t http_port_ = 0;
  std::uint16_t media_port_ = 0;
  int max_participants_ = 6;
  std::vector<int> participants_ = {3};  // per browser
  int seconds_ = 4;
  int timeout_ = 0;  // 0: the default for the mode
  // One headless browser: its page runs `participants` peer connections.
  struct Browser {
    SfuRun* run = nullptr;
    std::string path;
    int participants = 0;
    uv_process_t process{};
    bool running = false;
    std::filesystem::path work_dir;  // profile, HOME and browser.log
    std::string result;              // its page's report, once posted
  };
  std::vector<std::unique_ptr<Browser>> browsers_;
  std::map<int, std::set<int>> barrier_;  // step: the pages that reached it
  bool json_ = false;
  std::unique_ptr<sfu::Room> room_;
  HttpServer* http_ = nullptr;
  uv_timer_t timer_{};
  uv_timer_t deadline_{};
  uv_signal_t sigint_{};
  std::optional<std::string> result_;  // "" when all went well
  // Taken when the run ends, before the room closes its sessions.
  std::string participants_json_;
  sfu::RoomCounters counters_;
  EndpointStats endpoint_stats_;
  std::string browser_json_;
  int ticks_ = 0;
};

Status SfuRun::parse(const std::vector<std::string>& args) {
  bool participants_given = false, seconds_given = false;
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
        size_t used = 0;
        out = std::stoi(*v, &used);
        if (used != v->size()) out = lo - 1;
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
    int port = 0;
    if (a == "--port") {
      st = number(0, 65535, port);
      http_port_ = static_cast<std::uint16_t>(port);
    } else if (a == "--media-port") {
      st = number(0, 65535, port);
      media_port_ = static_cast<std::uint16_t>(port);
    } else if (a == "--max-participants") {
      st = number(2, 16, max_participants_);
    } else if (a == "--participants") {
      auto v = value();
      if (!v.ok()) return v.error();
      participants_.clear();
      std::stringstream list(*v);
      for (std::string n; std::getline(list, n, ',');) {
        int count = 0;
        try {
          size_t used = 0;
          count = std::stoi(n, &used);
          if (used != n.size()) count = 0;
        } catch (...) {
        }
        if (count < 1 || count > 16) {
          return make_error(
              "ERR_OUT_OF_RANGE",
              "--participants takes counts of 1..16 ('" + *v + "')");
        }
        participants_.push_back(count);
      }
      participants_given = true;
    } else if (a == "--seconds") {
      st = number(1, 600, seconds_);
      seconds_given = true;
    } else if (a == "--timeout") {
      st = number(5, 86400, timeout_);
    } else if (a == "--browser") {
      auto v = value();
      if (!v.ok()) return v.error();
      browsers_.push_back(std::make_unique<Browser>());
      browsers_.back()->run = this;
      browsers_.back()->path = *v;
    } else if (a == "--json") {
      json_ = true;
    } else {
      return make_error("ERR_INVALID_ARG_VALUE", "unknown option " + a);
    }
    if (!st.ok()) return st;
  }
  if (browsers_.empty() && (participants_given || seconds_given)) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "--participants and --seconds need --browser (by hand, "
                      "each browser window is a participant)");
  }
  if (!browsers_.empty()) {
    if (!participants_given && browsers_.size() > 1) {
      return make_error("ERR_INVALID_ARG_VALUE",
                        "with several --browser, --participants gives each "
                        "one's count (e.g. 2,1)");
    }
    if (participants_.size() != browsers_.size()) {
      return make_error("ERR_INVALID_ARG_VALUE",
                        "--participants needs one count per --browser");
    }
    int total = 0;
    for (size_t i = 0; i < browsers_.size(); ++i) {
      browsers_[i]->participants = participants_[i];
      total += participants_[i];
    }
    if (total < 2) {
      return make_error("ERR_OUT_OF_RANGE",
                        "--participants must add up to at least 2");
    }
    if (total > max_participants_) {
      return make_error("ERR_OUT_OF_RANGE",
                        "--participants must be at most --max-participants (" +
                            std::to_string(max_participants_) + ")");
    }
  }
  if (timeout_ == 0) timeout_ = browsers_.empty() ? 3600 : 90;
  return {};
}

Status SfuRun::start() {
  sfu::RoomOptions o;
  o.port = media_port_;
  o.max_participants = static_cast<size_t>(max_participants_);
  auto room = sfu::Room::create(loop_, o);
  if (!room.ok()) return room.error();
  room_ = std::move(room).value();
  auto http =
      HttpServer::start(loop_, "127.0.0.1", http_port_,
                        [this](const HttpRequest& r) { return handle(r); });
  if (!http.ok()) return http.error();
  http_ = *http;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<SfuRun*>(t->data)->progress(); },
      1000, 1000);
  uv_timer_init(loop_, &deadline_);
  deadline_.data = this;
  uv_timer_start(
      &deadline_,
      [](uv_timer_t* t) {
        auto* self = static_cast<SfuRun*>(t->data);
        // By hand the deadline is just the end of the session.
        self->finish(self->browsers_.empty()
                         ? ""
                         : "ERR_TIMEOUT: the page did not report in time");
      },
      static_cast<std::uint64_t>(timeout_) * 1000, 0);
  // Ctrl-C ends the room cleanly: close_notify to every participant.
  uv_signal_init(loop_, &sigint_);
  sigint_.data = this;
  uv_signal_start(
      &sigint_,
      [](uv_signal_t* s, int) { static_cast<SfuRun*>(s->data)->finish(""); },
      SIGINT);
  return {};
}

HttpResponse SfuRun::handle(const HttpRequest& r) {
  if (r.method == "GET" && (r.path == "/" || r.path == "/index.html"))
    return {200, "text/html; charset=utf-8", kSfuPage};
  // The page of browser `page=N` (the URL each was started with).
  int page = 0;
  try {
    page = std::stoi(query_value(r.query, "page"));
  } catch (...) {
  }
  if (page < 0 ||
      static_cast<size_t>(page) >= std::max<size_t>(browsers_.size(), 1))
    return {400, "text/plain", "no such page"};
  if (r.method == "GET" && r.path == "/config") {
    return {200, "application/json",
            std::string("{\"auto\":") + (browsers_.empty() ? "false" : "true") +
                ",\"participants\":" +
                std::to_string(
                    browsers_.empty()
                        ? 1
                        : browsers_[static_cast<size_t>(page)]->participants) +
                ",\"page\":" + std::to_string(page) +
                ",\"pages\":" + std::to_string(browsers_.size()) +
                ",\"seconds\":" + std::to_string(seconds_) +
                ",\"slots\":" + std::to_string(max_participants_ - 1) + "}"};
  }
  if (r.method == "GET" && r.path == "/room")
    return {
        200, "application/json",
        "{\"participants\":" + participants_json(room_->participants()) + "}"};
  if (r.method != "POST") return {404, "text/plain", "not found"};
  if (r.path == "/join") {
    auto joined = room_->join(r.body);
    if (!joined.ok()) {
      err_ << "sfu: a join was refused: " << joined.error().to_string() << "\n";
      return {400, "text/plain", joined.error().to_string()};
    }
    err_ << "sfu: participant " << joined->id << " joined\n";
    return {200, "application/json",
            "{\"id\":" + std::to_string(joined->id) +
                ",\"answer\":" + json_string(joined->answer) + "}"};
  }
  if (r.path == "/leave") {
    std::uint64_t id = 0;
    try {
      id = std::stoull(query_value(r.query, "id"));
    } catch (...) {
    }
    Status s = room_->leave(id);
    if (!s.ok()) return {400, "text/plain", s.error().to_string()};
    err_ << "sfu: participant " << id << " left\n";
    return {200, "text/plain", "ok"};
  }
  if (r.path == "/barrier" && !browsers_.empty()) {
    std::set<int>& there =
        barrier_[std::atoi(query_value(r.query, "step").c_str())];
    there.insert(page);
    return {
        200, "application/json",
        there.size() == browsers_.size() ? "{\"go\":true}" : "{\"go\":false}"};
  }
  if (r.path == "/result" && !browsers_.empty()) {
    browsers_[static_cast<size_t>(page)]->result = r.body;
    std::string all;
    for (const auto& b : browsers_) {
      if (b->result.empty()) return {200, "text/plain", "ok"};
      all += (all.empty() ? "" : ",") + b->result;
    }
    // One browser: its page's report as it is; several: the list of them.
    browser_json_ = browsers_.size() == 1 ? all : "[" + all + "]";
    finish("");
    return {200, "text/plain", "ok"};
  }
  if (r.path == "/error") {
    finish("ERR_BROWSER: the page failed: " + r.body);
    return {200, "text/plain", "ok"};
  }
  return {404, "text/plain", "not found"};
}

void SfuRun::launch_browser() {
  for (size_t i = 0; i < browsers_.size(); ++i) {
    Browser& b = *browsers_[i];
    auto kind = detect_browser(b.path, 10000);
    if (!kind.ok()) {
      finish(kind.error().to_string());
      return;
    }
    const std::string url =
        "http://127.0.0.1:" + std::to_string(http_->port()) +
        "/?page=" + std::to_string(i);
    auto launch = prepare_browser_launch(*kind, b.path, url);
    if (!launch.ok()) {
      finish(launch.error().to_string());
      return;
    }
    b.work_dir = launch->work_dir;
    b.process.data = &b;
    const int r = spawn_browser(
        loop_, &b.process, *launch,
        [](uv_process_t* p, int64_t status, int signal) {
          auto* b = static_cast<Browser*>(p->data);
          b->running = false;
          uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
          if (!b->run->result_) {
            b->run->finish("ERR_BROWSER: " + b->path + " exited (status " +
                           std::to_string(status) + ", signal " +
                           std::to_string(signal) + ") before reporting");
          }
        });
    if (r != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&b.process), nullptr);
      finish("ERR_BROWSER: cannot start " + b.path + ": " + uv_strerror(r));
      return;
    }
    b.running = true;
    err_ << "sfu: started " << launch->name << " " << b.path << " (pid "
         << b.process.pid << ") on " << url << "\n";
  }
}

// Live counts, one line per participant, for a person watching the room.
void SfuRun::progress() {
  ++ticks_;
  for (const sfu::ParticipantInfo& p : room_->participants()) {
    if (!p.present) continue;
    const auto& c = p.counters;
    err_ << "sfu: " << ticks_ << " s participant " << p.id << " ("
         << (p.open ? p.srtp_profile : std::string("connecting"))
         << "): sent us audio " << c.rtp_in[sfu::kAudio] << " video "
         << c.rtp_in[sfu::kVideo] << ", forwarded to it audio "
         << c.rtp_out[sfu::kAudio] << " video " << c.rtp_out[sfu::kVideo]
         << ", keyframe requests " << c.keyframe_requests_in << "\n";
  }
}

void SfuRun::finish(std::string error) {
  if (result_) return;
  result_ = std::move(error);
  participants_json_ = participants_json(room_->participants());
  counters_ = room_->counters();
  endpoint_stats_ = room_->endpoint().stats();
  uv_timer_stop(&timer_);
  uv_timer_stop(&deadline_);
  room_->close();
  if (http_) http_->close();
  http_ = nullptr;
  for (const auto& b : browsers_) {
    // The whole group: the browser's renderer, GPU and content processes
    // too.
    if (b->running) uv_kill(-b->process.pid, SIGKILL);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
}

void SfuRun::report() const {
  const auto& c = counters_;
  if (json_) {
    out_ << "{\"ok\":" << (result_->empty() ? "true" : "false")
         << ",\"error\":" << json_string(*result_)
         << ",\"room\":{\"fanout_calls\":" << c.fanout_calls
         << ",\"fanout_sent\":" << c.fanout_sent
         << ",\"fanout_failed\":" << c.fanout_failed
         << ",\"first_failure\":" << json_string(c.first_failure)
         << ",\"keyframe_requests_sent\":" << c.keyframe_requests_sent
         << ",\"keyframe_request_failures\":" << c.keyframe_request_failures
         << ",\"send_errors\":" << endpoint_stats_.send_errors
         << ",\"send_queue_drops\":" << endpoint_stats_.send_queue_drops
         << "},\"participants\":" << participants_json_
         << ",\"browser\":" << (browser_json_.empty() ? "null" : browser_json_)
         << "}\n";
    return;
  }
  out_ << "sfu: forwarded " << c.fanout_sent << " packets in " << c.fanout_calls
       << " fan-out sends (" << c.fanout_failed
       << " refused), keyframe requests sent " << c.keyframe_requests_sent
       << "; endpoint send errors " << endpoint_stats_.send_errors << "\n"
       << "participants: " << participants_json_ << "\n";
  if (!browser_json_.empty()) out_ << "browser: " << browser_json_ << "\n";
  if (!result_->empty()) out_ << *result_ << "\n";
}

int SfuRun::run(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      out_ << kSfuUsage;
      return 0;
    }
  }
  if (Status s = parse(args); !s.ok()) {
    err_ << s.error().to_string() << "\n" << kSfuUsage;
    return 2;
  }
  if (Status s = start(); !s.ok()) {
    err_ << s.error().to_string() << "\n";
    if (room_) room_->close();
    if (http_) http_->close();
    uv_run(loop_, UV_RUN_DEFAULT);
    return 1;
  }
  const std::string url =
      "http://127.0.0.1:" + std::to_string(http_->port()) + "/";
  if (browsers_.empty()) {
    out_ << "open " << url << " in browser windows, one per participant (up "
         << "to " << max_participants_
         << "; media on udp 127.0.0.1:" << room_->endpoint().address().port
         << "); Ctrl-C ends the room\n"
         << std::flush;
  } else {
    launch_browser();
  }
  uv_run(loop_, UV_RUN_DEFAULT);
  for (const auto& b : browsers_) {
    std::error_code ec;
    if (!b->work_dir.empty()) std::filesystem::remove_all(b->work_dir, ec);
  }
  report();
  return result_ && result_->empty() ? 0 : 1;
}

}  // namespace

int run_sfu_command(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int rc;
  {
    SfuRun run(&loop, out, err);
    rc = run.run(args);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}

}  // namespace dtls::tools

#include "tools/sfu_room.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/testing/alloc_counter.h"
#include "tests/testing/ice_check.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls_api_test_support.h"
#include "transport/ice/sdp.h"

namespace dtls::tools::sfu {
namespace {

using Bytes = std::vector<std::uint8_t>;
using testing_support::pem;

Bytes rtp(int pt, std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts,
          size_t payload = 100) {
  Bytes p = {0x80, static_cast<std::uint8_t>(pt),
             static_cast<std::uint8_t>(seq >> 8),
             static_cast<std::uint8_t>(seq)};
  for (std::uint32_t v : {ts, ssrc})
    for (int shift = 24; shift >= 0; shift -= 8)
      p.push_back(static_cast<std::uint8_t>(v >> shift));
  for (size_t i = 0; i < payload; ++i)
    p.push_back(static_cast<std::uint8_t>(seq + i));
  return p;
}

std::uint16_t seq_of(const Bytes& p) {
  return static_cast<std::uint16_t>(p[2] << 8 | p[3]);
}
std::uint32_t u32(const Bytes& p, size_t at) {
  return static_cast<std::uint32_t>(p[at]) << 24 | p[at + 1] << 16 |
         p[at + 2] << 8 | p[at + 3];
}

// --- Slot streams: what each receiver sees of a slot ----------------------

TEST(SfuSlotStream, RewritesSsrcAndPayloadTypeAndKeepsTheFirstSourcesNumbers) {
  SlotStream s(0x10000102, 120, 90000);
  const RtpRewrite a = s.next(0xAAAA, 500, 9000, 0);
  EXPECT_EQ(a.ssrc, 0x10000102u);
  EXPECT_EQ(a.payload_type, 120);
  EXPECT_EQ(a.sequence, 500);
  EXPECT_EQ(a.timestamp, 9000u);
  EXPECT_EQ(s.next(0xAAAA, 501, 12000, 33).sequence, 501);
}

TEST(SfuSlotStream, ANewSourceContinuesTheReceiversNumbering) {
  SlotStream s(7, 96, 90000);
  for (std::uint16_t i = 0; i < 5; ++i) s.next(0xAAAA, 65533 + i, 1000, 100);
  // 65533..65537 wrapped: the last sent is 1. Another publisher arrives 500
  // ms later in this slot.
  s.switch_source();
  RtpRewrite r = s.next(0xBBBB, 40000, 777777, 600);
  EXPECT_EQ(r.sequence, 2);
  EXPECT_EQ(r.timestamp, 1000u + 45000u);  // 500 ms at 90 kHz
  EXPECT_EQ(s.next(0xBBBB, 40001, 780777, 633).sequence, 3);
  EXPECT_EQ(s.next(0xBBBB, 40001, 780777, 633).timestamp, 1000u + 48000u);
  // A publisher that restarts under a new SSRC is a new source too, and a
  // switch within a millisecond still steps one 20 ms frame.
  r = s.next(0xCCCC, 3, 5, 633);
  EXPECT_EQ(r.sequence, 4);
  EXPECT_EQ(r.timestamp, 1000u + 48000u + 1800u);
}

TEST(SfuSlotStream, ReorderedPacketsKeepTheirPlace) {
  SlotStream s(7, 96, 48000);
  s.next(1, 10, 0, 0);
  s.next(1, 12, 1920, 40);
  EXPECT_EQ(s.next(1, 11, 960, 41).sequence, 11);  // late, in between
  s.switch_source();
  // Continues after 12, the highest sent, not after the late 11.
  EXPECT_EQ(s.next(2, 100, 0, 41).sequence, 13);
}

// --- RTCP: keyframe requests in, mapped requests out ----------------------

TEST(SfuRtcp, FindsPliAndFirAmongOtherFeedbackAndSkipsTheRest) {
  Bytes compound = {0x80, 201, 0, 1, 0, 0, 0, 9};  // RR, no blocks
  std::array<std::uint8_t, 32> buf;
  size_t n = write_keyframe_request({false, 9, 0x10000103, 0}, buf);
  ASSERT_EQ(n, 20u);
  compound.insert(compound.end(), buf.begin() + 8, buf.begin() + n);  // PLI
  Bytes nack = {0x81, 205, 0, 3, 0, 0, 0, 9, 0x10, 0, 1, 3, 0, 5, 0, 0};
  compound.insert(compound.end(), nack.begin(), nack.end());
  // A FIR naming two streams.
  Bytes fir = {0x84, 206, 0, 6, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0,
               0,    5,   7, 0, 0, 0, 0, 0, 0, 6, 8, 0, 0, 0};
  compound.insert(compound.end(), fir.begin(), fir.end());
  std::array<KeyframeRequest, 8> out;
  size_t skipped = 0;
  ASSERT_EQ(read_keyframe_requests(compound, out, &skipped), 3u);
  EXPECT_EQ(skipped, 2u);  // the RR and the NACK
  EXPECT_FALSE(out[0].fir);
  EXPECT_EQ(out[0].sender_ssrc, 9u);
  EXPECT_EQ(out[0].media_ssrc, 0x10000103u);
  EXPECT_TRUE(out[1].fir);
  EXPECT_EQ(out[1].media_ssrc, 5u);
  EXPECT_EQ(out[1].fir_seq, 7);
  EXPECT_EQ(out[2].media_ssrc, 6u);
  EXPECT_EQ(out[2].fir_seq, 8);
  // No room for both FIR entries: the one left over counts as skipped.
  skipped = 0;
  EXPECT_EQ(read_keyframe_requests(compound, std::span(out).first(2), &skipped),
            2u);
  EXPECT_EQ(skipped, 3u);
  // A length past the end stops the walk; what came before counts.
  compound[compound.size() - fir.size() + 3] = 60;
  skipped = 0;
  EXPECT_EQ(read_keyframe_requests(compound, out, &skipped), 1u);
  EXPECT_EQ(skipped, 2u);
  // Not RTCP version 2 at all.
  skipped = 0;
  EXPECT_EQ(
      read_keyframe_requests(Bytes{0x00, 201, 0, 1, 0, 0, 0, 0}, out, &skipped),
      0u);
}

TEST(SfuRtcp, WritesARequestThatReadsBack) {
  for (bool fir : {false, true}) {
    const KeyframeRequest want{fir, 0x11223344, 0x55667788, 42};
    std::array<std::uint8_t, 32> buf;
    const size_t n = write_keyframe_request(want, buf);
    ASSERT_EQ(n, fir ? 28u : 20u);
    std::array<KeyframeRequest, 2> got;
    size_t skipped = 0;
    ASSERT_EQ(read_keyframe_requests(std::span(buf).first(n), got, &skipped),
              1u);
    EXPECT_EQ(skipped, 1u);  // the leading empty RR
    EXPECT_EQ(got[0].fir, fir);
    EXPECT_EQ(got[0].sender_ssrc, want.sender_ssrc);
    EXPECT_EQ(got[0].media_ssrc, want.media_ssrc);
    if (fir) {
      EXPECT_EQ(got[0].fir_seq, 42);
    }
    EXPECT_EQ(write_keyframe_request(want, std::span(buf).first(n - 1)), 0u);
  }
}

// --- The room, with participants that are browsers minus the browser -------

// An offer as the room's page makes it: camera and microphone sent, `slots`
// recvonly audio+video pairs, our certificate 1. The receive lines use other
// payload types than the send lines, as another browser might.
std::string offer(const std::string& ufrag, int slots,
                  const std::string& video_codec = "VP8",
                  int extra_audio_lines = 0, bool second_camera = false) {
  std::string o =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "a=ice-ufrag:" +
      ufrag +
      "\r\na=ice-pwd:0123456789abcdef012345\r\n"
      "a=fingerprint:" +
      pem(1).fingerprint + "\r\na=setup:actpass\r\n";
  int mid = 0;
  auto line = [&](const char* kind, int pt, const std::string& codec,
                  const char* direction) {
    o += std::string("m=") + kind + " 9 UDP/TLS/RTP/SAVPF " +
         std::to_string(pt) +
         "\r\nc=IN IP4 0.0.0.0\r\na=mid:" + std::to_string(mid++) +
         "\r\na=" + direction +
         "\r\na=rtcp-mux\r\na=rtpmap:" + std::to_string(pt) + " " + codec +
         "\r\n";
  };
  line("audio", 111, "opus/48000/2", "sendonly");
  line("video", 96, video_codec + "/90000", "sendonly");
  if (second_camera) line("video", 96, "VP8/90000", "sendonly");
  for (int i = 0; i < slots; ++i) {
    line("audio", 109, "opus/48000/2", "recvonly");
    line("video", 120, "VP8/90000", "recvonly");
  }
  for (int i = 0; i < extra_audio_lines; ++i)
    line("audio", 109, "opus/48000/2", "recvonly");
  return o;
}

// One participant: joins with an offer, sends one ICE check from the port
// its DTLS client then binds (the check validates that address, as a
// browser's does), and keeps what it receives.
struct Peer {
  std::uint64_t id = 0;
  std::string answer;
  Session client;
  std::map<std::uint32_t, std::vector<Bytes>> rtp;  // by SSRC
  std::vector<Bytes> rtcp;
  bool keep = true;  // false: only count (the allocation test)
  long rtp_count = 0, rtcp_count = 0;
};

void join(uv_loop_t* loop, Room& room, Peer& peer, const std::string& ufrag,
          int slots) {
  auto joined = room.join(offer(ufrag, slots));
  ASSERT_TRUE(joined.ok()) << joined.error().to_string();
  peer.id = joined->id;
  peer.answer = joined->answer;
  auto answer = sdp::parse(peer.answer);
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  const IceCredentials ours = answer->transport_ice();
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::uint16_t port = ntohs(a.sin_port);
  sockaddr_in to = a;
  to.sin_port = htons(room.endpoint().address().port);
  const Bytes check = testing::ice_check(ours.ufrag + ":" + ufrag, ours.pwd,
                                         /*use_candidate=*/true);
  ASSERT_EQ(sendto(fd, check.data(), check.size(), 0,
                   reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            static_cast<ssize_t>(check.size()));
  close(fd);
  ConnectOptions co;
  co.cert = pem(1).cert;
  co.key = pem(1).key;
  co.fingerprints = {answer->transport_fingerprints()[0].to_sdp()};
  co.srtp = "SRTP_AEAD_AES_128_GCM";
  co.bind_host = "127.0.0.1";
  co.bind_port = port;
  SessionListener l;
  l.on_rtp = [&peer](Session&, std::span<const std::uint8_t> p) {
    ++peer.rtp_count;
    if (peer.keep) {
      Bytes packet(p.begin(), p.end());
      peer.rtp[u32(packet, 8)].push_back(std::move(packet));
    }
  };
  l.on_rtcp = [&peer](Session&, std::span<const std::uint8_t> p) {
    ++peer.rtcp_count;
    if (peer.keep) peer.rtcp.emplace_back(p.begin(), p.end());
  };
  auto client =
      connect(loop, "127.0.0.1", room.endpoint().address().port, co, l);
  ASSERT_TRUE(client.ok()) << client.error().to_string();
  peer.client = *client;
}

const ParticipantInfo* info(const std::vector<ParticipantInfo>& all,
                            std::uint64_t id) {
  for (const ParticipantInfo& i : all)
    if (i.id == id) return &i;
  return nullptr;
}

// The slot of `receiver` that carries `source`.
const SlotInfo* slot_for(Room& room, std::uint64_t receiver,
                         std::uint64_t source) {
  static std::vector<ParticipantInfo> all;
  all = room.participants();
  const ParticipantInfo* r = info(all, receiver);
  if (r == nullptr) return nullptr;
  for (const SlotInfo& s : r->slots)
    if (s.last_source == source) return &s;
  return nullptr;
}

bool all_open(Room& room, std::initializer_list<Peer*> peers) {
  const auto all = room.participants();
  for (Peer* p : peers) {
    const ParticipantInfo* i = info(all, p->id);
    if (i == nullptr || !i->open || !testing_support::ready(p->client.opened()))
      return false;
  }
  return true;
}

std::vector<KeyframeRequest> requests_in(const std::vector<Bytes>& rtcp) {
  std::vector<KeyframeRequest> all;
  for (const Bytes& p : rtcp) {
    std::array<KeyframeRequest, 8> got;
    size_t skipped = 0;
    const size_t n = read_keyframe_requests(p, got, &skipped);
    all.insert(all.end(), got.begin(), got.begin() + n);
  }
  return all;
}

struct RoomTest : ::testing::Test {
  testing::UvTestLoop loop;
  std::unique_ptr<Room> room;

  void make_room(size_t max_participants) {
    RoomOptions o;
    o.cert = pem(0).cert;
    o.key = pem(0).key;
    o.max_participants = max_participants;
    auto r = Room::create(loop.get(), o);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    room = std::move(r).value();
  }
  void TearDown() override {
    if (!room) return;
    room->close();
    auto closed = room->closed();
    EXPECT_TRUE(loop.run_until([&] { return testing_support::ready(closed); }));
    room.reset();
  }
};

TEST_F(RoomTest, TheAnswerGivesEachSlotAnSsrcOfOurs) {
  make_room(4);
  // Three pairs of receive lines, and a fourth audio one with no video
  // beside it: three slots, and the lone line is answered inactive.
  auto joined = room->join(offer("peerA", 3, "VP8", 1));
  ASSERT_TRUE(joined.ok()) << joined.error().to_string();
  EXPECT_EQ(joined->id, 1u);
  auto answer = sdp::parse(joined->answer);
  ASSERT_TRUE(answer.ok());
  ASSERT_EQ(answer->media.size(), 9u);
  EXPECT_EQ(answer->media[0].direction, "recvonly");  // its microphone
  EXPECT_EQ(answer->media[1].direction, "recvonly");  // its camera
  const auto all = room->participants();
  ASSERT_EQ(all.size(), 1u);
  ASSERT_EQ(all[0].slots.size(), 3u);
  for (size_t s = 0; s < 3; ++s) {
    for (int k = 0; k < kKinds; ++k) {
      const sdp::Media& m = answer->media[2 + s * 2 + static_cast<size_t>(k)];
      EXPECT_EQ(m.direction, "sendonly");
      EXPECT_EQ(all[0].slots[s].payload_type[k], k == kAudio ? 109 : 120);
      EXPECT_NE(joined->answer.find("a=mid:" + m.mid + "\r\n"),
                std::string::npos);
      const std::string ssrc_line =
          "a=ssrc:" + std::to_string(all[0].slots[s].ssrc[k]) + " ";
      EXPECT_NE(joined->answer.find(ssrc_line), std::string::npos) << ssrc_line;
    }
    EXPECT_EQ(all[0].slots[s].source, 0u);  // nobody else yet
  }
  EXPECT_EQ(answer->media[8].direction, "inactive");
  // Every slot SSRC is distinct.
  std::set<std::uint32_t> ssrcs;
  for (const SlotInfo& s : all[0].slots)
    ssrcs.insert(s.ssrc.begin(), s.ssrc.end());
  EXPECT_EQ(ssrcs.size(), 6u);
  // A second participant fills a slot of the first's, and gets one.
  auto second = room->join(offer("peerB", 3));
  ASSERT_TRUE(second.ok());
  const auto now = room->participants();
  EXPECT_EQ(now[0].slots[0].source, second->id);
  EXPECT_EQ(now[1].slots[0].source, joined->id);
  EXPECT_EQ(now[1].slots[1].source, 0u);
  EXPECT_NE(now[0].slots[0].ssrc[kVideo], now[1].slots[0].ssrc[kVideo]);
  EXPECT_NE(joined->answer.find("a=setup:passive"), std::string::npos);
  // An offer that insists on a=setup:passive leaves us the DTLS client.
  std::string passive = offer("peerC", 1);
  passive.replace(passive.find("a=setup:actpass"), 15, "a=setup:passive");
  auto third = room->join(passive);
  ASSERT_TRUE(third.ok()) << third.error().to_string();
  EXPECT_NE(third->answer.find("a=setup:active"), std::string::npos);
}

TEST_F(RoomTest, OffersThatDoNotFitAreRefusedWithCodes) {
  make_room(2);
  EXPECT_EQ(room->join("not sdp").error().code, "ERR_SDP_INVALID");
  EXPECT_EQ(room->join(offer("peerA", 1, "H264")).error().code,
            "ERR_SFU_CODEC");
  EXPECT_EQ(room->join(offer("peerA", 1, "VP8", 0, true)).error().code,
            "ERR_SFU_OFFER");
  std::string datachannel_only = offer("peerA", 0);
  datachannel_only =
      datachannel_only.substr(0, datachannel_only.find("m=")) +
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
  EXPECT_EQ(room->join(datachannel_only).error().code, "ERR_SFU_OFFER");
  ASSERT_TRUE(room->join(offer("peerA", 1)).ok());
  ASSERT_TRUE(room->join(offer("peerB", 1)).ok());
  EXPECT_EQ(room->join(offer("peerC", 1)).error().code, "ERR_SFU_ROOM_FULL");
  EXPECT_EQ(room->leave(99).error().code, "ERR_SFU_UNKNOWN_PARTICIPANT");
  // Leaving twice: the second time it is gone.
  EXPECT_TRUE(room->leave(1).ok());
  EXPECT_EQ(room->leave(1).error().code, "ERR_SFU_UNKNOWN_PARTICIPANT");
  RoomOptions one;
  one.max_participants = 1;
  EXPECT_EQ(Room::create(loop.get(), one).error().code,
            "ERR_INVALID_ARG_VALUE");
}

// An offer as Firefox makes one after renegotiation: its BUNDLE group, a
// receive pair it has stopped (port 0, other payload types), then the live
// pair (the video line listing red before VP8), a data channel, and a
// receive line outside the group. The answer accepts only the live lines;
// the room must count exactly those, or every SSRC after the stopped pair
// lands on the wrong m-line.
std::string renegotiated_offer(const std::string& ufrag,
                               const std::string& send_video = "96") {
  std::string o =
      "v=0\r\no=- 1 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "a=group:BUNDLE 0 1 4 5 6\r\na=ice-ufrag:" +
      ufrag +
      "\r\na=ice-pwd:0123456789abcdef012345\r\n"
      "a=fingerprint:" +
      pem(1).fingerprint + "\r\na=setup:actpass\r\n";
  auto line = [&](const char* kind, int port, const std::string& mid,
                  const std::string& pts, const std::string& rtpmaps,
                  const char* direction) {
    o += std::string("m=") + kind + " " + std::to_string(port) +
         " UDP/TLS/RTP/SAVPF " + pts + "\r\nc=IN IP4 0.0.0.0\r\na=mid:" + mid +
         "\r\na=" + direction + "\r\na=rtcp-mux\r\n" + rtpmaps;
  };
  line("audio", 9, "0", "111", "a=rtpmap:111 opus/48000/2\r\n", "sendonly");
  if (send_video == "96") {
    line("video", 9, "1", "96", "a=rtpmap:96 VP8/90000\r\n", "sendonly");
  } else {
    // A camera line whose first media codec, past rtx, is not VP8.
    line("video", 9, "1", "97 126",
         "a=rtpmap:97 rtx/90000\r\na=rtpmap:126 " + send_video + "/90000\r\n",
         "sendonly");
  }
  line("audio", 0, "2", "110", "a=rtpmap:110 opus/48000/2\r\n", "recvonly");
  line("video", 0, "3", "121", "a=rtpmap:121 VP8/90000\r\n", "recvonly");
  line("audio", 9, "4", "109", "a=rtpmap:109 opus/48000/2\r\n", "recvonly");
  line("video", 9, "5", "122 120",
       "a=rtpmap:122 red/90000\r\na=rtpmap:120 VP8/90000\r\n", "recvonly");
  o += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
       "c=IN IP4 0.0.0.0\r\na=mid:6\r\na=sctp-port:5000\r\n";
  line("audio", 9, "7", "108", "a=rtpmap:108 opus/48000/2\r\n", "recvonly");
  return o;
}

TEST_F(RoomTest, SlotsFollowTheLinesTheAnswerAccepts) {
  make_room(4);
  auto joined = room->join(renegotiated_offer("peerA"));
  ASSERT_TRUE(joined.ok()) << joined.error().to_string();
  auto answer = sdp::parse(joined->answer);
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  ASSERT_EQ(answer->media.size(), 8u);
  // One slot: the live pair, with the payload types of its lines (VP8's,
  // not red's).
  const auto all = room->participants();
  ASSERT_EQ(all.size(), 1u);
  ASSERT_EQ(all[0].slots.size(), 1u);
  EXPECT_EQ(all[0].slots[0].payload_type[kAudio], 109);
  EXPECT_EQ(all[0].slots[0].payload_type[kVideo], 120);
  // The slot's SSRCs are on the live lines, and only there.
  for (size_t i = 0; i < answer->media.size(); ++i) {
    const sdp::Media& m = answer->media[i];
    std::vector<std::uint32_t> want;
    if (m.mid == "4") want = {all[0].slots[0].ssrc[kAudio]};
    if (m.mid == "5") want = {all[0].slots[0].ssrc[kVideo]};
    std::vector<std::uint32_t> got;
    for (const sdp::Ssrc& s : m.ssrcs) got.push_back(s.ssrc);
    EXPECT_EQ(got, want) << "mid " << m.mid;
    const bool live =
        m.mid == "0" || m.mid == "1" || m.mid == "4" || m.mid == "5";
    EXPECT_EQ(m.port != 0, live) << "mid " << m.mid;
  }
  EXPECT_NE(joined->answer.find("a=rtpmap:120 VP8/90000"), std::string::npos);
  // The codec rule looks past rtx too, and still refuses what is not VP8.
  EXPECT_EQ(room->join(renegotiated_offer("peerB", "H264")).error().code,
            "ERR_SFU_CODEC");
  EXPECT_TRUE(room->join(renegotiated_offer("peerC", "VP8")).ok());
}

TEST_F(RoomTest,
       EveryoneReceivesEveryoneElseRewrittenAndKeyframeRequestsGoBack) {
  make_room(4);
  Peer a, b, c;
  join(loop.get(), *room, a, "peerA", 3);
  join(loop.get(), *room, b, "peerB", 3);
  join(loop.get(), *room, c, "peerC", 3);
  ASSERT_TRUE(loop.run_until([&] { return all_open(*room, {&a, &b, &c}); }));
  // Each publishes five audio and five video packets.
  std::map<std::uint64_t, std::uint32_t> audio_ssrc, video_ssrc;
  for (Peer* p : {&a, &b, &c}) {
    audio_ssrc[p->id] = 0xA0000000u + static_cast<std::uint32_t>(p->id);
    video_ssrc[p->id] = 0xB0000000u + static_cast<std::uint32_t>(p->id);
    for (std::uint16_t i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          p->client
              .send_rtp(rtp(111, audio_ssrc[p->id],
                            static_cast<std::uint16_t>(1000 + i), 960u * i))
              .ok());
      ASSERT_TRUE(
          p->client
              .send_rtp(rtp(96, video_ssrc[p->id],
                            static_cast<std::uint16_t>(2000 + i), 3000u * i))
              .ok());
    }
  }
  ASSERT_TRUE(loop.run_until([&] {
    return a.rtp_count == 20 && b.rtp_count == 20 && c.rtp_count == 20;
  }));
  for (Peer* r : {&a, &b, &c}) {
    EXPECT_EQ(r->rtp.size(), 4u);  // two streams from each of two others
    for (Peer* s : {&a, &b, &c}) {
      if (s == r) continue;
      const SlotInfo* slot = slot_for(*room, r->id, s->id);
      ASSERT_NE(slot, nullptr);
      for (int k = 0; k < kKinds; ++k) {
        const auto& got = r->rtp[slot->ssrc[k]];
        ASSERT_EQ(got.size(), 5u)
            << r->id << " from " << s->id << " kind " << k;
        for (std::uint16_t i = 0; i < 5; ++i) {
          const Bytes& p = got[i];
          EXPECT_EQ(p[1] & 0x7f, k == kAudio ? 109 : 120);
          EXPECT_EQ(seq_of(p), (k == kAudio ? 1000 : 2000) + i);
          EXPECT_EQ(u32(p, 8), slot->ssrc[k]);
          // The payload is the publisher's.
          const Bytes sent = rtp(
              0, 0, static_cast<std::uint16_t>((k == kAudio ? 1000 : 2000) + i),
              0);
          EXPECT_TRUE(std::equal(p.begin() + 12, p.end(), sent.begin() + 12,
                                 sent.end()));
        }
      }
    }
  }
  // Every forwarded packet was protected and sent.
  EXPECT_EQ(room->counters().fanout_sent, 60u);
  EXPECT_EQ(room->counters().fanout_failed, 0u);
  for (const ParticipantInfo& i : room->participants()) {
    // Counted per receiver from the fan-out send's outcomes.
    EXPECT_EQ(i.counters.rtp_out[kAudio] + i.counters.rtp_out[kVideo], 20u);
    EXPECT_EQ(i.counters.rtp_refused[kAudio] + i.counters.rtp_refused[kVideo],
              0u);
    EXPECT_EQ(i.stats.media.rtp_packets_protected, 20u);
    EXPECT_EQ(i.counters.rtp_in[kVideo], 5u);
  }

  // B asks for a keyframe of A's video (the SSRC of its slot), and sends a
  // NACK, which the room drops.
  const SlotInfo* b_of_a = slot_for(*room, b.id, a.id);
  ASSERT_NE(b_of_a, nullptr);
  std::array<std::uint8_t, 32> buf;
  const size_t n =
      write_keyframe_request({false, 0xB5B5B5B5, b_of_a->ssrc[kVideo], 0}, buf);
  ASSERT_TRUE(b.client.send_rtcp(std::span(buf).first(n)).ok());
  const Bytes nack = {0x81, 205, 0, 3, 0xB5, 0xB5, 0xB5, 0xB5,
                      0x10, 0,   1, 3, 0,    5,    0,    0};
  ASSERT_TRUE(b.client.send_rtcp(nack).ok());
  // C asks about an SSRC that is not one of its slots.
  const size_t stray = write_keyframe_request({true, 0xC5, 0x1234, 1}, buf);
  ASSERT_TRUE(c.client.send_rtcp(std::span(buf).first(stray)).ok());
  ASSERT_TRUE(loop.run_until([&] {
    const auto all = room->participants();
    return info(all, b.id)->counters.rtcp_in == 2 &&
           info(all, c.id)->counters.rtcp_in == 1 && a.rtcp_count == 1;
  }));
  const auto requests = requests_in(a.rtcp);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_FALSE(requests[0].fir);
  EXPECT_EQ(requests[0].media_ssrc, video_ssrc[a.id]);  // mapped back
  EXPECT_EQ(requests[0].sender_ssrc, 0xB5B5B5B5u);
  const auto all = room->participants();
  EXPECT_EQ(info(all, b.id)->counters.keyframe_requests_in, 1u);
  EXPECT_EQ(info(all, b.id)->counters.rtcp_dropped, 2u);  // RR, NACK
  EXPECT_EQ(info(all, c.id)->counters.keyframe_requests_unmapped, 1u);
  EXPECT_EQ(info(all, a.id)->counters.keyframe_requests_out, 1u);
  EXPECT_TRUE(b.rtcp.empty());
  EXPECT_TRUE(c.rtcp.empty());
}

TEST_F(RoomTest, OneLeavesCleanlyAndTheOthersKeepReceiving) {
  make_room(4);
  Peer a, b, c;
  join(loop.get(), *room, a, "peerA", 3);
  join(loop.get(), *room, b, "peerB", 3);
  join(loop.get(), *room, c, "peerC", 3);
  ASSERT_TRUE(loop.run_until([&] { return all_open(*room, {&a, &b, &c}); }));
  ASSERT_TRUE(room->leave(c.id).ok());
  // C's session ends with close_notify: both sides see a clean close.
  ASSERT_TRUE(loop.run_until(
      [&] { return testing_support::ready(c.client.closed()); }));
  EXPECT_TRUE(c.client.closed().get().ok());
  ASSERT_TRUE(loop.run_until(
      [&] { return info(room->participants(), c.id)->ended == "closed"; }));
  EXPECT_FALSE(info(room->participants(), c.id)->present);
  for (std::uint16_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(a.client.send_rtp(rtp(96, 0xAA, i, 0)).ok());
    ASSERT_TRUE(b.client.send_rtp(rtp(111, 0xBB, i, 0)).ok());
  }
  ASSERT_TRUE(
      loop.run_until([&] { return a.rtp_count == 5 && b.rtp_count == 5; }));
  EXPECT_EQ(c.rtp_count, 0);
  EXPECT_EQ(room->counters().fanout_sent, 10u);
  EXPECT_EQ(room->counters().fanout_failed, 0u);
  // The slots C had are free again.
  for (const ParticipantInfo& i : room->participants()) {
    if (!i.present) continue;
    for (const SlotInfo& s : i.slots) EXPECT_NE(s.source, c.id);
  }
}

TEST_F(RoomTest, ANewcomerTakesAFreedSlotAndTheStreamContinues) {
  make_room(3);
  Peer a, b, c, d;
  join(loop.get(), *room, a, "peerA", 2);
  join(loop.get(), *room, b, "peerB", 2);
  join(loop.get(), *room, c, "peerC", 2);
  ASSERT_TRUE(loop.run_until([&] { return all_open(*room, {&a, &b, &c}); }));
  // C's video reaches A through A's second slot, numbered as C numbers it.
  for (std::uint16_t i = 0; i < 3; ++i)
    ASSERT_TRUE(
        c.client.send_rtp(rtp(96, 0xCC, 500 + i, 90000 + 3000u * i)).ok());
  ASSERT_TRUE(b.client.send_rtp(rtp(96, 0xBB, 7, 7)).ok());
  ASSERT_TRUE(a.client.send_rtp(rtp(96, 0xAA, 7, 7)).ok());
  ASSERT_TRUE(
      loop.run_until([&] { return a.rtp_count == 4 && b.rtp_count == 4; }));
  const std::uint32_t slot1 = slot_for(*room, a.id, c.id)->ssrc[kVideo];
  ASSERT_TRUE(room->leave(c.id).ok());
  // A newcomer takes the freed slot: its video continues the stream A had.
  join(loop.get(), *room, d, "peerD", 2);
  ASSERT_TRUE(loop.run_until([&] { return all_open(*room, {&a, &b, &d}); }));
  EXPECT_EQ(slot_for(*room, a.id, d.id)->ssrc[kVideo], slot1);
  // D opening asked A and B, who had sent video, for a keyframe: its slots
  // are the senders, the publishers' own SSRCs the media.
  ASSERT_TRUE(
      loop.run_until([&] { return a.rtcp_count == 1 && b.rtcp_count == 1; }));
  EXPECT_EQ(requests_in(a.rtcp).at(0).media_ssrc, 0xAAu);
  EXPECT_EQ(requests_in(a.rtcp).at(0).sender_ssrc,
            slot_for(*room, d.id, a.id)->ssrc[kVideo]);
  EXPECT_EQ(requests_in(b.rtcp).at(0).media_ssrc, 0xBBu);
  EXPECT_EQ(requests_in(b.rtcp).at(0).sender_ssrc,
            slot_for(*room, d.id, b.id)->ssrc[kVideo]);
  for (std::uint16_t i = 0; i < 2; ++i)
    ASSERT_TRUE(
        d.client.send_rtp(rtp(96, 0xDD, 40000 + i, 5 + 3000u * i)).ok());
  ASSERT_TRUE(loop.run_until([&] { return a.rtp_count == 6; }));
  const auto& got = a.rtp[slot1];
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(seq_of(got[3]), 503);
  EXPECT_EQ(seq_of(got[4]), 504);
  // Timestamps step on past C's last (96000) by at least one frame.
  const std::uint32_t step = u32(got[3], 4) - 96000u;
  EXPECT_GE(step, 1800u);
  EXPECT_LT(step, 90000u * 10);
  EXPECT_EQ(u32(got[4], 4) - u32(got[3], 4), 3000u);
  EXPECT_EQ(room->counters().fanout_failed, 0u);
}

// The forwarding path end to end allocates nothing per packet: a publisher's
// packets in, decrypted, rewritten and protected for two receivers, and
// their keyframe requests mapped back.
TEST_F(RoomTest, ForwardingAllocatesNothingPerPacket) {
  if (!testing::counting_allocations()) GTEST_SKIP() << "sanitizer build";
  make_room(3);
  Peer a, b, c;
  join(loop.get(), *room, a, "peerA", 2);
  join(loop.get(), *room, b, "peerB", 2);
  join(loop.get(), *room, c, "peerC", 2);
  ASSERT_TRUE(loop.run_until([&] { return all_open(*room, {&a, &b, &c}); }));
  const std::uint32_t b_slot = slot_for(*room, b.id, a.id)->ssrc[kVideo];
  for (Peer* p : {&a, &b, &c}) p->keep = false;
  Bytes video = rtp(96, 0xAA, 0, 0, 1000);
  std::array<std::uint8_t, 32> pli;
  const size_t pli_size = write_keyframe_request({false, 0xB5, b_slot, 0}, pli);
  auto window = [&](std::uint16_t first) {
    for (std::uint16_t seq = first; seq < first + 50; ++seq) {
      video[2] = static_cast<std::uint8_t>(seq >> 8);
      video[3] = static_cast<std::uint8_t>(seq);
      EXPECT_TRUE(a.client.send_rtp(video).ok());
      if (seq % 10 == 0) {
        EXPECT_TRUE(b.client.send_rtcp(std::span(pli).first(pli_size)).ok());
      }
    }
    struct {
      const long& b;
      const long& c;
      long want;
    } w{b.rtp_count, c.rtp_count, first + 50};
    (void)loop.run_until([&w] { return w.b == w.want && w.c == w.want; },
                         std::chrono::milliseconds(2000));
  };
  window(0);
  window(50);
  const long before = testing::allocation_count();
  for (std::uint16_t first = 100; first < 500; first += 50) window(first);
  const long allocations = testing::allocation_count() - before;
  ASSERT_TRUE(loop.run_until([&] { return a.rtcp_count == 50; }));
  EXPECT_EQ(b.rtp_count, 500);
  EXPECT_EQ(c.rtp_count, 500);
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace dtls::tools::sfu

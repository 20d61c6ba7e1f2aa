#include "transport/ice/sdp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "certs/generate.h"

namespace dtls::sdp {
namespace {

// The shape of a Chromium offer (audio + video, BUNDLE, rtcp-mux, actpass).
constexpr char kOffer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS stream\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hx3b\r\n"
    "a=ice-pwd:sQ1bR0x8FdHx3p2KlY8a9Qz7\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "9F:31:8C:4F:62:11:B2:0A:6D:8E:7C:5A:4B:3C:2D:1E:0F:AA:BB:CC:DD:EE:FF:00:"
    "11:22:33:44:55:66:77:88\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream track-a\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=ssrc:1111 cname:abc\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Hx3b\r\n"
    "a=ice-pwd:sQ1bR0x8FdHx3p2KlY8a9Qz7\r\n"
    "a=fingerprint:sha-256 "
    "9F:31:8C:4F:62:11:B2:0A:6D:8E:7C:5A:4B:3C:2D:1E:0F:AA:BB:CC:DD:EE:FF:00:"
    "11:22:33:44:55:66:77:88\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=sendonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "a=mid:2\r\n";

TEST(SdpTest, ReadsABrowserOffer) {
  auto d = parse(kOffer);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->transport_ice().ufrag, "Hx3b");
  EXPECT_EQ(d->transport_ice().pwd, "sQ1bR0x8FdHx3p2KlY8a9Qz7");
  ASSERT_EQ(d->transport_fingerprints().size(), 1u);
  EXPECT_EQ(d->transport_fingerprints()[0].algorithm(),
            certs::HashAlgorithm::kSha256);
  EXPECT_EQ(d->transport_setup(), Setup::kActpass);
  EXPECT_EQ(d->bundle, (std::vector<std::string>{"0", "1"}));
  EXPECT_FALSE(d->ice_lite);
  ASSERT_EQ(d->media.size(), 3u);
  const Media& audio = d->media[0];
  EXPECT_EQ(audio.kind, "audio");
  EXPECT_EQ(audio.mid, "0");
  EXPECT_TRUE(audio.rtcp_mux);
  EXPECT_EQ(audio.direction, "sendrecv");
  ASSERT_EQ(audio.codecs.size(), 3u);
  EXPECT_EQ(audio.codecs[0].payload_type, 111);
  EXPECT_EQ(audio.codecs[0].name, "opus");
  EXPECT_EQ(audio.codecs[0].clock_rate, 48000);
  EXPECT_EQ(audio.codecs[0].channels, 2);
  EXPECT_EQ(audio.codecs[0].fmtp, "minptime=10;useinbandfec=1");
  EXPECT_EQ(audio.codecs[0].rtcp_fb,
            (std::vector<std::string>{"transport-cc"}));
  const Media& video = d->media[1];
  EXPECT_EQ(video.direction, "sendonly");
  EXPECT_EQ(video.codecs[0].name, "VP8");
  EXPECT_EQ(video.codecs[0].rtcp_fb.size(), 2u);
  EXPECT_EQ(video.codecs[1].fmtp, "apt=96");
  EXPECT_EQ(d->media[2].kind, "application");
  EXPECT_TRUE(d->media[2].codecs.empty());
}

// A browser's offer saved as a test fixture (see BUILD.bazel).
std::string fixture(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return "";
  std::ifstream in(std::string(srcdir) + "/" + workspace +
                   "/transport/ice/testdata/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

AnswerOptions answer_options(Setup setup, std::vector<std::uint32_t> ssrcs) {
  auto creds = certs::generate_certificate().value();
  return {{"ours", "0123456789abcdefghijklmn"},
          certs::Fingerprint::of(creds.leaf(), certs::HashAlgorithm::kSha256),
          setup,
          PeerAddress::parse("127.0.0.1", 40000).value(),
          std::move(ssrcs)};
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos;
       p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

// Firefox ESR 153 (NSS): session-level fingerprint and direction, BUNDLE of
// three mids, candidates for component 2 and TCP ones with port 9, msid with
// braces, extmap (one with a direction) and extmap-allow-mixed per m-line,
// video with an RTX SSRC in a FID group, rtcp-rsize, a data channel m-line.
TEST(SdpTest, ReadsARealFirefoxOffer) {
  const std::string text = fixture("firefox_offer.sdp");
  ASSERT_FALSE(text.empty()) << "fixture missing";
  ASSERT_NE(text.find("o=mozilla"), std::string::npos);
  auto d = parse(text);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->transport_ice().ufrag, "2da58cee");
  EXPECT_EQ(d->transport_ice().pwd, "2457337666b2786a0155cdd2a8f63bcc");
  // Only at session level: no m-line has its own.
  ASSERT_EQ(d->fingerprints.size(), 1u);
  for (const Media& m : d->media) EXPECT_TRUE(m.fingerprints.empty());
  ASSERT_EQ(d->transport_fingerprints().size(), 1u);
  EXPECT_EQ(d->transport_fingerprints()[0].to_sdp(),
            "sha-256 96:82:18:4D:4E:7E:F5:FB:84:93:DB:27:EE:3F:D9:A8:E9:D2:5C:"
            "40:79:07:40:3D:B2:30:F5:93:FA:A0:90:51");
  EXPECT_EQ(d->transport_setup(), Setup::kActpass);
  EXPECT_EQ(d->direction, "sendrecv");
  EXPECT_EQ(d->bundle, (std::vector<std::string>{"0", "1", "2"}));
  ASSERT_EQ(d->media.size(), 3u);

  const Media& audio = d->media[0];
  EXPECT_EQ(audio.kind, "audio");
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.port, 45855);
  EXPECT_TRUE(audio.rtcp_mux);
  EXPECT_FALSE(audio.rtcp_rsize);
  EXPECT_TRUE(audio.extmap_allow_mixed);
  EXPECT_EQ(audio.direction, "sendrecv");
  EXPECT_EQ(audio.msid,
            "{55072b0d-68dd-489c-bfcc-9317ddd2c9da} "
            "{2bb17b45-8547-4967-a529-569a55b3f894}");
  ASSERT_EQ(audio.codecs.size(), 5u);
  EXPECT_EQ(audio.codecs[0].payload_type, 109);
  EXPECT_EQ(audio.codecs[0].name, "opus");
  EXPECT_EQ(audio.codecs[0].channels, 2);
  EXPECT_EQ(audio.codecs[0].fmtp,
            "maxplaybackrate=48000;stereo=1;useinbandfec=1");
  EXPECT_EQ(audio.codecs[4].name, "telephone-event");
  ASSERT_EQ(audio.extmaps.size(), 4u);
  EXPECT_EQ(audio.extmaps[0].id, 1);
  EXPECT_EQ(audio.extmaps[0].uri,
            "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  EXPECT_EQ(audio.extmaps[1].id, 2);
  EXPECT_EQ(audio.extmaps[1].direction, "recvonly");
  EXPECT_EQ(audio.extmaps[2].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
  ASSERT_EQ(audio.ssrcs.size(), 1u);
  EXPECT_EQ(audio.ssrcs[0].ssrc, 4290394463u);
  EXPECT_EQ(audio.ssrcs[0].cname, "{46e76c44-94c9-47ff-8611-a5dbf3b95cfc}");
  // 4 UDP and 4 TCP candidates, each for components 1 and 2.
  ASSERT_EQ(audio.candidates.size(), 16u);
  EXPECT_EQ(audio.candidates[0].address, "127.0.0.1");
  EXPECT_EQ(audio.candidates[0].transport, "udp");
  EXPECT_EQ(audio.candidates[0].component, 1);
  EXPECT_EQ(audio.candidates[0].priority, 2122055935u);
  EXPECT_EQ(audio.candidates[0].type, "host");
  EXPECT_EQ(audio.candidates[1].address, "::1");
  const Candidate& tcp = audio.candidates[4];
  EXPECT_EQ(tcp.transport, "tcp");
  EXPECT_EQ(tcp.port, 9);
  EXPECT_EQ(tcp.tcptype, "active");
  EXPECT_EQ(audio.candidates[8].component, 2);
  EXPECT_EQ(std::count_if(audio.candidates.begin(), audio.candidates.end(),
                          [](const Candidate& c) { return c.component == 2; }),
            8);

  const Media& video = d->media[1];
  EXPECT_EQ(video.mid, "1");
  EXPECT_TRUE(video.rtcp_rsize);
  ASSERT_EQ(video.codecs.size(), 9u);
  EXPECT_EQ(video.codecs[0].payload_type, 120);
  EXPECT_EQ(video.codecs[0].name, "VP8");
  EXPECT_EQ(video.codecs[0].rtcp_fb.size(), 5u);
  EXPECT_EQ(video.codecs[1].name, "rtx");
  EXPECT_EQ(video.codecs[1].fmtp, "apt=120");
  EXPECT_EQ(video.codecs[4].name, "AV1");
  ASSERT_EQ(video.extmaps.size(), 5u);
  EXPECT_EQ(video.extmaps[3].direction, "recvonly");
  ASSERT_EQ(video.ssrcs.size(), 2u);
  ASSERT_EQ(video.ssrc_groups.size(), 1u);
  EXPECT_EQ(video.ssrc_groups[0].semantics, "FID");
  EXPECT_EQ(video.ssrc_groups[0].ssrcs,
            (std::vector<std::uint32_t>{1592092247u, 635113129u}));
  EXPECT_EQ(video.ssrcs[0].ssrc, 1592092247u);

  const Media& data = d->media[2];
  EXPECT_EQ(data.kind, "application");
  EXPECT_EQ(data.protocol, "UDP/DTLS/SCTP");
  EXPECT_EQ(data.formats, (std::vector<std::string>{"webrtc-datachannel"}));
  EXPECT_TRUE(data.codecs.empty());
  EXPECT_EQ(data.candidates.size(), 8u);  // component 1 only
}

TEST(SdpTest, AnswersARealFirefoxOffer) {
  auto offer = parse(fixture("firefox_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  std::vector<const Media*> answered = answered_media(*offer);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[0]->mid, "0");
  EXPECT_EQ(answered[1]->mid, "1");
  EXPECT_EQ(answer_codec(*answered[0])->payload_type, 109);
  EXPECT_EQ(answer_codec(*answered[1])->payload_type, 120);
  for (sdp::Setup setup : {sdp::Setup::kPassive, sdp::Setup::kActive}) {
    auto answer = write_answer(*offer, answer_options(setup, {0xAAAA, 0xBBBB}));
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    const std::string& a = *answer;
    for (const std::string& want : std::vector<std::string>{
             "a=group:BUNDLE 0 1\r\n",
             "m=audio 40000 UDP/TLS/RTP/SAVPF 109\r\n",
             "a=rtpmap:109 opus/48000/2\r\n",
             "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n",
             "m=video 40000 UDP/TLS/RTP/SAVPF 120\r\n",
             "a=rtpmap:120 VP8/90000\r\n", "a=rtcp-fb:120 nack pli\r\n",
             "a=ssrc:43690 cname:dtls-srtp\r\n",
             "a=ssrc:48059 cname:dtls-srtp\r\n",
             std::string("a=setup:") + std::string(to_string(setup)) +
                 "\r\n"}) {
      EXPECT_NE(a.find(want), std::string::npos) << want << "\n" << a;
    }
    // Declined: header extensions, reduced-size RTCP, RTX and the other
    // codecs; and nothing for component 2 (rtcp-mux).
    for (const char* absent :
         {"a=extmap", "a=rtcp-rsize", "rtx/", "VP9", "AV1", "ulpfec", "PCMU",
          "a=ssrc-group", "a=candidate:1 2 ", " tcp "}) {
      EXPECT_EQ(a.find(absent), std::string::npos) << absent << "\n" << a;
    }
    EXPECT_EQ(count(a, "a=rtcp-mux\r\n"), 2u);
    // Firefox rejects an answer with an m-section, even a rejected one,
    // without a c= line.
    EXPECT_EQ(count(a, "m="), 3u);
    EXPECT_EQ(count(a, "c=IN IP4 127.0.0.1\r\n"), 3u) << a;
    EXPECT_NE(a.find("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                     "c=IN IP4 127.0.0.1\r\na=mid:2\r\n"),
              std::string::npos)
        << a;
    EXPECT_EQ(count(a, "a=candidate:"), 2u);
    auto back = parse(a);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->transport_setup(), setup);
    EXPECT_EQ(back->bundle, (std::vector<std::string>{"0", "1"}));
    ASSERT_EQ(back->media.size(), 3u);
    EXPECT_EQ(back->media[2].port, 0);
  }
}

// Chromium 156 (BoringSSL) on the same page: media-level fingerprints, RED
// before the first media codec in neither m-line, a data channel m-line.
TEST(SdpTest, ReadsAndAnswersARealChromiumOffer) {
  auto offer = parse(fixture("chromium_offer.sdp"));
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  EXPECT_TRUE(offer->fingerprints.empty());
  ASSERT_EQ(offer->media.size(), 3u);
  EXPECT_EQ(offer->media[0].fingerprints.size(), 1u);
  EXPECT_EQ(offer->transport_ice().ufrag, "nr83");
  EXPECT_TRUE(offer->extmap_allow_mixed);
  EXPECT_TRUE(offer->media[1].extmap_allow_mixed);  // from session level
  EXPECT_EQ(offer->media[1].ssrc_groups.size(), 1u);
  EXPECT_EQ(offer->media[1].ssrcs.size(), 2u);
  EXPECT_EQ(offer->media[1].ssrcs[1].cname, "k7P9OPXxjaSb0Ty2");
  // "generation 0 network-id 3 network-cost 50" after the type.
  ASSERT_FALSE(offer->media[0].candidates.empty());
  EXPECT_EQ(offer->media[0].candidates[0].type, "host");
  auto answer = write_answer(*offer, answer_options(Setup::kPassive, {1, 2}));
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  for (const char* want :
       {"a=group:BUNDLE 0 1\r\n", "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\n",
        "m=video 40000 UDP/TLS/RTP/SAVPF 96\r\n",
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"}) {
    EXPECT_NE(answer->find(want), std::string::npos) << want << "\n" << *answer;
  }
}

// The attributes Firefox puts at session level apply to every m-line that
// has none of its own.
TEST(SdpTest, SessionLevelDirectionAppliesToMlinesWithoutOne) {
  const std::string head =
      "v=0\r\na=sendonly\r\na=extmap-allow-mixed\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
      "a=fingerprint:sha-256 "
      "9F:31:8C:4F:62:11:B2:0A:6D:8E:7C:5A:4B:3C:2D:1E:0F:AA:BB:CC:DD:EE:FF:00:"
      "11:22:33:44:55:66:77:88\r\n"
      "a=group:BUNDLE a v\r\n";
  auto d = parse(head +
                 "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\n"
                 "a=rtpmap:111 opus/48000/2\r\n"
                 "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=inactive\r\n"
                 "a=rtpmap:96 VP8/90000\r\n");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->media[0].direction, "sendonly");
  EXPECT_EQ(d->media[1].direction, "inactive");
  EXPECT_TRUE(d->media[1].extmap_allow_mixed);
  auto a = write_answer(*d, answer_options(Setup::kPassive, {7, 8}));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(count(*a, "a=recvonly\r\n"), 1u) << *a;
  EXPECT_EQ(count(*a, "a=inactive\r\n"), 1u) << *a;
}

TEST(SdpTest, AnswersWithTheFirstMediaCodecNotRtxRedOrFec) {
  const std::string head =
      "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
      "a=fingerprint:sha-256 "
      "9F:31:8C:4F:62:11:B2:0A:6D:8E:7C:5A:4B:3C:2D:1E:0F:AA:BB:CC:DD:EE:FF:00:"
      "11:22:33:44:55:66:77:88\r\n"
      "a=group:BUNDLE 0 1\r\n";
  auto d =
      parse(head +
            "m=video 9 UDP/TLS/RTP/SAVPF 97 122 123 96\r\na=mid:0\r\n"
            "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
            "a=rtpmap:122 red/90000\r\na=rtpmap:123 ulpfec/90000\r\n"
            "a=rtpmap:96 VP8/90000\r\n"
            "m=audio 9 UDP/TLS/RTP/SAVPF 101 13\r\na=mid:1\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=rtpmap:13 CN/8000\r\n");
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_NE(answer_codec(d->media[0]), nullptr);
  EXPECT_EQ(answer_codec(d->media[0])->payload_type, 96);
  EXPECT_EQ(answer_codec(d->media[1]), nullptr);
  auto a = write_answer(*d, answer_options(Setup::kPassive, {7}));
  ASSERT_TRUE(a.ok());
  EXPECT_NE(a->find("m=video 40000 UDP/TLS/RTP/SAVPF 96\r\n"),
            std::string::npos);
  // An m-line with no codec of its own is rejected, and leaves the group.
  EXPECT_NE(a->find("m=audio 0 UDP/TLS/RTP/SAVPF 101 13\r\n"),
            std::string::npos);
  EXPECT_NE(a->find("a=group:BUNDLE 0\r\n"), std::string::npos) << *a;
}

TEST(SdpTest, OneTransportAnswersOnlyBundledMedia) {
  const std::string head =
      "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
      "a=fingerprint:sha-256 "
      "9F:31:8C:4F:62:11:B2:0A:6D:8E:7C:5A:4B:3C:2D:1E:0F:AA:BB:CC:DD:EE:FF:00:"
      "11:22:33:44:55:66:77:88\r\n";
  auto m = [](const char* kind, int port, const char* mid) {
    return std::string("m=") + kind + " " + std::to_string(port) +
           " UDP/TLS/RTP/SAVPF 96\r\na=mid:" + mid +
           "\r\na=rtpmap:96 VP8/90000\r\n";
  };
  auto mids = [](const Description& d) {
    std::vector<std::string> out;
    for (const Media* x : answered_media(d)) out.push_back(x->mid);
    return out;
  };
  // Outside the first group, in a second group, or disabled by port 0.
  auto d = parse(head + "a=group:BUNDLE a c d\r\na=group:BUNDLE b\r\n" +
                 m("video", 9, "a") + m("video", 9, "b") + m("video", 9, "c") +
                 m("video", 0, "d") + m("video", 9, "e"));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->bundle, (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(mids(*d), (std::vector<std::string>{"a", "c"}));
  auto a = write_answer(*d, answer_options(Setup::kPassive, {1, 2}));
  ASSERT_TRUE(a.ok());
  EXPECT_NE(a->find("a=group:BUNDLE a c\r\n"), std::string::npos) << *a;
  EXPECT_EQ(count(*a, "m=video 0 "), 3u) << *a;
  // RFC 8843 §6: port 0 with a=bundle-only is part of the bundle.
  auto only = parse(head + "a=group:BUNDLE a d\r\n" + m("video", 9, "a") +
                    m("video", 0, "d") + "a=bundle-only\r\n");
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(mids(*only), (std::vector<std::string>{"a", "d"}));
  // No group: every m-line, bundled by the answer onto the one transport.
  auto none = parse(head + m("audio", 9, "x") + m("video", 9, "y"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(mids(*none), (std::vector<std::string>{"x", "y"}));
  auto b = write_answer(*none, answer_options(Setup::kActive, {1, 2}));
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->find("a=group:BUNDLE x y\r\n"), std::string::npos) << *b;
}

TEST(SdpTest, WritesAnIceLiteAnswerTheOfferCanTake) {
  auto offer = parse(kOffer).value();
  auto creds = certs::generate_certificate().value();
  auto fp = certs::Fingerprint::of(creds.leaf(), certs::HashAlgorithm::kSha256);
  AnswerOptions opts{{"ours", "0123456789abcdefghijklmn"},
                     fp,
                     Setup::kPassive,
                     PeerAddress::parse("127.0.0.1", 40000).value(),
                     {0xAAAA, 0xBBBB}};
  auto answer = write_answer(offer, opts);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  const std::string& a = *answer;
  for (const char* want :
       {"a=ice-lite\r\n", "a=group:BUNDLE 0 1\r\n",
        "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\n",
        "m=video 40000 UDP/TLS/RTP/SAVPF 96\r\n",
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "a=setup:passive\r\n", "a=ice-ufrag:ours\r\n",
        "a=rtpmap:111 opus/48000/2\r\n",
        "a=fmtp:111 minptime=10;useinbandfec=1\r\n",
        "a=rtcp-fb:96 nack pli\r\n", "a=ssrc:43690 cname:dtls-srtp\r\n",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n",
        "a=sendrecv\r\n",
        // The offer's video is sendonly: the answer only receives it.
        "a=recvonly\r\n"}) {
    EXPECT_NE(a.find(want), std::string::npos) << want << "\n" << a;
  }
  EXPECT_EQ(a.find("a=ssrc:48059"), std::string::npos);  // recvonly video
  // The answer reads back with our values.
  auto back = parse(a);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->ice_lite);
  EXPECT_EQ(back->transport_ice().ufrag, "ours");
  EXPECT_EQ(back->transport_setup(), Setup::kPassive);
  EXPECT_EQ(back->transport_fingerprints()[0], fp);
}

TEST(SdpTest, AnswerRolesFollowTheOffer) {
  auto offer = parse(kOffer).value();
  auto creds = certs::generate_certificate().value();
  AnswerOptions opts{
      {"ours", "0123456789abcdefghijklmn"},
      certs::Fingerprint::of(creds.leaf(), certs::HashAlgorithm::kSha256),
      Setup::kActive,
      PeerAddress::parse("::1", 40000).value(),
      {},
      "x"};
  auto active = write_answer(offer, opts);
  ASSERT_TRUE(active.ok());
  EXPECT_NE(active->find("a=setup:active"), std::string::npos);
  EXPECT_NE(active->find("c=IN IP6 ::1"), std::string::npos);
  opts.setup = Setup::kActpass;
  EXPECT_EQ(write_answer(offer, opts).error().code, "ERR_INVALID_ARG_VALUE");
  // An offer that is itself active leaves us only passive.
  std::string active_offer = kOffer;
  for (size_t p;
       (p = active_offer.find("a=setup:actpass")) != std::string::npos;) {
    active_offer.replace(p, 15, "a=setup:active");
  }
  auto d = parse(active_offer).value();
  opts.setup = Setup::kActive;
  EXPECT_EQ(write_answer(d, opts).error().code, "ERR_INVALID_ARG_VALUE");
  opts.setup = Setup::kPassive;
  EXPECT_TRUE(write_answer(d, opts).ok());
}

TEST(SdpTest, RefusesIncompleteOrMalformedOffers) {
  struct Case {
    const char* what;
    std::string text;
    const char* code;
  };
  const std::string fp =
      "a=fingerprint:sha-256 "
      "9F:31:8C:4F:62:11:B2:0A:6D:8E:7C:5A:4B:3C:2D:1E:0F:AA:BB:CC:DD:EE:FF:00:"
      "11:22:33:44:55:66:77:88\r\n";
  const std::string ice =
      "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n";
  const std::string m = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
  const Case cases[] = {
      {"empty", "", "ERR_SDP_INVALID"},
      {"no m-line", "v=0\r\n" + ice + fp, "ERR_SDP_INVALID"},
      {"no ice", "v=0\r\n" + fp + m, "ERR_SDP_INVALID"},
      {"no fingerprint", "v=0\r\n" + ice + m, "ERR_SDP_INVALID"},
      {"short pwd", "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:x\r\n" + fp + m,
       "ERR_SDP_INVALID"},
      {"bad line", "v=0\r\nhello\r\n", "ERR_SDP_INVALID"},
      {"bad m-line", "v=0\r\nm=audio\r\n", "ERR_SDP_INVALID"},
      {"bad port", "v=0\r\nm=audio 70000 RTP/AVP 0\r\n", "ERR_SDP_INVALID"},
      {"bad setup", "v=0\r\na=setup:sideways\r\n", "ERR_SDP_INVALID"},
      {"bad fingerprint", "v=0\r\na=fingerprint:sha-256 zz\r\n",
       "ERR_SDP_FINGERPRINT_INVALID"},
  };
  for (const Case& c : cases) {
    auto d = parse(c.text);
    ASSERT_FALSE(d.ok()) << c.what;
    EXPECT_EQ(d.error().code, c.code) << c.what << ": " << d.error().message;
  }
  // Session-level values count when the m-lines have none.
  auto ok = parse("v=0\n" + ice + fp + m);  // LF-only line ends too
  EXPECT_TRUE(ok.ok()) << ok.error().message;
  // Each of these lines alone spoils that valid offer, and is named.
  const char* bad_lines[] = {
      "a=candidate:0 1 UDP 2122055935 127.0.0.1 5000",
      "a=candidate:0 1 UDP 2122055935 127.0.0.1 5000 type host",
      "a=candidate:0 1 UDP 2122055935 127.0.0.1 65536 typ host",
      "a=candidate:0 0 UDP 2122055935 127.0.0.1 5000 typ host",
      "a=candidate:0 1 UDP 4294967296 127.0.0.1 5000 typ host",
      "a=extmap:0 urn:x",
      "a=extmap:256 urn:x",
      "a=extmap:3",
      "a=extmap:3/sideways urn:x",
      "a=ssrc:-1 cname:x",
      "a=ssrc:4294967296 cname:x",
      "a=ssrc-group:FID",
      "a=ssrc-group:FID 1 two",
  };
  for (const char* line : bad_lines) {
    auto d = parse("v=0\r\n" + ice + fp + m + line + "\r\n");
    ASSERT_FALSE(d.ok()) << line;
    EXPECT_EQ(d.error().code, "ERR_SDP_INVALID") << line;
    EXPECT_NE(d.error().message.find(line), std::string::npos)
        << d.error().message;
  }
}

}  // namespace
}  // namespace dtls::sdp

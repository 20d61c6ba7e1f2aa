#include "transport/ice/sdp.h"

#include <gtest/gtest.h>

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
}

}  // namespace
}  // namespace dtls::sdp

#include "srtp/srtp_context.h"

#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <random>

#include "srtp/key_limit_testing.h"
#include "srtp/libsrtp_policy.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/srtp_reference.h"

namespace dtls::srtp {
namespace {

using testing::Bytes;
using testing::from_hex;
using testing::to_hex;

// ---- The reference itself against the RFCs' vectors.

// RFC 3711 Appendix B.3: key derivation.
TEST(SrtpReference, Rfc3711B3KeyDerivation) {
  Bytes key = from_hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  Bytes salt = from_hex("0EC675AD498AFEEBB6960B3AABE6");
  EXPECT_EQ(to_hex(testing::srtp_kdf(key, salt, testing::kRtpEncryption, 16)),
            "c61e7a93744f39ee10734afe3ff7a087");
  EXPECT_EQ(to_hex(testing::srtp_kdf(key, salt, testing::kRtpSalt, 14)),
            "30cbbc08863d8c85d49db34a9ae1");
  EXPECT_EQ(to_hex(testing::srtp_kdf(key, salt, testing::kRtpAuth, 20)),
            "cebe321f6ff7716b6fd4ab49af256a156d38baa4");
}

// RFC 3711 Appendix B.2: the AES-CM keystream.
TEST(SrtpReference, Rfc3711B2Keystream) {
  Bytes ks = testing::aes_cm_keystream(
      from_hex("2B7E151628AED2A6ABF7158809CF4F3C"),
      from_hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"), 0, 0, 48);
  EXPECT_EQ(to_hex(ks),
            "e03ead0935c95e80e166b16dd92b4eb4"
            "d23513162b02d0f72a43a2fe4a5f97ab"
            "41e95b3bb0a2e8dd477901e4fca894c0");
}

// RFC 7714 §16.1.1 and §16.2.1: AEAD_AES_128_GCM and AEAD_AES_256_GCM RTP.
TEST(SrtpReference, Rfc7714GcmVectors) {
  Bytes header = from_hex("8040f17b8041f8d35501a0b2");
  Bytes payload = from_hex(
      "47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074"
      "726573");
  Bytes salt = from_hex("517569642070726f2071756f");
  Bytes iv = testing::gcm_rtp_iv(salt, 0x5501a0b2, 0, 0xf17b);
  EXPECT_EQ(to_hex(iv), "51753c6580c2726f20718414");
  EXPECT_EQ(
      to_hex(testing::aes_gcm_seal(from_hex("000102030405060708090a0b0c0d0e0f"),
                                   iv, header, payload)),
      "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b"
      "36de3adf8833899d7f27beb16a9152cf765ee4390cce");
  EXPECT_EQ(to_hex(testing::aes_gcm_seal(
                from_hex("000102030405060708090a0b0c0d0e0f10111213141516171819"
                         "1a1b1c1d1e1f"),
                iv, header, payload)),
            "32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f"
            "1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13");
}

// ---- Our objects.

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

SecretBytes secret(const Bytes& b) { return {b.begin(), b.end()}; }
// The reference takes plain vectors.
Bytes bytes_of(const SecretBytes& s) { return {s.begin(), s.end()}; }

SrtpKeys keys_with_client(Profile p, const Bytes& client_key,
                          const Bytes& client_salt, std::mt19937& rng) {
  const ProfileInfo& i = profile_info(p);
  SrtpKeys k;
  k.profile = p;
  k.client_key = secret(client_key);
  k.client_salt = secret(client_salt);
  k.server_key = secret(random_bytes(rng, i.key_length));
  k.server_salt = secret(random_bytes(rng, i.salt_length));
  return k;
}

SrtpKeys random_keys(Profile p, std::mt19937& rng) {
  const ProfileInfo& i = profile_info(p);
  return keys_with_client(p, random_bytes(rng, i.key_length),
                          random_bytes(rng, i.salt_length), rng);
}

std::unique_ptr<SrtpContext> context(const SrtpKeys& k, Side side,
                                     ContextOptions o = {}) {
  auto c = SrtpContext::create(k, side, o);
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return std::move(c).value();
}

Bytes rtp_packet(std::uint32_t ssrc, std::uint16_t seq, size_t payload) {
  return testing::make_rtp(ssrc, seq, payload);
}

Bytes rtcp_packet(std::uint32_t ssrc) { return testing::make_rtcp(ssrc); }

// Protects a copy of `packet`; the result is the wire bytes.
Bytes protect(SrtpContext& c, const Bytes& packet, bool rtcp = false) {
  Bytes buf = packet;
  buf.resize(packet.size() + kMaxTrailer);
  PacketResult r = rtcp ? c.protect_rtcp(buf, packet.size())
                        : c.protect_rtp(buf, packet.size());
  EXPECT_TRUE(r.ok()) << packet_status_code(r.status);
  buf.resize(r.length);
  return buf;
}

PacketResult unprotect(SrtpContext& c, Bytes& wire, bool rtcp = false) {
  return rtcp ? c.unprotect_rtcp(wire) : c.unprotect_rtp(wire);
}

// RFC 3711 B.3's master key makes libsrtp derive B.3's session keys; the
// packet it protects must be B.2-style AES-CM keystream XOR payload, tagged
// with HMAC-SHA1 over header || ciphertext || ROC (RFC 3711 §4.2), computed
// here independently with the RFC's session keys.
TEST(SrtpContext, AesCmMatchesAnIndependentComputation) {
  std::mt19937 rng(1);
  const Bytes master_key = from_hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const Bytes master_salt = from_hex("0EC675AD498AFEEBB6960B3AABE6");
  const Bytes session_key = from_hex("C61E7A93744F39EE10734AFE3FF7A087");
  const Bytes session_salt = from_hex("30CBBC08863D8C85D49DB34A9AE1");
  const Bytes auth_key = from_hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAes128CmSha1_32}) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    auto client = context(keys_with_client(p, master_key, master_salt, rng),
                          Side::kClient);
    for (std::uint16_t seq : {std::uint16_t{0x1234}, std::uint16_t{0x1235}}) {
      const std::uint32_t ssrc = 0xcafebabe;
      Bytes plain = rtp_packet(ssrc, seq, 160);
      Bytes wire = protect(*client, plain);
      const size_t tag = profile_info(p).rtp_tag_length;
      ASSERT_EQ(wire.size(), plain.size() + tag);
      Bytes ks = testing::aes_cm_keystream(session_key, session_salt, ssrc, seq,
                                           plain.size() - 12);
      Bytes expected(plain.begin(), plain.begin() + 12);
      for (size_t i = 12; i < plain.size(); ++i)
        expected.push_back(plain[i] ^ ks[i - 12]);
      Bytes authenticated = expected;
      for (int i = 0; i < 4; ++i) authenticated.push_back(0);  // ROC 0
      Bytes mac = testing::hmac_sha1(auth_key, authenticated);
      expected.insert(expected.end(), mac.begin(), mac.begin() + tag);
      EXPECT_EQ(to_hex(wire), to_hex(expected));
    }
  }
}

// SRTCP (RFC 3711 §3.4, §4.3.2 labels 3-5): everything after the first 8
// bytes encrypted, then E || SRTCP index, then the tag over all of it.
TEST(SrtpContext, SrtcpMatchesAnIndependentComputation) {
  std::mt19937 rng(2);
  auto keys = random_keys(Profile::kAes128CmSha1_80, rng);
  auto client = context(keys, Side::kClient);
  const std::uint32_t ssrc = 0x01020304;
  Bytes plain = rtcp_packet(ssrc);
  Bytes wire = protect(*client, plain, /*rtcp=*/true);
  ASSERT_EQ(wire.size(), plain.size() + 4 + 10);
  const size_t trailer_at = plain.size();
  ASSERT_EQ(wire[trailer_at] & 0x80, 0x80);  // E: encrypted
  std::uint32_t index = ((wire[trailer_at] & 0x7fu) << 24) |
                        (wire[trailer_at + 1] << 16) |
                        (wire[trailer_at + 2] << 8) | wire[trailer_at + 3];
  Bytes key =
      testing::srtp_kdf(bytes_of(keys.client_key), bytes_of(keys.client_salt),
                        testing::kRtcpEncryption, 16);
  Bytes salt =
      testing::srtp_kdf(bytes_of(keys.client_key), bytes_of(keys.client_salt),
                        testing::kRtcpSalt, 14);
  Bytes auth =
      testing::srtp_kdf(bytes_of(keys.client_key), bytes_of(keys.client_salt),
                        testing::kRtcpAuth, 20);
  Bytes ks =
      testing::aes_cm_keystream(key, salt, ssrc, index, plain.size() - 8);
  Bytes expected(plain.begin(), plain.begin() + 8);
  for (size_t i = 8; i < plain.size(); ++i)
    expected.push_back(plain[i] ^ ks[i - 8]);
  expected.insert(expected.end(), wire.begin() + trailer_at,
                  wire.begin() + trailer_at + 4);
  Bytes mac = testing::hmac_sha1(auth, expected);
  expected.insert(expected.end(), mac.begin(), mac.begin() + 10);
  EXPECT_EQ(to_hex(wire), to_hex(expected));
}

// AEAD profiles (RFC 7714): session keys from the RFC 3711 KDF, AES-GCM with
// the §8.1 IV and the header as associated data.
TEST(SrtpContext, AeadGcmMatchesAnIndependentComputation) {
  std::mt19937 rng(3);
  for (Profile p : {Profile::kAeadAes128Gcm, Profile::kAeadAes256Gcm}) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    const ProfileInfo& info = profile_info(p);
    auto keys = random_keys(p, rng);
    auto client = context(keys, Side::kClient);
    const std::uint32_t ssrc = 0x5501a0b2;
    const std::uint16_t seq = 0xf17b;
    Bytes plain = rtp_packet(ssrc, seq, 38);
    Bytes wire = protect(*client, plain);
    Bytes session_key =
        testing::srtp_kdf(bytes_of(keys.client_key), bytes_of(keys.client_salt),
                          testing::kRtpEncryption, info.key_length);
    Bytes session_salt =
        testing::srtp_kdf(bytes_of(keys.client_key), bytes_of(keys.client_salt),
                          testing::kRtpSalt, 12);
    Bytes header(plain.begin(), plain.begin() + 12);
    Bytes payload(plain.begin() + 12, plain.end());
    Bytes expected = header;
    Bytes sealed = testing::aes_gcm_seal(
        session_key, testing::gcm_rtp_iv(session_salt, ssrc, 0, seq), header,
        payload);
    expected.insert(expected.end(), sealed.begin(), sealed.end());
    EXPECT_EQ(to_hex(wire), to_hex(expected));
  }
}

// Both directions, every profile, RTP and RTCP, several SSRCs nobody
// announced.
TEST(SrtpContext, RoundTripsEveryProfileBothWays) {
  std::mt19937 rng(4);
  for (const ProfileInfo& info : all_profiles()) {
    SCOPED_TRACE(std::string(info.name));
    auto keys = random_keys(info.profile, rng);
    auto client = context(keys, Side::kClient);
    auto server = context(keys, Side::kServer);
    for (std::uint32_t ssrc : {1u, 0x12345678u, 0xffffffffu}) {
      for (std::uint16_t seq = 65530; seq != 5; ++seq) {  // wraps: ROC 1
        for (auto* pair : {&client, &server}) {
          SrtpContext& from = **pair;
          SrtpContext& to = pair == &client ? *server : *client;
          Bytes plain = rtp_packet(ssrc, seq, 200);
          Bytes wire = protect(from, plain);
          EXPECT_NE(Bytes(wire.begin() + 12, wire.begin() + 40),
                    Bytes(plain.begin() + 12, plain.begin() + 40));
          PacketResult r = unprotect(to, wire);
          ASSERT_TRUE(r.ok()) << packet_status_code(r.status);
          wire.resize(r.length);
          EXPECT_EQ(wire, plain);
        }
      }
      Bytes rtcp = rtcp_packet(ssrc);
      Bytes wire = protect(*server, rtcp, true);
      PacketResult r = unprotect(*client, wire, true);
      ASSERT_TRUE(r.ok()) << packet_status_code(r.status);
      wire.resize(r.length);
      EXPECT_EQ(wire, rtcp);
    }
    EXPECT_EQ(client->counters().rtp_packets_protected, 3u * 11u);
    EXPECT_EQ(server->counters().rtp_packets_unprotected, 3u * 11u);
    EXPECT_EQ(server->counters().rtp_bytes_unprotected, 3u * 11u * 212u);
    EXPECT_EQ(client->counters().rtcp_packets_unprotected, 3u);
    EXPECT_EQ(client->counters().auth_failures, 0u);
  }
}

// A fan-out fetches what protect_rtp() reads ahead of it, step by step, on
// contexts in every state: before the cipher starts, with several streams,
// at steps out of range. The packets and counters are the same as a context's
// that was never asked, and the sender's list of lines is kept (empty before
// the first packet, then longer with each new stream while it has room, not
// with packets).
TEST(SrtpContext, FetchingAheadChangesNothing) {
  std::mt19937 rng(11);
  for (const ProfileInfo& info : all_profiles()) {
    SCOPED_TRACE(std::string(info.name));
    const SrtpKeys keys = random_keys(info.profile, rng);
    auto fetched = context(keys, Side::kServer);
    auto plain = context(keys, Side::kServer);
    auto fetch_all = [&] {
      for (int step = -1; step <= SrtpContext::kProtectPrefetchSteps + 1;
           ++step) {
        fetched->prefetch_protect_rtp(step);
      }
    };
    fetch_all();  // nothing started yet
    const FetchList& lines = SrtpContextTesting::protect_lines(*fetched);
    EXPECT_EQ(lines.size(), 0u);
    size_t listed = 0;
    for (std::uint16_t seq = 65533; seq != 3; ++seq) {  // wraps: ROC 1
      for (std::uint32_t ssrc = 1; ssrc <= 6; ++ssrc) {
        const Bytes packet = rtp_packet(ssrc, seq, 100 + ssrc);
        fetch_all();
        ASSERT_EQ(protect(*fetched, packet), protect(*plain, packet));
        // New streams come in the first round only; the first few find
        // room (how many lines each takes depends on where it lies).
        if (seq == 65533) {
          if (ssrc <= 3) {
            EXPECT_GT(lines.size(), listed);
          }
          listed = lines.size();
        }
        EXPECT_EQ(lines.size(), listed);
      }
    }
    fetch_all();
    EXPECT_EQ(fetched->counters().rtp_packets_protected, 6u * 6u);
    EXPECT_EQ(fetched->counters().rtp_bytes_protected,
              plain->counters().rtp_bytes_protected);
    EXPECT_EQ(fetched->counters().protect_failures, 0u);
  }
}

// Tampered, replayed, truncated and malformed packets are refused, counted by
// kind, and leave the context working.
TEST(SrtpContext, RejectsAndCountsBadPackets) {
  std::mt19937 rng(5);
  for (const ProfileInfo& info : all_profiles()) {
    SCOPED_TRACE(std::string(info.name));
    auto keys = random_keys(info.profile, rng);
    auto client = context(keys, Side::kClient);
    auto server = context(keys, Side::kServer);
    Bytes good = protect(*client, rtp_packet(7, 100, 100));

    Bytes tampered = good;
    tampered[20] ^= 0x01;
    EXPECT_EQ(unprotect(*server, tampered).status, PacketStatus::kAuthFailed);
    Bytes wrong_tag = good;
    wrong_tag.back() ^= 0x80;
    EXPECT_EQ(unprotect(*server, wrong_tag).status, PacketStatus::kAuthFailed);

    Bytes first = good;
    ASSERT_TRUE(unprotect(*server, first).ok());
    Bytes again = good;
    EXPECT_EQ(unprotect(*server, again).status, PacketStatus::kReplayed);

    Bytes truncated(good.begin(), good.begin() + 12);
    EXPECT_EQ(unprotect(*server, truncated).status, PacketStatus::kTooShort);
    Bytes empty;
    EXPECT_EQ(unprotect(*server, empty).status, PacketStatus::kTooShort);

    Bytes bad_version = good;
    bad_version[0] = 0x40;  // version 1
    EXPECT_EQ(unprotect(*server, bad_version).status, PacketStatus::kMalformed);
    Bytes csrc_past_end = protect(*client, rtp_packet(7, 101, 0));
    csrc_past_end[0] = 0x8f;  // 15 CSRCs that are not there
    EXPECT_EQ(unprotect(*server, csrc_past_end).status,
              PacketStatus::kMalformed);

    Bytes short_rtcp = {0x80, 201, 0, 1, 0, 0, 0, 7};
    EXPECT_EQ(server->unprotect_rtcp(short_rtcp).status,
              PacketStatus::kTooShort);
    Bytes rtcp = protect(*client, rtcp_packet(7), true);
    rtcp[10] ^= 0xff;
    EXPECT_EQ(server->unprotect_rtcp(rtcp).status, PacketStatus::kAuthFailed);

    const MediaCounters& c = server->counters();
    EXPECT_EQ(c.auth_failures, 3u);
    EXPECT_EQ(c.replay_failures, 1u);
    EXPECT_EQ(c.too_short, 3u);
    EXPECT_EQ(c.malformed, 2u);
    EXPECT_EQ(c.rtp_packets_unprotected, 1u);
    // Still working.
    Bytes next = protect(*client, rtp_packet(7, 102, 10));
    EXPECT_TRUE(unprotect(*server, next).ok());
  }
}

TEST(SrtpContext, ProtectRefusesWhatItCannotProtect) {
  std::mt19937 rng(6);
  auto client =
      context(random_keys(Profile::kAes128CmSha1_80, rng), Side::kClient);
  Bytes p = rtp_packet(1, 1, 50);
  Bytes exact = p;  // no room for the 10-byte tag
  EXPECT_EQ(client->protect_rtp(exact, p.size()).status,
            PacketStatus::kBufferTooSmall);
  Bytes tiny(8, 0x80);
  EXPECT_EQ(client->protect_rtp(tiny, tiny.size()).status,
            PacketStatus::kTooShort);
  Bytes v1 = p;
  v1[0] = 0x40;
  v1.resize(p.size() + kMaxTrailer);
  EXPECT_EQ(client->protect_rtp(v1, p.size()).status, PacketStatus::kMalformed);
  Bytes room = p;
  EXPECT_EQ(client->protect_rtp(room, p.size() + 1).status,
            PacketStatus::kTooShort);  // length past the buffer
  Bytes rtcp = rtcp_packet(1);
  EXPECT_EQ(client->protect_rtcp(rtcp, rtcp.size()).status,
            PacketStatus::kBufferTooSmall);
  EXPECT_EQ(client->counters().protect_failures, 5u);
  EXPECT_EQ(client->counters().rtp_packets_protected, 0u);
  EXPECT_STREQ(packet_status_code(PacketStatus::kBufferTooSmall),
               "ERR_SRTP_BUFFER_TOO_SMALL");
}

// The replay window is configurable: a packet further behind the newest than
// the window is refused as a replay (RFC 3711 §3.3.2), one inside it is not.
// Raw protect, for packets that may be refused.
PacketResult try_protect(SrtpContext& c, Bytes& buf, size_t length) {
  buf.resize(length + kMaxTrailer);
  return c.protect_rtp(buf, length);
}

// RFC 3711 §9.2 through libsrtp's own events: with three packets left on the
// client's outbound key, libsrtp reports the soft limit for two (counted) and
// the hard limit at the third. From then on the context refuses everything:
// libsrtp's count wraps around after the hard limit and would go on.
TEST(SrtpContext, OutboundKeyLimitEventsAreCountedAndTheHardLimitEndsIt) {
  std::mt19937 rng(9);
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAeadAes128Gcm}) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    auto keys = random_keys(p, rng);
    auto client = context(keys, Side::kClient);
    auto server = context(keys, Side::kServer);
    if (!SrtpContextTesting::set_packets_left(*client, KeyDirection::kOutbound,
                                              3)) {
      GTEST_SKIP() << "libsrtp's key limit is out of reach in this build";
    }
    for (std::uint16_t seq : {1, 2}) {
      Bytes wire = protect(*client, rtp_packet(7, seq, 100));
      EXPECT_TRUE(unprotect(*server, wire).ok());
    }
    EXPECT_EQ(client->counters().key_soft_limit_events, 2u);
    EXPECT_FALSE(client->key_limit_reached());
    Bytes buf = rtp_packet(7, 3, 100);
    PacketResult r = try_protect(*client, buf, buf.size());
    EXPECT_EQ(r.status, PacketStatus::kKeyLimit);
    EXPECT_STREQ(packet_status_code(r.status), "ERR_SRTP_KEY_LIMIT");
    EXPECT_TRUE(client->key_limit_reached());
    // Every later packet, either way, another SSRC or RTCP too.
    for (std::uint32_t ssrc : {7u, 8u}) {
      buf = rtp_packet(ssrc, 4, 100);
      EXPECT_EQ(try_protect(*client, buf, buf.size()).status,
                PacketStatus::kKeyLimit);
    }
    buf = rtcp_packet(7);
    const size_t rtcp_length = buf.size();
    buf.resize(rtcp_length + kMaxTrailer);
    EXPECT_EQ(client->protect_rtcp(buf, rtcp_length).status,
              PacketStatus::kKeyLimit);
    Bytes from_server = protect(*server, rtp_packet(9, 1, 100));
    EXPECT_EQ(unprotect(*client, from_server).status, PacketStatus::kKeyLimit);
    EXPECT_EQ(client->counters().rtp_packets_protected, 2u);
    EXPECT_EQ(client->counters().protect_failures, 4u);
    EXPECT_EQ(client->counters().other_failures, 1u);
  }
}

// The key the peer protects with is ours to unprotect with: its limit too
// ends the context.
TEST(SrtpContext, InboundKeyLimitEndsTheContext) {
  std::mt19937 rng(10);
  auto keys = random_keys(Profile::kAes128CmSha1_80, rng);
  auto client = context(keys, Side::kClient);
  auto server = context(keys, Side::kServer);
  if (!SrtpContextTesting::set_packets_left(*server, KeyDirection::kInbound,
                                            2)) {
    GTEST_SKIP() << "libsrtp's key limit is out of reach in this build";
  }
  Bytes first = protect(*client, rtp_packet(7, 1, 100));
  EXPECT_TRUE(unprotect(*server, first).ok());
  EXPECT_EQ(server->counters().key_soft_limit_events, 1u);
  Bytes second = protect(*client, rtp_packet(7, 2, 100));
  EXPECT_EQ(unprotect(*server, second).status, PacketStatus::kKeyLimit);
  EXPECT_TRUE(server->key_limit_reached());
  Bytes third = protect(*client, rtp_packet(7, 3, 100));
  EXPECT_EQ(unprotect(*server, third).status, PacketStatus::kKeyLimit);
  Bytes buf = rtp_packet(9, 1, 100);
  EXPECT_EQ(try_protect(*server, buf, buf.size()).status,
            PacketStatus::kKeyLimit);
  EXPECT_EQ(server->counters().rtp_packets_unprotected, 1u);
}

// The 17th SSRC each way goes through libsrtp: its packets count on the same
// keys, at libsrtp's points (every protect; a received packet before its tag
// is checked under AEAD, once it verified under AES-CM).
TEST(SrtpContext, PacketsOfLibsrtpsPathCountOnTheSameKeys) {
  std::mt19937 rng(12);
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAeadAes128Gcm}) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    const bool aead = profile_info(p).aead;
    auto keys = random_keys(p, rng);
    auto client = context(keys, Side::kClient);
    auto server = context(keys, Side::kServer);
    // SSRCs 1..16 take the fast path's slots both ways.
    for (std::uint32_t ssrc = 1; ssrc <= 16; ++ssrc) {
      Bytes wire = protect(*client, rtp_packet(ssrc, 1, 20));
      ASSERT_TRUE(unprotect(*server, wire).ok());
    }
    Bytes first = protect(*client, rtp_packet(17, 1, 20));
    ASSERT_TRUE(unprotect(*server, first).ok());
    ASSERT_TRUE(SrtpContextTesting::set_packets_left(
        *client, KeyDirection::kOutbound, 3));
    ASSERT_TRUE(SrtpContextTesting::set_packets_left(
        *server, KeyDirection::kInbound, 3));
    Bytes a = protect(*client, rtp_packet(17, 2, 20));
    Bytes b = protect(*client, rtp_packet(17, 3, 20));
    EXPECT_EQ(client->counters().key_soft_limit_events, 2u);
    Bytes buf = rtp_packet(17, 4, 20);
    EXPECT_EQ(try_protect(*client, buf, buf.size()).status,
              PacketStatus::kKeyLimit);
    // A forgery on SSRC 17 after its replay check: counted under AEAD only.
    Bytes forged = a;
    forged[forged.size() - 1] ^= 1;
    EXPECT_EQ(unprotect(*server, forged).status, PacketStatus::kAuthFailed);
    EXPECT_EQ(server->counters().key_soft_limit_events, aead ? 1u : 0u);
    EXPECT_TRUE(unprotect(*server, a).ok());
    EXPECT_EQ(server->counters().key_soft_limit_events, aead ? 2u : 1u);
    EXPECT_EQ(unprotect(*server, b).status,
              aead ? PacketStatus::kKeyLimit : PacketStatus::kOk);
    EXPECT_EQ(server->key_limit_reached(), aead);
  }
}

// libsrtp has one event handler per process, and an application may run its
// own SRTP on libsrtp beside ours, with its own handler and user data: the
// library installs no handler, so the application's stays in place, and its
// sessions' events touch nothing of ours.
std::vector<srtp_event_t> application_events;
void application_handler(srtp_event_data_t* data) {
  application_events.push_back(data->event);
}

TEST(SrtpContext, AnApplicationsOwnLibsrtpHandlerStaysInPlace) {
  ASSERT_TRUE(ensure_initialized().ok());
  ASSERT_EQ(srtp_install_event_handler(&application_handler),
            srtp_err_status_ok);
  application_events.clear();
  std::mt19937 rng(11);
  const Profile p = Profile::kAes128CmSha1_80;
  auto keys = random_keys(p, rng);
  auto ours = context(keys, Side::kClient);
  srtp_t theirs = nullptr;
  ASSERT_EQ(
      create_libsrtp_session(&theirs, p, keys.outbound_master(Side::kClient),
                             true, 1024, true),
      srtp_err_status_ok);
  alignas(std::max_align_t) unsigned char their_data[512];
  std::memset(their_data, 0x5A, sizeof(their_data));
  srtp_set_user_data(theirs, their_data);
  if (!SrtpContextTesting::set_packets_left(theirs, 2)) {
    srtp_dealloc(theirs);
    srtp_install_event_handler(nullptr);
    GTEST_SKIP() << "libsrtp's key limit is out of reach in this build";
  }
  for (std::uint16_t seq : {1, 2}) {
    Bytes buf = rtp_packet(7, seq, 100);
    int len = static_cast<int>(buf.size());
    buf.resize(buf.size() + kMaxTrailer);
    srtp_protect(theirs, buf.data(), &len);  // the second: key expired
  }
  srtp_dealloc(theirs);
  // Ours made and used after the application installed its handler.
  auto ours_later = context(keys, Side::kServer);
  for (std::uint32_t ssrc = 1; ssrc <= 20; ++ssrc) {
    Bytes wire = protect(*ours, rtp_packet(ssrc, 1, 100));
    EXPECT_TRUE(unprotect(*ours_later, wire).ok());
  }
  srtp_install_event_handler(nullptr);
  EXPECT_EQ(
      application_events,
      (std::vector<srtp_event_t>{event_key_soft_limit, event_key_hard_limit}));
  EXPECT_EQ(std::count(std::begin(their_data), std::end(their_data), 0x5A),
            static_cast<std::ptrdiff_t>(sizeof(their_data)));
  EXPECT_EQ(ours->counters().key_soft_limit_events, 0u);
  EXPECT_FALSE(ours->key_limit_reached());
}

TEST(SrtpContext, ReplayWindowIsConfigurable) {
  std::mt19937 rng(7);
  auto keys = random_keys(Profile::kAeadAes128Gcm, rng);
  auto client = context(keys, Side::kClient);
  ContextOptions small;
  small.replay_window = 64;
  auto server = context(keys, Side::kServer, small);
  std::vector<Bytes> sent;
  for (std::uint16_t seq = 1; seq <= 200; ++seq)
    sent.push_back(protect(*client, rtp_packet(9, seq, 20)));
  Bytes newest = sent.back();
  ASSERT_TRUE(unprotect(*server, newest).ok());  // seq 200
  Bytes inside = sent[199 - 40];                 // 40 behind
  EXPECT_TRUE(unprotect(*server, inside).ok());
  Bytes outside = sent[199 - 100];  // 100 behind, window 64
  EXPECT_EQ(unprotect(*server, outside).status, PacketStatus::kReplayed);

  for (size_t bad : {size_t{0}, size_t{63}, size_t{40000}}) {
    ContextOptions o;
    o.replay_window = bad;
    auto c = SrtpContext::create(keys, Side::kServer, o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, "ERR_OUT_OF_RANGE");
  }
  SrtpKeys short_key = keys;
  short_key.client_key.pop_back();
  auto c = SrtpContext::create(short_key, Side::kClient);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "ERR_SRTP_KEY_LENGTH");
}

}  // namespace
}  // namespace dtls::srtp

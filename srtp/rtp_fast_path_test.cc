#include "srtp/rtp_fast_path.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/testing/rtp_packets.h"
#include "tests/testing/srtp_reference.h"

namespace dtls::srtp {
namespace {

using testing::Bytes;

constexpr size_t kHeader = 12;
constexpr Profile kProfiles[] = {
    Profile::kAes128CmSha1_80, Profile::kAes128CmSha1_32,
    Profile::kAeadAes128Gcm, Profile::kAeadAes256Gcm};

struct Direction {
  KeyUsage usage;
  std::uint64_t soft_events = 0;
  std::unique_ptr<RtpFastPath> rtp;
};

// One direction's sender and receiver on the same master key.
struct Pair {
  Pair(Profile p, std::uint32_t seed, ContextOptions options = {}) {
    std::mt19937 rng(seed);
    const ProfileInfo& info = profile_info(p);
    key.resize(info.key_length);
    salt.resize(info.salt_length);
    for (auto& b : key) b = static_cast<std::uint8_t>(rng());
    for (auto& b : salt) b = static_cast<std::uint8_t>(rng());
    Bytes master = key;
    master.insert(master.end(), salt.begin(), salt.end());
    for (Direction* d : {&out, &in}) {
      auto r = RtpFastPath::create(p, master, d == &out, options, &d->usage,
                                   &d->soft_events);
      EXPECT_TRUE(r.ok());
      if (r.ok()) d->rtp = std::move(r).value();
    }
  }
  // Protected bytes, or empty when refused (status in *status).
  Bytes protect(Bytes packet, PacketStatus* status = nullptr) {
    const size_t length = packet.size();
    packet.resize(length + out.rtp->tag());
    std::optional<PacketStatus> s =
        out.rtp->protect(packet.data(), length, kHeader);
    EXPECT_TRUE(s.has_value());
    if (status) *status = s.value_or(PacketStatus::kFailed);
    if (s != PacketStatus::kOk) return {};
    return packet;
  }
  std::optional<PacketStatus> unprotect(Bytes& wire) {
    std::optional<PacketStatus> s =
        in.rtp->unprotect(wire.data(), wire.size(), kHeader);
    if (s == PacketStatus::kOk) wire.resize(wire.size() - in.rtp->tag());
    return s;
  }
  Bytes key, salt;
  Direction out, in;
};

// RFC 7714 §8.1, §9.1 and §11 against the independent reference: session
// keys from the master key by RFC 3711 §4.3's AES-CM KDF (salt padded to 14
// octets), the IV from SSRC, ROC and SEQ, the header as AAD.
TEST(RtpFastPath, SealsAsTheReferenceDoes) {
  for (Profile p : {Profile::kAeadAes128Gcm, Profile::kAeadAes256Gcm}) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    Pair pair(p, 1);
    const Bytes session_key = testing::srtp_kdf(
        pair.key, pair.salt, testing::kRtpEncryption, pair.key.size());
    const Bytes session_salt =
        testing::srtp_kdf(pair.key, pair.salt, testing::kRtpSalt, 12);
    // Across a wrap, so the ROC in the IV is 1 for the last packet.
    for (std::uint16_t seq : {0xfffe, 0xffff, 0x0000}) {
      const Bytes plain = testing::make_rtp(0x01020304, seq, 160);
      const std::uint32_t roc = seq == 0 ? 1 : 0;
      const Bytes header(plain.begin(), plain.begin() + kHeader);
      Bytes expected = header;
      const Bytes sealed = testing::aes_gcm_seal(
          session_key, testing::gcm_rtp_iv(session_salt, 0x01020304, roc, seq),
          header, Bytes(plain.begin() + kHeader, plain.end()));
      expected.insert(expected.end(), sealed.begin(), sealed.end());
      EXPECT_EQ(testing::to_hex(pair.protect(plain)),
                testing::to_hex(expected));
    }
  }
}

// RFC 7714 §9.1: with CSRCs and a header extension the whole 28-octet header
// is the AAD and the payload starts after it.
TEST(RtpFastPath, TakesTheWholeHeaderAsTheAad) {
  Pair pair(Profile::kAeadAes128Gcm, 7);
  const Bytes session_key =
      testing::srtp_kdf(pair.key, pair.salt, testing::kRtpEncryption, 16);
  const Bytes session_salt =
      testing::srtp_kdf(pair.key, pair.salt, testing::kRtpSalt, 12);
  Bytes plain = testing::make_rtp(0x01020304, 9, 40);
  plain[0] = 0x80 | 0x10 | 2;  // X, two CSRCs
  const Bytes extra = {0,    0,    0, 1, 0,    0,    0, 2,
                       0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0};
  plain.insert(plain.begin() + kHeader, extra.begin(), extra.end());
  const size_t header = kHeader + extra.size();
  const Bytes aad(plain.begin(), plain.begin() + header);
  Bytes expected = aad;
  const Bytes sealed = testing::aes_gcm_seal(
      session_key, testing::gcm_rtp_iv(session_salt, 0x01020304, 0, 9), aad,
      Bytes(plain.begin() + header, plain.end()));
  expected.insert(expected.end(), sealed.begin(), sealed.end());
  Bytes wire = plain;
  wire.resize(plain.size() + pair.out.rtp->tag());
  ASSERT_EQ(pair.out.rtp->protect(wire.data(), plain.size(), header),
            PacketStatus::kOk);
  EXPECT_EQ(testing::to_hex(wire), testing::to_hex(expected));
}

// RFC 3711 §4.1.1 and §4.2 against the reference: the AES-CM keystream at
// the salted SSRC and index, then HMAC-SHA1 over the header, the ciphertext
// and the ROC, cut to the profile's tag.
TEST(RtpFastPath, EncryptsAndAuthenticatesAesCmAsTheReferenceDoes) {
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAes128CmSha1_32}) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    Pair pair(p, 6);
    const Bytes session_key =
        testing::srtp_kdf(pair.key, pair.salt, testing::kRtpEncryption, 16);
    const Bytes session_salt =
        testing::srtp_kdf(pair.key, pair.salt, testing::kRtpSalt, 14);
    const Bytes auth_key =
        testing::srtp_kdf(pair.key, pair.salt, testing::kRtpAuth, 20);
    for (std::uint16_t seq : {0xfffe, 0xffff, 0x0000}) {
      const Bytes plain = testing::make_rtp(0x0a0b0c0d, seq, 160);
      const std::uint64_t index = (seq == 0 ? 0x10000u : 0u) | seq;
      const Bytes ks = testing::aes_cm_keystream(session_key, session_salt,
                                                 0x0a0b0c0d, index, 160);
      Bytes expected = plain;
      for (size_t i = 0; i < 160; ++i) expected[kHeader + i] ^= ks[i];
      Bytes authenticated = expected;
      const std::uint32_t roc = static_cast<std::uint32_t>(index >> 16);
      for (int shift : {24, 16, 8, 0})
        authenticated.push_back(static_cast<std::uint8_t>(roc >> shift));
      const Bytes mac = testing::hmac_sha1(auth_key, authenticated);
      expected.insert(expected.end(), mac.begin(),
                      mac.begin() + profile_info(p).rtp_tag_length);
      EXPECT_EQ(testing::to_hex(pair.protect(plain)),
                testing::to_hex(expected));
    }
  }
}

TEST(RtpFastPath, RoundTripsWithCsrcsAndAnExtensionAuthenticated) {
  for (Profile p : kProfiles) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    Pair pair(p, 2);
    Bytes plain = testing::make_rtp(7, 1, 50);
    // Two CSRCs and a one-word extension: a 28-octet header.
    plain[0] = 0x80 | 0x10 | 2;
    const Bytes extra = {0,    0,    0, 1, 0,    0,    0, 2,
                         0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0};
    plain.insert(plain.begin() + kHeader, extra.begin(), extra.end());
    const size_t length = plain.size();
    Bytes wire = plain;
    wire.resize(length + pair.out.rtp->tag());
    ASSERT_EQ(pair.out.rtp->protect(wire.data(), length, 28),
              PacketStatus::kOk);
    // The header travels in the clear; a flipped bit in it fails the tag.
    EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + 28, wire.begin()));
    Bytes tampered = wire;
    tampered[20] ^= 1;
    EXPECT_EQ(pair.in.rtp->unprotect(tampered.data(), tampered.size(), 28),
              PacketStatus::kAuthFailed);
    EXPECT_EQ(pair.in.rtp->unprotect(wire.data(), wire.size(), 28),
              PacketStatus::kOk);
    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), wire.begin()));
  }
}

// RFC 3711 §3.3.2 on the receiver; a sender repeats an index only when
// retransmissions are allowed.
TEST(RtpFastPath, RefusesReplaysAndRepeatsOnlyWhenAllowed) {
  for (Profile p : kProfiles) {
    for (bool allow : {true, false}) {
      SCOPED_TRACE(std::string(profile_info(p).name));
      ContextOptions options;
      options.allow_repeat_tx = allow;
      options.replay_window = 64;
      Pair pair(p, 3, options);
      Bytes first = pair.protect(testing::make_rtp(7, 100, 20));
      PacketStatus repeat = PacketStatus::kFailed;
      pair.protect(testing::make_rtp(7, 100, 20), &repeat);
      EXPECT_EQ(repeat, allow ? PacketStatus::kOk : PacketStatus::kReplayed);
      PacketStatus old = PacketStatus::kFailed;
      pair.protect(testing::make_rtp(7, 36, 20), &old);  // 64 behind
      EXPECT_EQ(old, PacketStatus::kReplayed);
      Bytes again = first;
      EXPECT_EQ(pair.unprotect(first), PacketStatus::kOk);
      EXPECT_EQ(pair.unprotect(again), PacketStatus::kReplayed);
    }
  }
}

// The first kMaxStreams SSRCs are this path's, the rest libsrtp's; a
// receiver takes an SSRC only once one of its packets authenticates, so a
// stranger's forged packets cannot use up the slots.
TEST(RtpFastPath, TakesSixteenSsrcsAndAReceiverOnlyAuthenticatedOnes) {
  for (Profile p : kProfiles) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    Pair pair(p, 4);
    std::vector<Bytes> wires;
    for (std::uint32_t ssrc = 1; ssrc <= RtpFastPath::kMaxStreams + 1; ++ssrc) {
      Bytes packet = testing::make_rtp(ssrc, 1, 20);
      const size_t length = packet.size();
      packet.resize(length + pair.out.rtp->tag());
      std::optional<PacketStatus> s =
          pair.out.rtp->protect(packet.data(), length, kHeader);
      if (ssrc <= RtpFastPath::kMaxStreams) {
        EXPECT_EQ(s, PacketStatus::kOk);
        wires.push_back(packet);
      } else {
        EXPECT_FALSE(s.has_value());  // libsrtp's
      }
    }
    EXPECT_EQ(pair.out.rtp->stream_count(), RtpFastPath::kMaxStreams);
    for (size_t i = 0; i + 1 < wires.size(); ++i)
      EXPECT_EQ(pair.unprotect(wires[i]), PacketStatus::kOk);
    // Forged packets of new SSRCs: refused, and no slot taken.
    for (std::uint32_t ssrc = 100; ssrc < 140; ++ssrc) {
      Bytes forged = testing::make_rtp(ssrc, 1, 36);
      EXPECT_EQ(pair.unprotect(forged), PacketStatus::kAuthFailed);
    }
    EXPECT_EQ(pair.in.rtp->stream_count(), RtpFastPath::kMaxStreams - 1);
    EXPECT_EQ(pair.unprotect(wires.back()), PacketStatus::kOk);
    Bytes forged = testing::make_rtp(200, 1, 36);
    EXPECT_FALSE(pair.unprotect(forged).has_value());  // full: libsrtp's
  }
}

// RFC 3711 §9.2: each packet counts on the key as libsrtp counts it, with
// soft-limit events for the last 2^16 and the hard limit at the last. A
// receiver counts a packet before its tag is checked under AEAD
// (srtp_unprotect_aead), only once it verified under AES-CM
// (srtp_unprotect_mki).
TEST(RtpFastPath, CountsTheKeysUseToItsHardLimit) {
  for (Profile p : kProfiles) {
    SCOPED_TRACE(std::string(profile_info(p).name));
    const bool aead = profile_info(p).aead;
    Pair pair(p, 5);
    pair.out.usage.set_left(3);
    pair.in.usage.set_left(3);
    Bytes a = pair.protect(testing::make_rtp(7, 1, 20));
    Bytes b = pair.protect(testing::make_rtp(7, 2, 20));
    EXPECT_EQ(pair.out.soft_events, 2u);
    PacketStatus s = PacketStatus::kOk;
    EXPECT_TRUE(pair.protect(testing::make_rtp(7, 3, 20), &s).empty());
    EXPECT_EQ(s, PacketStatus::kKeyLimit);
    Bytes forged = testing::make_rtp(7, 5, 36);
    EXPECT_EQ(pair.unprotect(forged), PacketStatus::kAuthFailed);
    EXPECT_EQ(pair.in.soft_events, aead ? 1u : 0u);
    EXPECT_EQ(pair.unprotect(a), PacketStatus::kOk);
    EXPECT_EQ(pair.in.soft_events, aead ? 2u : 1u);
    EXPECT_EQ(pair.unprotect(b),
              aead ? PacketStatus::kKeyLimit : PacketStatus::kOk);
  }
}

// A sender keeps the list of lines its protect reads, for a fan-out to fetch
// ahead: nothing before its first packet; then its own line first, the
// cipher's, the stream table's and the first stream's, all of them (none
// left out for want of room); not again per packet; one window and its ring
// more for each new stream, until the list is full. A ring larger than a
// line (a large replay window) is not listed, its window still is.
TEST(RtpFastPath, ListsTheLinesItsProtectReads) {
  for (Profile p : kProfiles) {
    for (size_t window : {size_t{128}, size_t{4096}}) {
      SCOPED_TRACE(std::string(profile_info(p).name) + " window " +
                   std::to_string(window));
      KeyUsage usage;
      std::uint64_t soft = 0;
      FetchList lines;
      ContextOptions options;
      options.replay_window = window;
      auto r = RtpFastPath::create(
          p, Bytes(profile_info(p).key_length + profile_info(p).salt_length, 3),
          true, options, &usage, &soft, &lines);
      ASSERT_TRUE(r.ok());
      RtpFastPath& fast = **r;
      EXPECT_EQ(lines.size(), 0u);
      auto protect = [&](std::uint32_t ssrc, std::uint16_t seq) {
        Bytes packet = testing::make_rtp(ssrc, seq, 100);
        const size_t length = packet.size();
        packet.resize(length + fast.tag());
        EXPECT_EQ(fast.protect(packet.data(), length, kHeader),
                  PacketStatus::kOk);
      };
      protect(7, 1);
      const size_t first = lines.size();
      EXPECT_GT(first, 4u);
      EXPECT_LT(first, FetchList::kMaxLines);
      const auto own =
          reinterpret_cast<std::uintptr_t>(&fast) & ~(kCacheLine - 1);
      EXPECT_EQ(lines.lines()[0], reinterpret_cast<const void*>(own));
      protect(7, 2);
      EXPECT_EQ(lines.size(), first);
      protect(8, 1);
      const size_t per_stream = lines.size() - first;
      // A window is one or two lines; the default window's ring one more.
      if (window == 128) {
        EXPECT_GE(per_stream, 2u);
        EXPECT_LE(per_stream, 3u);
      } else {
        EXPECT_GE(per_stream, 1u);
        EXPECT_LE(per_stream, 2u);
      }
      protect(7, 3);
      EXPECT_EQ(lines.size(), first + per_stream);
      for (std::uint32_t ssrc = 9; ssrc < 9 + 14; ++ssrc) protect(ssrc, 1);
      EXPECT_EQ(fast.stream_count(), RtpFastPath::kMaxStreams);
      EXPECT_EQ(lines.size(), FetchList::kMaxLines);
    }
  }
}

TEST(RtpFastPath, RefusesMasterKeysOfTheWrongSize) {
  KeyUsage usage;
  std::uint64_t soft = 0;
  for (Profile p : {Profile::kAes128CmSha1_80, Profile::kAeadAes128Gcm}) {
    auto r = RtpFastPath::create(p, Bytes(29, 1), true, {}, &usage, &soft);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ERR_SRTP_INIT");
  }
}

}  // namespace
}  // namespace dtls::srtp

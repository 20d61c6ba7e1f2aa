// SrtpContext against raw libsrtp, packet for packet: the same bytes out and
// the same decisions (ok, replayed, auth failed, ...) for the same traffic.
// The reference is a pair of libsrtp sessions made with the policy
// SrtpContext itself uses (create_libsrtp_session), so any difference is
// SrtpContext's own doing: the point is to let SrtpContext handle packets
// without libsrtp (RFC 7714 AEAD RTP) while nobody can tell from outside.
//
// Every scenario draws from a std::mt19937 whose seed derives from a base
// seed; the seed is in each failure's trace. To replay, or to explore other
// traffic, pass the base: --test_env=SRTP_DIFF_SEED=0x1234.
#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "srtp/libsrtp_policy.h"
#include "srtp/srtp_context.h"
#include "srtp/srtp_keys.h"
#include "srtp/srtp_profile.h"
#include "tests/testing/rtp_packets.h"

namespace dtls::srtp {
namespace {

using Bytes = std::vector<std::uint8_t>;
using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

// The AEAD profiles first: theirs is the path being replaced.
constexpr Profile kProfiles[] = {
    Profile::kAeadAes128Gcm, Profile::kAeadAes256Gcm, Profile::kAes128CmSha1_80,
    Profile::kAes128CmSha1_32};

std::uint32_t base_seed() {
  if (const char* s = std::getenv("SRTP_DIFF_SEED"); s && *s)
    return static_cast<std::uint32_t>(std::strtoul(s, nullptr, 0));
  return 0x5eed7714;
}

// One seed per scenario, so a failing one replays alone in a debugger and a
// change to one scenario leaves the others' traffic as it was.
std::uint32_t scenario_seed(std::uint32_t scenario) {
  std::seed_seq s{base_seed(), scenario};
  std::uint32_t out = 0;
  s.generate(&out, &out + 1);
  return out;
}

std::string seed_trace(std::uint32_t scenario, std::uint32_t seed) {
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "scenario %u, seed 0x%08x (replay: "
                "--test_env=SRTP_DIFF_SEED=0x%08x)",
                scenario, seed, base_seed());
  return buf;
}

struct Rng {
  explicit Rng(std::uint32_t seed) : gen(seed) {}
  std::uint32_t below(std::uint32_t n) {
    return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(gen);
  }
  std::uint32_t range(std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(gen);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(gen); }
  std::uint8_t byte() { return static_cast<std::uint8_t>(gen()); }
  std::uint32_t word() { return static_cast<std::uint32_t>(gen()); }
  std::mt19937 gen;
};

std::uint16_t u16(std::uint32_t v) { return static_cast<std::uint16_t>(v); }

void put16(Bytes& p, std::uint32_t v) {
  p.push_back(static_cast<std::uint8_t>(v >> 8));
  p.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p, v);
}
std::uint32_t ssrc_of(const Bytes& p) {
  return (std::uint32_t{p[8]} << 24) | (std::uint32_t{p[9]} << 16) |
         (std::uint32_t{p[10]} << 8) | p[11];
}

std::string hex_head(std::span<const std::uint8_t> p, size_t max = 24) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < p.size() && i < max; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  if (p.size() > max) s += "...";
  return s + " (" + std::to_string(p.size()) + " B)";
}

// libsrtp's verdicts as SrtpContext reports them.
PacketStatus from_libsrtp(srtp_err_status_t e) {
  switch (e) {
    case srtp_err_status_ok:
      return PacketStatus::kOk;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return PacketStatus::kReplayed;
    case srtp_err_status_auth_fail:
      return PacketStatus::kAuthFailed;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      return PacketStatus::kMalformed;
    case srtp_err_status_key_expired:
      return PacketStatus::kKeyLimit;
    default:
      return PacketStatus::kFailed;
  }
}

// The header RFC 3550 §5.1 and §5.3.1 describe, inside `n` octets. Written
// here rather than taken from rtp_header_length(): it decides which packets
// the two sides must agree on, so it must not move with the code under test.
bool well_formed_rtp(const std::uint8_t* p, size_t n) {
  if (n < 12 || (p[0] >> 6) != 2) return false;
  size_t h = 12 + 4 * static_cast<size_t>(p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (n < h + 4) return false;
    h += 4 + 4 * ((static_cast<size_t>(p[h + 2]) << 8) | p[h + 3]);
  }
  return h <= n;
}

size_t rtp_header_size(const Bytes& p) {
  size_t h = 12 + 4 * static_cast<size_t>(p[0] & 0x0f);
  if (p[0] & 0x10)
    h += 4 + 4 * ((static_cast<size_t>(p[h + 2]) << 8) | p[h + 3]);
  return h;
}

// A received packet both sides must judge alike: a well-formed header before
// the trailer. Anything else SrtpContext may refuse before libsrtp would look.
bool comparable_srtp(const Bytes& w, size_t tag) {
  return w.size() >= 12 + tag && well_formed_rtp(w.data(), w.size() - tag);
}
bool comparable_srtcp(const Bytes& w, size_t trailer) {
  return w.size() >= 8 + trailer && (w[0] >> 6) == 2;
}

SecretBytes random_secret(Rng& rng, size_t n) {
  SecretBytes s(n);
  for (auto& b : s) b = rng.byte();
  return s;
}

SrtpKeys random_keys(Profile p, Rng& rng) {
  const ProfileInfo& i = profile_info(p);
  SrtpKeys k;
  k.profile = p;
  k.client_key = random_secret(rng, i.key_length);
  k.server_key = random_secret(rng, i.key_length);
  k.client_salt = random_secret(rng, i.salt_length);
  k.server_salt = random_secret(rng, i.salt_length);
  return k;
}

Side other(Side s) {
  return s == Side::kClient ? Side::kServer : Side::kClient;
}

// ---- Packets.

// A well-formed RTP packet with what RFC 3550 lets vary: P and M bits,
// payload type, 0-15 CSRCs, a header extension (RFC 8285's one-byte 0xBEDE
// profile mostly, other profiles too) and 0-1,200 octets of payload (up to
// 4,096 in one packet of ten).
Bytes random_rtp(Rng& rng, std::uint32_t ssrc, std::uint16_t seq) {
  const std::uint32_t cc = rng.chance(0.5) ? 0 : rng.range(1, 15);
  const bool x = rng.chance(0.4);
  Bytes p;
  p.push_back(static_cast<std::uint8_t>(0x80 | (rng.chance(0.1) ? 0x20 : 0) |
                                        (x ? 0x10 : 0) | cc));
  p.push_back(
      static_cast<std::uint8_t>((rng.chance(0.5) ? 0x80 : 0) | rng.below(128)));
  put16(p, seq);
  put32(p, rng.word());  // timestamp
  put32(p, ssrc);
  for (std::uint32_t i = 0; i < cc; ++i) put32(p, rng.word());
  if (x) {
    const std::uint32_t r = rng.below(10);
    put16(p, r < 8 ? 0xBEDE : r == 8 ? 0x1000 : rng.below(0x10000));
    const std::uint32_t words = rng.chance(0.9) ? rng.below(9) : rng.below(256);
    put16(p, words);
    for (std::uint32_t i = 0; i < 4 * words; ++i) p.push_back(rng.byte());
  }
  const std::uint32_t r = rng.below(10);
  // Now and then past 1,536 octets: AES-CM's keystream comes in chunks of
  // that many.
  const std::uint32_t payload = r == 0   ? 0
                                : r < 3  ? rng.range(1, 16)
                                : r == 9 ? rng.below(4097)
                                         : rng.below(1201);
  for (std::uint32_t i = 0; i < payload; ++i) p.push_back(rng.byte());
  return p;
}

// An RTCP packet as far as SRTCP looks (RFC 3711 §3.4: the first 8 octets in
// the clear, the rest encrypted); libsrtp does not parse compound packets.
Bytes random_rtcp(Rng& rng, std::uint32_t ssrc) {
  if (rng.chance(0.5)) return testing::make_rtcp(ssrc);
  Bytes p = {static_cast<std::uint8_t>(0x80 | rng.below(32)),
             static_cast<std::uint8_t>(200 + rng.below(5)), 0, 0};
  put32(p, ssrc);
  const std::uint32_t words = rng.below(30);
  for (std::uint32_t i = 0; i < 4 * words; ++i) p.push_back(rng.byte());
  p[3] = static_cast<std::uint8_t>(p.size() / 4 - 1);
  return p;
}

// RTP that is not well formed, or too short for a header.
Bytes malformed_rtp(Rng& rng, std::uint32_t ssrc, std::uint16_t seq) {
  Bytes p = random_rtp(rng, ssrc, seq);
  switch (rng.below(4)) {
    case 0: {  // version 0, 1 or 3
      static constexpr std::uint8_t kVersions[] = {0x00, 0x40, 0xc0};
      p[0] = static_cast<std::uint8_t>((p[0] & 0x3f) | kVersions[rng.below(3)]);
      break;
    }
    case 1:  // CSRCs past the end
      p[0] = static_cast<std::uint8_t>((p[0] & 0xe0) | 0x0f);
      p.resize(12 + rng.below(60));
      break;
    case 2: {  // an extension longer than the packet
      p.resize(12);
      p[0] = static_cast<std::uint8_t>((p[0] & 0xe0) | 0x10);
      const std::uint32_t have = rng.below(8);
      put16(p, 0xBEDE);
      put16(p, have + 1 + rng.below(100));
      for (std::uint32_t i = 0; i < 4 * have; ++i) p.push_back(rng.byte());
      break;
    }
    default:
      p.resize(rng.below(12));
      break;
  }
  return p;
}

// ---- The two sides.

struct SessionFree {
  void operator()(srtp_ctx_t_* s) const {
    if (s) srtp_dealloc(s);
  }
};
using Session = std::unique_ptr<srtp_ctx_t_, SessionFree>;

// Null when libsrtp refuses the policy.
Session reference_session_or_null(Profile p, const SecretBytes& master,
                                  bool outbound, const ContextOptions& o) {
  srtp_t s = nullptr;
  if (create_libsrtp_session(&s, p, master, outbound, o.replay_window,
                             o.allow_repeat_tx) != srtp_err_status_ok)
    return nullptr;
  return Session(s);
}

Session reference_session(Profile p, const SecretBytes& master, bool outbound,
                          const ContextOptions& o) {
  Session s = reference_session_or_null(p, master, outbound, o);
  EXPECT_NE(s, nullptr) << "libsrtp refused the policy";
  return s;
}

void count_protect(MediaCounters& c, bool rtcp, PacketStatus s, size_t in) {
  if (s != PacketStatus::kOk) {
    c.protect_failures++;
  } else if (rtcp) {
    c.rtcp_packets_protected++;
    c.rtcp_bytes_protected += in;
  } else {
    c.rtp_packets_protected++;
    c.rtp_bytes_protected += in;
  }
}

void count_unprotect(MediaCounters& c, bool rtcp, PacketStatus s, size_t out) {
  switch (s) {
    case PacketStatus::kOk:
      if (rtcp) {
        c.rtcp_packets_unprotected++;
        c.rtcp_bytes_unprotected += out;
      } else {
        c.rtp_packets_unprotected++;
        c.rtp_bytes_unprotected += out;
      }
      break;
    case PacketStatus::kAuthFailed:
      c.auth_failures++;
      break;
    case PacketStatus::kReplayed:
      c.replay_failures++;
      break;
    case PacketStatus::kMalformed:
      c.malformed++;
      break;
    case PacketStatus::kTooShort:
      c.too_short++;
      break;
    default:
      c.other_failures++;
      break;
  }
}

// SrtpContext beside the libsrtp sessions it must be indistinguishable from.
class Lane {
 public:
  Lane(const SrtpKeys& keys, Side side, const ContextOptions& options)
      : out_ref_(reference_session(keys.profile, keys.outbound_master(side),
                                   true, options)),
        in_ref_(reference_session(keys.profile, keys.inbound_master(side),
                                  false, options)) {
    auto c = SrtpContext::create(keys, side, options);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    if (c.ok()) ours_ = std::move(c).value();
  }
  bool ready() const { return ours_ && out_ref_ && in_ref_; }
  SrtpContext& ours() { return *ours_; }
  size_t tag() const { return ours_->rtp_trailer(); }
  size_t rtcp_trailer() const { return ours_->rtcp_trailer(); }

  // Protects `plain` both ways; `extra` octets of room past the trailer. On
  // success `wire` gets the packet. The buffer is exactly as large as
  // offered, so ASan sees any write past it, and what lies past the packet
  // must come back untouched (libsrtp writes nothing there).
  AssertionResult protect(const Bytes& plain, bool rtcp, size_t extra,
                          PacketStatus* status, Bytes* wire = nullptr) {
    constexpr std::uint8_t kCanary = 0xa5;
    const size_t room = (rtcp ? rtcp_trailer() : tag()) + extra;
    const size_t size = plain.size() + room;
    auto buf = std::make_unique<std::uint8_t[]>(size);
    std::memcpy(buf.get(), plain.data(), plain.size());
    std::memset(buf.get() + plain.size(), kCanary, room);
    std::span<std::uint8_t> span(buf.get(), size);
    PacketResult r = rtcp ? ours_->protect_rtcp(span, plain.size())
                          : ours_->protect_rtp(span, plain.size());
    count_protect(expected_, rtcp, r.status, plain.size());

    Bytes ref(plain.size() + kMaxTrailer + 16, kCanary);
    std::copy(plain.begin(), plain.end(), ref.begin());
    int len = static_cast<int>(plain.size());
    PacketStatus rs =
        from_libsrtp(rtcp ? srtp_protect_rtcp(out_ref_.get(), ref.data(), &len)
                          : srtp_protect(out_ref_.get(), ref.data(), &len));
    if (status) *status = r.status;
    const char* kind = rtcp ? "protect_rtcp" : "protect_rtp";
    if (r.status != rs) {
      return AssertionFailure()
             << kind << " of " << hex_head(plain) << ": SrtpContext "
             << packet_status_code(r.status) << ", libsrtp "
             << packet_status_code(rs);
    }
    if (!r.ok()) return AssertionSuccess();
    if (r.length != static_cast<size_t>(len)) {
      return AssertionFailure()
             << kind << " of " << hex_head(plain) << ": SrtpContext made "
             << r.length << " octets, libsrtp " << len;
    }
    if (std::memcmp(buf.get(), ref.data(), r.length) != 0) {
      size_t at = 0;
      while (buf[at] == ref[at]) ++at;
      return AssertionFailure()
             << kind << " of " << hex_head(plain) << ": output differs at "
             << at << ": SrtpContext " << hex_head({buf.get(), r.length})
             << ", libsrtp " << hex_head({ref.data(), r.length});
    }
    for (size_t i = r.length; i < size; ++i) {
      if (buf[i] != kCanary)
        return AssertionFailure() << kind << " wrote past the packet at " << i;
    }
    for (size_t i = r.length; i < ref.size(); ++i) {
      if (ref[i] != kCanary)
        return AssertionFailure() << "libsrtp wrote past the packet at " << i;
    }
    if (wire) wire->assign(buf.get(), buf.get() + r.length);
    return AssertionSuccess();
  }

  // Unprotects the same received octets both ways: the same verdict, and on
  // success the same plaintext.
  AssertionResult unprotect(const Bytes& wire, bool rtcp,
                            PacketStatus* status) {
    // Exactly the packet's size: ASan sees reads past it.
    auto buf =
        std::make_unique<std::uint8_t[]>(std::max<size_t>(wire.size(), 1));
    if (!wire.empty()) std::memcpy(buf.get(), wire.data(), wire.size());
    std::span<std::uint8_t> span(buf.get(), wire.size());
    PacketResult r =
        rtcp ? ours_->unprotect_rtcp(span) : ours_->unprotect_rtp(span);
    count_unprotect(expected_, rtcp, r.status, r.length);

    Bytes ref = wire;
    int len = static_cast<int>(ref.size());
    PacketStatus rs =
        from_libsrtp(rtcp ? srtp_unprotect_rtcp(in_ref_.get(), ref.data(), &len)
                          : srtp_unprotect(in_ref_.get(), ref.data(), &len));
    if (status) *status = r.status;
    const char* kind = rtcp ? "unprotect_rtcp" : "unprotect_rtp";
    if (r.status != rs) {
      return AssertionFailure()
             << kind << " of " << hex_head(wire) << ": SrtpContext "
             << packet_status_code(r.status) << ", libsrtp "
             << packet_status_code(rs);
    }
    if (!r.ok()) return AssertionSuccess();
    if (r.length != static_cast<size_t>(len)) {
      return AssertionFailure()
             << kind << " of " << hex_head(wire) << ": SrtpContext left "
             << r.length << " octets, libsrtp " << len;
    }
    if (std::memcmp(buf.get(), ref.data(), r.length) != 0) {
      return AssertionFailure()
             << kind << " of " << hex_head(wire)
             << ": plaintext differs: SrtpContext "
             << hex_head({buf.get(), r.length}) << ", libsrtp "
             << hex_head({ref.data(), r.length});
    }
    return AssertionSuccess();
  }

  // What SrtpContext must refuse on its own (libsrtp would protect some of
  // these: it does not check the version): the reference never sees it, so
  // any state it left behind shows in later packets.
  AssertionResult protect_refused(const Bytes& plain, size_t room) {
    auto buf = std::make_unique<std::uint8_t[]>(plain.size() + room + 1);
    if (!plain.empty()) std::memcpy(buf.get(), plain.data(), plain.size());
    PacketResult r =
        ours_->protect_rtp({buf.get(), plain.size() + room}, plain.size());
    count_protect(expected_, false, r.status, plain.size());
    if (r.ok()) {
      return AssertionFailure() << "protect_rtp accepted " << hex_head(plain)
                                << " with " << room << " octets of room";
    }
    return AssertionSuccess();
  }
  AssertionResult unprotect_refused(const Bytes& wire, bool rtcp) {
    auto buf = std::make_unique<std::uint8_t[]>(wire.size() + 1);
    if (!wire.empty()) std::memcpy(buf.get(), wire.data(), wire.size());
    std::span<std::uint8_t> span(buf.get(), wire.size());
    PacketResult r =
        rtcp ? ours_->unprotect_rtcp(span) : ours_->unprotect_rtp(span);
    count_unprotect(expected_, rtcp, r.status, r.length);
    if (r.ok()) {
      return AssertionFailure() << (rtcp ? "unprotect_rtcp" : "unprotect_rtp")
                                << " accepted " << hex_head(wire);
    }
    return AssertionSuccess();
  }

  // The counters follow from the verdicts alone.
  AssertionResult counters_match() const {
    const MediaCounters& a = ours_->counters();
    const MediaCounters& e = expected_;
    std::string diff;
    auto field = [&](const char* name, std::uint64_t got, std::uint64_t want) {
      if (got != want)
        diff += std::string(" ") + name + " " + std::to_string(got) +
                " (expected " + std::to_string(want) + ")";
    };
    field("rtp_packets_protected", a.rtp_packets_protected,
          e.rtp_packets_protected);
    field("rtp_bytes_protected", a.rtp_bytes_protected, e.rtp_bytes_protected);
    field("rtcp_packets_protected", a.rtcp_packets_protected,
          e.rtcp_packets_protected);
    field("rtcp_bytes_protected", a.rtcp_bytes_protected,
          e.rtcp_bytes_protected);
    field("rtp_packets_unprotected", a.rtp_packets_unprotected,
          e.rtp_packets_unprotected);
    field("rtp_bytes_unprotected", a.rtp_bytes_unprotected,
          e.rtp_bytes_unprotected);
    field("rtcp_packets_unprotected", a.rtcp_packets_unprotected,
          e.rtcp_packets_unprotected);
    field("rtcp_bytes_unprotected", a.rtcp_bytes_unprotected,
          e.rtcp_bytes_unprotected);
    field("auth_failures", a.auth_failures, e.auth_failures);
    field("replay_failures", a.replay_failures, e.replay_failures);
    field("malformed", a.malformed, e.malformed);
    field("too_short", a.too_short, e.too_short);
    field("other_failures", a.other_failures, e.other_failures);
    field("protect_failures", a.protect_failures, e.protect_failures);
    field("key_soft_limit_events", a.key_soft_limit_events, 0);
    if (!diff.empty()) return AssertionFailure() << "counters:" << diff;
    return AssertionSuccess();
  }

 private:
  Session out_ref_, in_ref_;
  std::unique_ptr<SrtpContext> ours_;
  MediaCounters expected_;
};

// The far end's sender: raw libsrtp with the far end's outbound keys.
class Peer {
 public:
  Peer(const SrtpKeys& keys, Side our_side, ContextOptions options)
      : session_(reference_session(keys.profile,
                                   keys.outbound_master(other(our_side)), true,
                                   options)) {}
  bool ready() const { return session_ != nullptr; }
  // The wire packet, or nothing when libsrtp refuses to protect it.
  std::optional<Bytes> protect(const Bytes& plain, bool rtcp) {
    Bytes p = plain;
    p.resize(plain.size() + kMaxTrailer);
    int len = static_cast<int>(plain.size());
    srtp_err_status_t e =
        rtcp ? srtp_protect_rtcp(session_.get(), p.data(), &len)
             : srtp_protect(session_.get(), p.data(), &len);
    if (e != srtp_err_status_ok) return std::nullopt;
    p.resize(static_cast<size_t>(len));
    return p;
  }

 private:
  Session session_;
};

// Random octets: a tag or SRTCP trailer that cannot verify.
void append_garbage(Rng& rng, Bytes& p, size_t n) {
  for (size_t i = 0; i < n; ++i) p.push_back(rng.byte());
}

// A forged SRTP packet: well formed, any SSRC and sequence number, a tag that
// cannot verify.
Bytes forged_rtp(Rng& rng, std::uint32_t ssrc, std::uint16_t seq, size_t tag) {
  Bytes p = random_rtp(rng, ssrc, seq);
  append_garbage(rng, p, tag);
  return p;
}

// ---- Streams of sequence numbers.

// One SSRC's sequence numbers as a sender produces them: mostly in order,
// with what real senders and networks do to them (RFC 3711 §3.3.1's index
// estimation has to survive all of it).
struct Stream {
  std::uint32_t ssrc = 0;
  std::uint16_t next = 0;  // the next in-order sequence number
  double leap = 0;         // how often it leaps forward (wraps sooner)
  bool started = false;
  size_t since_leap = 0;
  std::uint64_t span = 0;  // how far the in-order sequence moved from the first
  size_t wraps = 0;        // how often the in-order sequence number wrapped
  std::vector<std::uint16_t> recent;
};

std::uint16_t next_seq(Stream& s, Rng& rng, size_t window) {
  const std::uint16_t before = s.next;
  const std::uint16_t newest = u16(s.next - 1u);
  // Never before the stream's first packet: while its index is at most
  // 0x8000, libsrtp takes a sequence number "behind" zero as a leap forward
  // and moves its ROC on for good (IndexEstimationEdges pins that), and a
  // receiver that lost that one packet could follow the stream no more.
  const auto behind = [&](std::uint32_t k) -> std::optional<std::uint16_t> {
    if (k > s.span) return std::nullopt;
    return u16(newest - k);
  };
  std::optional<std::uint16_t> seq;
  const std::uint32_t r = rng.below(1000);
  const std::uint32_t leap = static_cast<std::uint32_t>(s.leap * 1000);
  if (!s.started) {
    s.started = true;
  } else if (r < 40 && !s.recent.empty()) {  // retransmission
    const size_t back = rng.below(
        static_cast<std::uint32_t>(std::min<size_t>(s.recent.size(), 16)));
    seq = s.recent[s.recent.size() - 1 - back];
  } else if (r < 100) {  // reordered: a little behind the newest
    seq = behind(rng.below(48));
  } else if (r < 120) {  // about the replay window's edge (RFC 3711 §3.3.2)
    seq = behind(static_cast<std::uint32_t>(window) - 2 + rng.below(5));
  } else if (r < 130) {  // far behind
    seq = behind(rng.range(0x100, 0x7fff));
  } else if (r < 140 && s.span > 0x8000 + 64) {
    // More than half the sequence space ahead: RFC 3711 §3.3.1 takes it
    // for a packet from before the last roll-over.
    // (Exactly 0x8000 ahead is not: libsrtp takes it for a leap forward.)
    seq = u16(newest + rng.range(0x8001, 0xffff));
  } else if (r < 200) {  // a gap (later reordering may fill it)
    const std::uint32_t gap = rng.range(1, 5);
    s.next = u16(s.next + gap);
    s.span += gap;
  } else if (r < 200 + leap && s.since_leap > 64) {
    // A leap the stream moves on from. Far enough apart and short enough
    // that a receiver missing one still sees the next within 0x8000.
    const std::uint32_t jump = rng.range(0x100, 0x7000);
    s.next = u16(s.next + jump);
    s.span += jump;
    s.since_leap = 0;
  }
  if (!seq) {
    seq = s.next++;
    s.span++;
    // Only these are retransmitted: one far off would move libsrtp's ROC.
    s.recent.push_back(*seq);
    if (s.recent.size() > 64) s.recent.erase(s.recent.begin());
  }
  if (s.next < before) s.wraps++;
  s.since_leap++;
  return *seq;
}

// Where a stream starts: at 0, just below the wrap (RFC 3711 §3.3.1: the
// ROC must follow it), past 0x8000 (libsrtp's estimation switches there),
// or anywhere.
std::uint16_t start_seq(Rng& rng) {
  switch (rng.below(5)) {
    case 0:
      return u16(rng.below(4));
    case 1:
    case 2:
      return u16(rng.range(65400, 65535));
    case 3:
      return u16(rng.range(0x8001, 0xffff));
    default:
      return u16(rng.word());
  }
}

// SSRCs that share high or low octets, and 0 and ~0, besides random ones: a
// table keyed by SSRC must tell them apart, and the AEAD IV (RFC 7714 §8.1:
// salt XOR SSRC, ROC and sequence number) must take all four octets.
std::vector<std::uint32_t> make_ssrcs(Rng& rng, size_t n) {
  std::vector<std::uint32_t> out;
  const std::uint32_t base = rng.word();
  while (out.size() < n) {
    std::uint32_t s;
    switch (rng.below(5)) {
      case 0:
        s = base + static_cast<std::uint32_t>(out.size());
        break;
      case 1:
        s = (base & 0xffff) | (static_cast<std::uint32_t>(out.size()) << 16);
        break;
      case 2:
        s = rng.chance(0.5) ? 0u : 0xffffffffu;
        break;
      default:
        s = rng.word();
        break;
    }
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

std::vector<Stream> make_streams(Rng& rng, size_t n) {
  std::vector<Stream> streams;
  for (std::uint32_t ssrc : make_ssrcs(rng, n)) {
    Stream s;
    s.ssrc = ssrc;
    // The first stream leaps often, so it wraps several times in a run; the
    // second starts a few packets before its first wrap.
    s.next =
        streams.size() == 1 ? u16(rng.range(65520, 65535)) : start_seq(rng);
    s.leap = streams.empty() || rng.chance(0.4) ? 0.1 : 0.005;
    streams.push_back(s);
  }
  return streams;
}

// The first stream must have wrapped several times when alone, the second
// at least once (RFC 3711 §3.3.1: each wrap moves the ROC), or the traffic
// tests less than it claims to.
void expect_wraps(const std::vector<Stream>& streams) {
  if (streams.size() == 1) {
    EXPECT_GE(streams[0].wraps, 2u);
  } else {
    EXPECT_GE(streams[1].wraps, 1u);
  }
}

struct Combo {
  Profile profile;
  size_t window;
  bool repeat;
  size_t ssrcs;
};

std::vector<Combo> all_combos() {
  std::vector<Combo> out;
  for (Profile p : kProfiles)
    for (size_t window : {size_t{64}, size_t{1024}})
      for (bool repeat : {true, false})
        for (size_t ssrcs : {size_t{1}, size_t{5}, size_t{20}})
          out.push_back({p, window, repeat, ssrcs});
  return out;
}

std::string describe(const Combo& c) {
  return std::string(profile_info(c.profile).name) + ", window " +
         std::to_string(c.window) + ", allow_repeat_tx " +
         (c.repeat ? "true" : "false") + ", " + std::to_string(c.ssrcs) +
         " SSRCs";
}

// The AEAD profiles get the most traffic: theirs is the path SrtpContext
// takes over from libsrtp first.
size_t packets_for(Profile p) { return profile_info(p).aead ? 6000 : 3000; }

// ---- Scenario 1: outbound.

void run_outbound(const Combo& combo, std::uint32_t seed) {
  Rng rng(seed);
  ContextOptions options;
  options.replay_window = combo.window;
  options.allow_repeat_tx = combo.repeat;
  const Side side = rng.chance(0.5) ? Side::kClient : Side::kServer;
  Lane lane(random_keys(combo.profile, rng), side, options);
  ASSERT_TRUE(lane.ready());
  std::vector<Stream> streams = make_streams(rng, combo.ssrcs);
  // Streams start one after another: the later ones find the first ones'
  // places taken.
  std::vector<size_t> starts;
  const size_t packets = packets_for(combo.profile);
  for (size_t i = 0; i < streams.size(); ++i)
    starts.push_back(
        i == 0 ? 0 : rng.below(static_cast<std::uint32_t>(packets / 2)));
  std::sort(starts.begin(), starts.end());
  size_t ok = 0, refused = 0;
  for (size_t step = 0; step < packets; ++step) {
    size_t live = 0;
    while (live < streams.size() && starts[live] <= step) ++live;
    Stream& s = streams[rng.below(static_cast<std::uint32_t>(live))];
    SCOPED_TRACE("step " + std::to_string(step) + ", SSRC " +
                 std::to_string(s.ssrc));
    const std::uint32_t r = rng.below(1000);
    if (r < 30) {  // SRTCP, for a sending SSRC or one that has not yet
      Stream& t =
          streams[rng.below(static_cast<std::uint32_t>(streams.size()))];
      ASSERT_TRUE(
          lane.protect(random_rtcp(rng, t.ssrc), true, rng.below(8), nullptr));
      continue;
    }
    if (r < 40) {  // not RTP SrtpContext would protect
      ASSERT_TRUE(lane.protect_refused(malformed_rtp(rng, s.ssrc, s.next),
                                       kMaxTrailer));
      continue;
    }
    if (r < 45) {  // no room for the trailer: refused before any state moves
      Bytes p = random_rtp(rng, s.ssrc, s.next);
      ASSERT_TRUE(lane.protect_refused(
          p,
          lane.tag() - 1 - rng.below(static_cast<std::uint32_t>(lane.tag()))));
      continue;
    }
    const std::uint16_t seq = next_seq(s, rng, combo.window);
    PacketStatus st;
    ASSERT_TRUE(lane.protect(random_rtp(rng, s.ssrc, seq), false,
                             rng.chance(0.5) ? 0 : rng.below(32), &st))
        << "seq " << seq;
    (st == PacketStatus::kOk ? ok : refused)++;
  }
  EXPECT_TRUE(lane.counters_match());
  expect_wraps(streams);
  // The traffic must have reached both verdicts, or it tests little.
  EXPECT_GT(ok, packets / 2);
  if (!combo.repeat) {
    EXPECT_GT(refused, 0u);
  }
}

TEST(SrtpContextDifferential, ProtectMatchesLibsrtp) {
  ASSERT_TRUE(ensure_initialized().ok());
  std::uint32_t scenario = 100;
  for (const Combo& c : all_combos()) {
    const std::uint32_t seed = scenario_seed(++scenario);
    SCOPED_TRACE(describe(c) + "; " + seed_trace(scenario, seed));
    ASSERT_NO_FATAL_FAILURE(run_outbound(c, seed));
  }
}

// ---- Scenario 2: inbound, through an impaired network.

struct Delivery {
  Bytes wire;
  bool rtcp = false;
  // The first packet of its SSRC, delivered as sent: it must be accepted
  // whatever forgeries of that SSRC came before it.
  bool must_accept = false;
};

void run_inbound(const Combo& combo, std::uint32_t seed) {
  Rng rng(seed);
  ContextOptions options;
  options.replay_window = combo.window;
  options.allow_repeat_tx = combo.repeat;
  const Side side = rng.chance(0.5) ? Side::kClient : Side::kServer;
  SrtpKeys keys = random_keys(combo.profile, rng);
  Lane lane(keys, side, options);
  ContextOptions peer_options = options;
  peer_options.allow_repeat_tx = true;  // so retransmissions reach the wire
  Peer peer(keys, side, peer_options);
  ASSERT_TRUE(lane.ready());
  ASSERT_TRUE(peer.ready());
  const size_t tag = lane.tag();
  const size_t rtcp_trailer = lane.rtcp_trailer();

  std::vector<Stream> streams = make_streams(rng, combo.ssrcs);
  const size_t packets = packets_for(combo.profile);
  std::vector<size_t> starts;
  for (size_t i = 0; i < streams.size(); ++i)
    starts.push_back(
        i == 0 ? 0 : rng.below(static_cast<std::uint32_t>(packets / 2)));
  std::sort(starts.begin(), starts.end());

  std::multimap<std::uint64_t, Delivery> pending;  // by delivery time
  std::vector<Delivery> history;                   // all genuine packets
  size_t accepted = 0, replayed = 0, auth_failed = 0;

  auto deliver = [&](const Delivery& d) -> AssertionResult {
    const bool comparable = d.rtcp ? comparable_srtcp(d.wire, rtcp_trailer)
                                   : comparable_srtp(d.wire, tag);
    if (!comparable) return lane.unprotect_refused(d.wire, d.rtcp);
    PacketStatus st;
    AssertionResult same = lane.unprotect(d.wire, d.rtcp, &st);
    if (!same) return same;
    if (d.must_accept && st != PacketStatus::kOk) {
      return AssertionFailure()
             << "the first genuine packet of SSRC " << ssrc_of(d.wire)
             << " was refused (" << packet_status_code(st)
             << ") after forgeries of it";
    }
    if (!d.rtcp) {
      if (st == PacketStatus::kOk) accepted++;
      if (st == PacketStatus::kReplayed) replayed++;
      if (st == PacketStatus::kAuthFailed) auth_failed++;
    }
    return AssertionSuccess();
  };
  // A network that loses, delays, reorders and duplicates (seeded).
  auto send = [&](std::uint64_t now, Delivery d) {
    history.push_back(d);
    if (d.must_accept) {
      pending.emplace(now, std::move(d));
      return;
    }
    const std::uint32_t r = rng.below(1000);
    if (r < 50) return;  // lost (still in history: may come back late)
    std::uint64_t at = now;
    if (r < 200) {
      at += rng.range(1, 30);  // reordered
    } else if (r < 230) {
      // Late by about a window's worth of this SSRC's packets.
      at += combo.ssrcs * (combo.window + rng.range(0, 16) - 8);
    }
    if (rng.chance(0.02)) pending.emplace(at + rng.below(50), d);  // twice
    pending.emplace(at, std::move(d));
  };

  // Before anything genuine: forgeries from every SSRC that will send, and
  // from others that never will. None may create a stream or take a place
  // a genuine SSRC needs later.
  for (const Stream& s : streams) {
    Delivery d{forged_rtp(rng, s.ssrc, u16(rng.word()), tag), false, false};
    ASSERT_TRUE(deliver(d)) << "forgery before the start";
  }
  for (int i = 0; i < 20; ++i) {
    Delivery d{forged_rtp(rng, rng.word(), u16(rng.word()), tag), false, false};
    ASSERT_TRUE(deliver(d)) << "forgery from an unknown SSRC";
  }

  std::uint64_t now = 0;
  for (size_t step = 0; step < packets; ++step, ++now) {
    size_t live = 0;
    while (live < streams.size() && starts[live] <= step) ++live;
    Stream& s = streams[rng.below(static_cast<std::uint32_t>(live))];
    SCOPED_TRACE("step " + std::to_string(step) + ", SSRC " +
                 std::to_string(s.ssrc));
    const std::uint32_t r = rng.below(1000);
    if (r < 30) {  // SRTCP through the same network
      Stream& t =
          streams[rng.below(static_cast<std::uint32_t>(streams.size()))];
      if (auto w = peer.protect(random_rtcp(rng, t.ssrc), true))
        send(now, {*w, true, false});
    } else if (r < 60 && !history.empty()) {  // one bit flipped
      Delivery d = history[history.size() - 1 -
                           rng.below(static_cast<std::uint32_t>(
                               std::min<size_t>(history.size(), 64)))];
      const size_t trailer = d.rtcp ? rtcp_trailer : tag;
      const size_t header = d.rtcp ? 8 : rtp_header_size(d.wire);
      size_t lo = 0, hi = header;  // the header
      const std::uint32_t where = rng.below(3);
      if (where == 1 && d.wire.size() - trailer > header) {  // the payload
        lo = header;
        hi = d.wire.size() - trailer;
      } else if (where == 2) {  // the tag (or SRTCP's E flag and index)
        lo = d.wire.size() - trailer;
        hi = d.wire.size();
      }
      const size_t bit = rng.range(static_cast<std::uint32_t>(8 * lo),
                                   static_cast<std::uint32_t>(8 * hi - 1));
      d.wire[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      d.must_accept = false;
      ASSERT_TRUE(deliver(d)) << "bit " << bit << " flipped";
    } else if (r < 80 && s.started) {  // a forgery about the newest
      static constexpr std::int32_t kNear[] = {1, 2, 0, -1, -63, -64, -65};
      std::uint16_t seq;
      const std::uint16_t newest = u16(s.next - 1u);
      switch (rng.below(4)) {
        case 0:
          seq = u16(newest + static_cast<std::uint32_t>(kNear[rng.below(7)]));
          break;
        case 1:
          seq = u16(newest - (combo.window - 2 + rng.below(5)));
          break;
        case 2:
          seq = u16(newest + 0x7ffe + rng.below(5));  // about half the space
          break;
        default:
          seq = u16(rng.word());
          break;
      }
      ASSERT_TRUE(deliver({forged_rtp(rng, s.ssrc, seq, tag), false, false}))
          << "forged seq " << seq;
    } else if (r < 90) {  // a forgery from an SSRC not sending (yet)
      const std::uint32_t ssrc =
          rng.chance(0.5)
              ? streams[rng.below(static_cast<std::uint32_t>(streams.size()))]
                    .ssrc
              : rng.word();
      if (rng.chance(0.8)) {
        ASSERT_TRUE(deliver(
            {forged_rtp(rng, ssrc, u16(rng.word()), tag), false, false}));
      } else {
        Bytes p = random_rtcp(rng, ssrc);
        append_garbage(rng, p, rtcp_trailer);
        ASSERT_TRUE(deliver({p, true, false})) << "forged SRTCP";
      }
    } else if (r < 100 && !history.empty()) {  // truncated
      Delivery d =
          history[rng.below(static_cast<std::uint32_t>(history.size()))];
      d.wire.resize(rng.below(static_cast<std::uint32_t>(d.wire.size())));
      d.must_accept = false;
      ASSERT_TRUE(deliver(d)) << "truncated to " << d.wire.size();
    } else if (r < 120 && !history.empty()) {  // a replay of anything sent
      Delivery d =
          history[rng.below(static_cast<std::uint32_t>(history.size()))];
      d.must_accept = false;
      ASSERT_TRUE(deliver(d)) << "replayed";
    } else if (r < 125 && s.started) {
      // Validly tagged, but not RTP SrtpContext takes (libsrtp never checks
      // the version); SrtpContext alone sees it.
      Bytes p = random_rtp(rng, s.ssrc, s.next);
      p[0] = static_cast<std::uint8_t>((p[0] & 0x3f) | 0x40);
      if (auto w = peer.protect(p, false)) {
        ASSERT_TRUE(lane.unprotect_refused(*w, false)) << "version 1";
      }
    } else {
      const bool first = !s.started;
      const std::uint16_t seq = next_seq(s, rng, combo.window);
      if (auto w = peer.protect(random_rtp(rng, s.ssrc, seq), false))
        send(now, {*w, false, first});
    }
    for (auto it = pending.begin(); it != pending.end() && it->first <= now;
         it = pending.erase(it)) {
      ASSERT_TRUE(deliver(it->second)) << "sent at step ~" << it->first;
    }
  }
  for (auto& [at, d] : pending) ASSERT_TRUE(deliver(d)) << "delivered last";
  EXPECT_TRUE(lane.counters_match());
  expect_wraps(streams);
  EXPECT_GT(accepted, packets / 2);
  EXPECT_GT(replayed, 0u);
  EXPECT_GT(auth_failed, 0u);
}

TEST(SrtpContextDifferential, UnprotectMatchesLibsrtp) {
  ASSERT_TRUE(ensure_initialized().ok());
  std::uint32_t scenario = 200;
  for (const Combo& c : all_combos()) {
    const std::uint32_t seed = scenario_seed(++scenario);
    SCOPED_TRACE(describe(c) + "; " + seed_trace(scenario, seed));
    ASSERT_NO_FATAL_FAILURE(run_inbound(c, seed));
  }
}

// ---- Scenario 3: the edges, scripted.

// SrtpContext takes the replay windows libsrtp takes. (libsrtp 2.5 refuses
// 32768, which validate_context_options let through when this was written;
// 0, libsrtp's "default", SrtpContext refuses on purpose and is left out.)
TEST(SrtpContextDifferential, TakesTheWindowsLibsrtpTakes) {
  ASSERT_TRUE(ensure_initialized().ok());
  Rng rng(scenario_seed(1));
  for (Profile p : kProfiles) {
    SrtpKeys keys = random_keys(p, rng);
    for (size_t window : {size_t{63}, size_t{64}, size_t{65}, size_t{100},
                          size_t{32767}, size_t{32768}, size_t{40000}}) {
      SCOPED_TRACE(std::string(profile_info(p).name) + ", window " +
                   std::to_string(window));
      ContextOptions o;
      o.replay_window = window;
      Session in = reference_session_or_null(
          p, keys.inbound_master(Side::kClient), false, o);
      Session out = reference_session_or_null(
          p, keys.outbound_master(Side::kClient), true, o);
      EXPECT_EQ(SrtpContext::create(keys, Side::kClient, o).ok(),
                in != nullptr && out != nullptr);
    }
  }
}

// libsrtp's bit mask holds whole 32-bit words: a window of 100 is one of 128.
size_t effective_window(size_t w) { return (w + 31) / 32 * 32; }

// SrtpContext and libsrtp protect `seqs` of one SSRC in order; `out` gets the
// verdicts.
void protect_script(Lane& lane, Rng& rng, std::uint32_t ssrc,
                    const std::vector<std::uint16_t>& seqs,
                    std::vector<PacketStatus>* out) {
  for (size_t i = 0; i < seqs.size(); ++i) {
    PacketStatus st;
    ASSERT_TRUE(lane.protect(random_rtp(rng, ssrc, seqs[i]), false, 0, &st))
        << "packet " << i << ", seq " << seqs[i];
    if (out) out->push_back(st);
  }
}

// The peer protects `sent` of one SSRC in order (what it refuses is forged
// instead); the lane receives the packets at `order`, each after a forgery
// with its header, which must leave no trace. `out` gets the verdicts.
void unprotect_script(Lane& lane, Peer& peer, Rng& rng, std::uint32_t ssrc,
                      const std::vector<std::uint16_t>& sent,
                      const std::vector<size_t>& order,
                      std::vector<PacketStatus>* out) {
  std::vector<Bytes> wires;
  for (std::uint16_t seq : sent) {
    Bytes plain = random_rtp(rng, ssrc, seq);
    if (auto w = peer.protect(plain, false)) {
      wires.push_back(*w);
    } else {
      append_garbage(rng, plain, lane.tag());
      wires.push_back(plain);
    }
  }
  for (size_t i : order) {
    SCOPED_TRACE("packet " + std::to_string(i) + ", seq " +
                 std::to_string(sent[i]));
    Bytes forged = wires[i];
    forged.back() ^= 0x01;
    ASSERT_TRUE(lane.unprotect(forged, false, nullptr)) << "forgery";
    PacketStatus st;
    ASSERT_TRUE(lane.unprotect(wires[i], false, &st));
    if (out) out->push_back(st);
  }
}

std::vector<size_t> in_order(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// RFC 3711 §3.3.2: a packet is checked against the window behind the newest
// index. Packets exactly window - 1, window and window + 1 behind, for
// windows libsrtp rounds (100 -> 128) and the largest (where "behind" meets
// the half-space of RFC 3711 §3.3.1's estimation), with the newest in either
// half of the sequence space and the window reaching back across a wrap.
TEST(SrtpContextDifferential, ReplayWindowEdges) {
  ASSERT_TRUE(ensure_initialized().ok());
  std::uint32_t scenario = 300;
  for (Profile p : kProfiles) {
    for (size_t window :
         {size_t{64}, size_t{100}, size_t{1024}, size_t{32767}}) {
      for (std::uint64_t newest :
           {std::uint64_t{0x12000}, std::uint64_t{0x1c000},
            std::uint64_t{0x20010}}) {
        const std::uint32_t seed = scenario_seed(++scenario);
        SCOPED_TRACE(std::string(profile_info(p).name) + ", window " +
                     std::to_string(window) + ", newest index " +
                     std::to_string(newest) + "; " +
                     seed_trace(scenario, seed));
        Rng rng(seed);
        const size_t weff = effective_window(window);
        std::vector<std::uint64_t> behind = {window - 1, window, window + 1,
                                             weff - 1,   weff,   weff + 1};
        std::sort(behind.begin(), behind.end());
        behind.erase(std::unique(behind.begin(), behind.end()), behind.end());
        // Indices the sender goes through: a first packet, stepping stones
        // at most 0x4000 apart (never more than half the space), the probes
        // oldest first, the newest and one more.
        std::vector<std::uint64_t> indices;
        std::uint64_t at = std::min<std::uint64_t>(0xfff0, newest - weff - 8);
        auto step_to = [&](std::uint64_t target) {
          while (target - at > 0x4000) indices.push_back(at += 0x4000);
          indices.push_back(at = target);
        };
        indices.push_back(at);
        std::vector<size_t> probe_pos;
        for (auto it = behind.rbegin(); it != behind.rend(); ++it) {
          step_to(newest - *it);
          probe_pos.push_back(indices.size() - 1);
        }
        step_to(newest);
        const size_t newest_pos = indices.size() - 1;
        indices.push_back(newest + 1);
        std::vector<std::uint16_t> seqs;
        for (std::uint64_t i : indices) seqs.push_back(u16(i));

        ContextOptions options;
        options.replay_window = window;
        for (bool repeat : {true, false}) {
          options.allow_repeat_tx = repeat;
          SrtpKeys keys = random_keys(p, rng);
          const std::uint32_t ssrc = rng.word();

          // Receiving: everything but the probes, the newest, then the
          // probes, then again the nearest probe and the newest, then one
          // more (which moves the window past the nearest probe).
          Lane in(keys, Side::kServer, options);
          ContextOptions peer_options = options;
          peer_options.replay_window = 0x7fff;
          Peer peer(keys, Side::kServer, peer_options);
          ASSERT_TRUE(in.ready());
          ASSERT_TRUE(peer.ready());
          std::vector<size_t> order;
          for (size_t i = 0; i <= newest_pos; ++i)
            if (std::find(probe_pos.begin(), probe_pos.end(), i) ==
                probe_pos.end())
              order.push_back(i);
          const size_t first_probe = order.size();
          order.insert(order.end(), probe_pos.rbegin(), probe_pos.rend());
          order.push_back(probe_pos.back());
          order.push_back(newest_pos);
          order.push_back(newest_pos + 1);
          std::vector<PacketStatus> got;
          ASSERT_NO_FATAL_FAILURE(
              unprotect_script(in, peer, rng, ssrc, seqs, order, &got));
          for (size_t i = 0; i < first_probe; ++i)
            EXPECT_EQ(got[i], PacketStatus::kOk) << "packet " << order[i];
          if (weff < 0x8000) {  // beyond, the estimation decides first
            for (size_t k = 0; k < behind.size(); ++k) {
              EXPECT_EQ(got[first_probe + k], behind[k] < weff
                                                  ? PacketStatus::kOk
                                                  : PacketStatus::kReplayed)
                  << behind[k] << " behind the newest";
            }
          }
          EXPECT_EQ(got[got.size() - 3], PacketStatus::kReplayed);
          EXPECT_EQ(got[got.size() - 2], PacketStatus::kReplayed);
          EXPECT_EQ(got.back(), PacketStatus::kOk);
          EXPECT_TRUE(in.counters_match());

          // Sending: the newest first, then the probes, never sent before,
          // then the nearest probe again (a retransmission).
          Lane out(keys, Side::kClient, options);
          ASSERT_TRUE(out.ready());
          std::vector<std::uint16_t> sends;
          for (size_t i = 0; i <= newest_pos; ++i)
            if (std::find(probe_pos.begin(), probe_pos.end(), i) ==
                probe_pos.end())
              sends.push_back(seqs[i]);
          const size_t first_send_probe = sends.size();
          for (size_t k = 0; k < behind.size(); ++k)
            sends.push_back(u16(newest - behind[k]));
          sends.push_back(u16(newest - behind.front()));
          got.clear();
          ASSERT_NO_FATAL_FAILURE(protect_script(out, rng, ssrc, sends, &got));
          if (weff < 0x8000) {
            for (size_t k = 0; k < behind.size(); ++k) {
              EXPECT_EQ(got[first_send_probe + k],
                        behind[k] < weff ? PacketStatus::kOk
                                         : PacketStatus::kReplayed)
                  << "protect " << behind[k] << " behind the newest";
            }
            // libsrtp lets a sender repeat an index only inside the window.
            EXPECT_EQ(got.back(),
                      repeat ? PacketStatus::kOk : PacketStatus::kReplayed);
          }
          EXPECT_TRUE(out.counters_match());
        }
      }
    }
  }
}

// A forward jump of window - 1, window or window + 1: what it leaves of the
// old window (RFC 3711 §3.3.2; libsrtp shifts its bit mask by the jump).
TEST(SrtpContextDifferential, ForwardJumpsAcrossTheWindow) {
  ASSERT_TRUE(ensure_initialized().ok());
  std::uint32_t scenario = 400;
  for (Profile p : kProfiles) {
    for (size_t window : {size_t{64}, size_t{100}, size_t{1024}}) {
      const size_t weff = effective_window(window);
      for (size_t jump : {window - 1, window, window + 1, weff - 1, weff,
                          weff + 1, size_t{31}, size_t{32}, size_t{33}}) {
        const std::uint32_t seed = scenario_seed(++scenario);
        SCOPED_TRACE(std::string(profile_info(p).name) + ", window " +
                     std::to_string(window) + ", jump " + std::to_string(jump) +
                     "; " + seed_trace(scenario, seed));
        Rng rng(seed);
        ContextOptions options;
        options.replay_window = window;
        options.allow_repeat_tx = rng.chance(0.5);
        SrtpKeys keys = random_keys(p, rng);
        const std::uint32_t ssrc = rng.word();
        // x, x + 1 ... x + 3 sent; x + 4 is held back; then the jump.
        const std::uint16_t x = u16(rng.chance(0.5) ? 0xfff0 : rng.word());
        std::vector<std::uint16_t> seqs;
        for (std::uint16_t i = 0; i < 5; ++i) seqs.push_back(u16(x + i));
        seqs.push_back(u16(x + 3 + jump));
        Lane in(keys, Side::kClient, options);
        ContextOptions peer_options = options;
        peer_options.allow_repeat_tx = true;
        Peer peer(keys, Side::kClient, peer_options);
        ASSERT_TRUE(in.ready());
        ASSERT_TRUE(peer.ready());
        std::vector<PacketStatus> got;
        ASSERT_NO_FATAL_FAILURE(unprotect_script(
            in, peer, rng, ssrc, seqs, {0, 1, 2, 3, 5, 3, 2, 4, 0}, &got));
        // x + 3 was the newest: now `jump` behind; x + 4, never received,
        // jump - 1 behind.
        const auto expect = [&](size_t behind_new, bool received) {
          return behind_new < weff && !received ? PacketStatus::kOk
                                                : PacketStatus::kReplayed;
        };
        EXPECT_EQ(got[5], expect(jump, true));
        EXPECT_EQ(got[7], expect(jump - 1, false));
        EXPECT_EQ(got[8], PacketStatus::kReplayed);

        Lane out(keys, Side::kServer, options);
        ASSERT_TRUE(out.ready());
        got.clear();
        ASSERT_NO_FATAL_FAILURE(
            protect_script(out, rng, ssrc,
                           {seqs[0], seqs[1], seqs[2], seqs[3], seqs[5],
                            seqs[4], seqs[3], seqs[0]},
                           &got));
        EXPECT_EQ(got[5], expect(jump - 1, false));
        EXPECT_EQ(got[6], jump < weff && options.allow_repeat_tx
                              ? PacketStatus::kOk
                              : PacketStatus::kReplayed);
        EXPECT_TRUE(in.counters_match());
        EXPECT_TRUE(out.counters_match());
      }
    }
  }
}

// RFC 3711 §3.3.1's index estimation as libsrtp does it, at its boundaries:
// a first packet anywhere (libsrtp takes its ROC as 0 and its index as the
// sequence number), the 0x8000 half-space in both directions, and libsrtp's
// special case while the index is at most 0x8000, where it guesses no ROC
// below 0 (so a packet 0xfff0 after 0x0010 is a leap forward, not one from
// the previous roll-over). Each script is protected by both, and received by
// both in the order sent and then shuffled.
TEST(SrtpContextDifferential, IndexEstimationEdges) {
  ASSERT_TRUE(ensure_initialized().ok());
  struct Script {
    std::vector<std::uint16_t> seqs;
    // libsrtp's verdicts when protected in order (RFC 3711 or libsrtp
    // behaviour worth pinning); empty when not pinned.
    std::vector<PacketStatus> protect;
  };
  constexpr PacketStatus kOk = PacketStatus::kOk;
  constexpr PacketStatus kReplayed = PacketStatus::kReplayed;
  std::vector<Script> scripts = {
      {{0x8000, 0x0000, 0x0001}, {kOk, kReplayed, kReplayed}},
      {{0x8001, 0x0000, 0x0001}, {kOk, kOk, kOk}},  // ROC 1
      {{0x0000, 0x8000, 0x0001}, {kOk, kOk, kReplayed}},
      {{0x0000, 0x8001, 0x0001, 0x8002}, {kOk, kOk, kReplayed, kOk}},
      // 0xfff0 leaps forward (ROC 0); 0x0011 is then ROC 1, and 0xfff1 just
      // behind it, in ROC 0 again.
      {{0x0010, 0xfff0, 0x0011, 0xfff1}, {kOk, kOk, kOk, kOk}},
      {{0x7fff, 0xffff, 0x0000, 0x7fff}, {kOk, kOk, kOk, kOk}},
      {{0xffff, 0x0000, 0xffff, 0x7fff, 0x8000}, {}},
      {{0xfff0, 0x0100, 0x8100, 0x8101, 0x0101}, {}},
      {{0xfff0, 0x0100, 0x8101, 0x0101}, {}},
      {{0x9000, 0x1000, 0x0fff, 0x1001}, {}},
      {{0x9000, 0x1001, 0x1000, 0x0fff}, {}},
      {{0xc000, 0x4000, 0xc000, 0x4001, 0xc001}, {}},
      {{0x0000, 0x0000, 0x0001, 0x0000}, {}},
      {{0xffff, 0xffff, 0x0000, 0xffff}, {}},
      {{0x8000, 0x8000, 0x0000, 0xffff}, {}},
  };
  // And random scripts made of the same ingredients.
  Rng make(scenario_seed(500));
  for (int n = 0; n < 60; ++n) {
    static constexpr std::int32_t kSteps[] = {
        1,      -1,      2,      -2,     63,     64,      65,      -63,
        -64,    -65,     127,    128,    -127,   -128,    1023,    1024,
        -1023,  -1024,   0x7fff, 0x8000, 0x8001, -0x7fff, -0x8000, -0x8001,
        0x4000, -0x4000, 0x7ffe, 0,      0xffff, -0xffff};
    static constexpr std::uint16_t kStarts[] = {0,      1,      0x7fff, 0x8000,
                                                0x8001, 0xfffe, 0xffff, 0xff00};
    Script s;
    std::uint16_t seq =
        make.chance(0.5) ? kStarts[make.below(8)] : u16(make.word());
    s.seqs.push_back(seq);
    const std::uint32_t len = make.range(3, 8);
    while (s.seqs.size() < len) {
      seq = u16(seq + static_cast<std::uint32_t>(
                          kSteps[make.below(std::size(kSteps))]));
      s.seqs.push_back(seq);
    }
    scripts.push_back(s);
  }

  std::uint32_t scenario = 500;
  for (Profile p : kProfiles) {
    for (size_t window : {size_t{64}, size_t{1024}}) {
      for (size_t n = 0; n < scripts.size(); ++n) {
        const Script& script = scripts[n];
        const std::uint32_t seed = scenario_seed(++scenario);
        std::string seqs;
        for (std::uint16_t q : script.seqs) seqs += " " + std::to_string(q);
        SCOPED_TRACE(std::string(profile_info(p).name) + ", window " +
                     std::to_string(window) + ", script " + std::to_string(n) +
                     ":" + seqs + "; " + seed_trace(scenario, seed));
        Rng rng(seed);
        ContextOptions options;
        options.replay_window = window;
        options.allow_repeat_tx = rng.chance(0.5);
        SrtpKeys keys = random_keys(p, rng);
        const std::uint32_t ssrc = rng.word();

        Lane out(keys, Side::kClient, options);
        ASSERT_TRUE(out.ready());
        std::vector<PacketStatus> got;
        ASSERT_NO_FATAL_FAILURE(
            protect_script(out, rng, ssrc, script.seqs, &got));
        if (!script.protect.empty()) {
          for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i], script.protect[i])
                << "protect " << i << " (" << script.seqs[i] << ")";
          }
        }
        EXPECT_TRUE(out.counters_match());

        ContextOptions peer_options = options;
        peer_options.allow_repeat_tx = true;
        for (bool shuffled : {false, true}) {
          Lane in(keys, Side::kServer, options);
          Peer peer(keys, Side::kServer, peer_options);
          ASSERT_TRUE(in.ready());
          ASSERT_TRUE(peer.ready());
          std::vector<size_t> order = in_order(script.seqs.size());
          if (shuffled) std::shuffle(order.begin(), order.end(), rng.gen);
          // Everything once more: all replays now, or late arrivals.
          const size_t n_sent = order.size();
          for (size_t i = 0; i < n_sent; ++i)
            order.push_back(
                order[rng.below(static_cast<std::uint32_t>(n_sent))]);
          ASSERT_NO_FATAL_FAILURE(unprotect_script(in, peer, rng, ssrc,
                                                   script.seqs, order, nullptr))
              << (shuffled ? "shuffled" : "in order");
          EXPECT_TRUE(in.counters_match());
        }
      }
    }
  }
}

// More SSRCs than SrtpContext keeps on its own path (16), forgeries from
// SSRCs that have not sent yet, SRTCP that makes libsrtp's stream before
// any RTP: none may take a place a genuine SSRC needs, and every SSRC, the
// first 16 or the rest, must behave alike.
TEST(SrtpContextDifferential, ManySsrcsAndForgedOnes) {
  ASSERT_TRUE(ensure_initialized().ok());
  std::uint32_t scenario = 700;
  for (Profile p : kProfiles) {
    const std::uint32_t seed = scenario_seed(++scenario);
    SCOPED_TRACE(std::string(profile_info(p).name) + "; " +
                 seed_trace(scenario, seed));
    Rng rng(seed);
    ContextOptions options;
    options.replay_window = 64;
    options.allow_repeat_tx = false;
    SrtpKeys keys = random_keys(p, rng);
    Lane lane(keys, Side::kClient, options);
    ContextOptions peer_options = options;
    peer_options.allow_repeat_tx = true;
    Peer peer(keys, Side::kClient, peer_options);
    ASSERT_TRUE(lane.ready());
    ASSERT_TRUE(peer.ready());
    const size_t tag = lane.tag();
    std::vector<std::uint32_t> ssrcs = make_ssrcs(rng, 24);

    // 40 forgeries (RTP and SRTCP) from SSRCs that will send and others.
    for (int i = 0; i < 40; ++i) {
      const std::uint32_t ssrc =
          i < 24 ? ssrcs[static_cast<size_t>(i)] : rng.word();
      PacketStatus st;
      ASSERT_TRUE(lane.unprotect(forged_rtp(rng, ssrc, u16(rng.word()), tag),
                                 false, &st));
      EXPECT_EQ(st, PacketStatus::kAuthFailed);
      Bytes rtcp = random_rtcp(rng, ssrc);
      append_garbage(rng, rtcp, lane.rtcp_trailer());
      ASSERT_TRUE(lane.unprotect(rtcp, true, &st));
      EXPECT_NE(st, PacketStatus::kOk);
    }
    // Genuine SRTCP first for a few: libsrtp then has their stream before
    // their first RTP packet.
    for (size_t i = 0; i < 24; i += 5) {
      auto w = peer.protect(random_rtcp(rng, ssrcs[i]), true);
      ASSERT_TRUE(w.has_value());
      PacketStatus st;
      ASSERT_TRUE(lane.unprotect(*w, true, &st));
      EXPECT_EQ(st, PacketStatus::kOk);
    }
    // Then all 24 send, interleaved, from just below the wrap; and the
    // sending side does the same with 24 SSRCs of its own.
    std::vector<std::vector<Bytes>> sent(24);
    std::vector<std::uint16_t> next(24);
    for (auto& n : next) n = u16(rng.range(65500, 65535));
    for (int round = 0; round < 120; ++round) {
      for (size_t i = 0; i < 24; ++i) {
        SCOPED_TRACE("round " + std::to_string(round) + ", SSRC " +
                     std::to_string(ssrcs[i]));
        Bytes plain = random_rtp(rng, ssrcs[i], next[i]);
        PacketStatus st;
        ASSERT_TRUE(lane.protect(plain, false, 0, &st));
        EXPECT_EQ(st, PacketStatus::kOk);
        auto w = peer.protect(plain, false);
        next[i]++;
        ASSERT_TRUE(w.has_value());
        sent[i].push_back(*w);
        if (rng.chance(0.3)) continue;  // held back, delivered below
        if (rng.chance(0.1)) {  // a forgery first: the same, one bit off
          Bytes f = *w;
          f[f.size() - 1 - rng.below(static_cast<std::uint32_t>(tag))] ^= 0x40;
          ASSERT_TRUE(lane.unprotect(f, false, &st));
          EXPECT_EQ(st, PacketStatus::kAuthFailed);
        }
        ASSERT_TRUE(lane.unprotect(*w, false, &st));
        if (round == 0) {
          EXPECT_EQ(st, PacketStatus::kOk);
        }
      }
    }
    // The held back ones and replays of everything, in random order: inside
    // the window or not, received before or not.
    std::vector<const Bytes*> all;
    for (auto& v : sent)
      for (auto& w : v) all.push_back(&w);
    std::shuffle(all.begin(), all.end(), rng.gen);
    for (const Bytes* w : all) ASSERT_TRUE(lane.unprotect(*w, false, nullptr));
    EXPECT_TRUE(lane.counters_match());
  }
}

}  // namespace
}  // namespace dtls::srtp

#include "tools/bench/crypto_floor_bench.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <sstream>

#include "srtp/crypto_floor.h"
#include "srtp/srtp_context.h"
#include "srtp/srtp_profile.h"
#include "tools/bench/bench_support.h"

namespace dtls::bench {
namespace {

using srtp::CryptoFloor;
using srtp::PacketResult;
using srtp::PacketStatus;
using srtp::Profile;
using srtp::SrtpContext;
using Clock = std::chrono::steady_clock;

constexpr size_t kHeader = 12;
constexpr size_t kMaxTag = 16;

double ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

// One slice half's time, summed over its rounds.
struct Times {
  double protect_ns = 0, unprotect_ns = 0;
};

// The packets both sides protect into and unprotect from: one copy of the
// plain packet per slot, so that both pay the same copy and the same cache.
class Ring {
 public:
  Ring(size_t payload, int slots)
      : plain_(kHeader + payload, 0xab),
        // Slots start on cache lines: libsrtp reads headers as 32-bit words,
        // and both sides meet the same line boundaries.
        stride_((kHeader + payload + kMaxTag + 63) & ~size_t{63}),
        bytes_(stride_ * static_cast<size_t>(slots)),
        lengths_(static_cast<size_t>(slots)) {
    const std::uint8_t header[kHeader] = {0x80, 96, 0,    0,    0,    0,
                                          0,    0,  0x12, 0x34, 0x56, 0x78};
    std::memcpy(plain_.data(), header, kHeader);
  }
  int slots() const { return static_cast<int>(lengths_.size()); }
  size_t plain_length() const { return plain_.size(); }
  // Slot k holds the plain packet with sequence number `seq`.
  std::uint8_t* fill(int k, std::uint16_t seq) {
    std::uint8_t* p = slot(k);
    std::memcpy(p, plain_.data(), plain_.size());
    p[2] = static_cast<std::uint8_t>(seq >> 8);
    p[3] = static_cast<std::uint8_t>(seq);
    return p;
  }
  std::uint8_t* slot(int k) {
    return bytes_.data() + stride_ * static_cast<size_t>(k);
  }
  std::span<std::uint8_t> span(int k) { return {slot(k), stride_}; }
  size_t& length(int k) { return lengths_[static_cast<size_t>(k)]; }

 private:
  std::vector<std::uint8_t> plain_;
  size_t stride_;
  std::vector<std::uint8_t> bytes_;
  std::vector<size_t> lengths_;
};

// One slice half, the same loops for ours and the floor: `rounds` times,
// protect the whole ring, then unprotect it. fill(k, n) copies the plain
// packet into slot k and protects it as the half's n-th packet, returning its
// new length (0: failed); open(k, n) unprotects it (false: failed). Nothing
// else runs per packet, so both sides pay the same harness.
template <class Fill, class Open>
std::optional<Times> timed(Ring& ring, int rounds, Fill fill, Open open) {
  Times t;
  for (int r = 0; r < rounds; ++r) {
    const int first = r * ring.slots();
    const auto t0 = Clock::now();
    for (int k = 0; k < ring.slots(); ++k) {
      ring.length(k) = fill(k, first + k);
      if (ring.length(k) == 0) return std::nullopt;
    }
    const auto t1 = Clock::now();
    for (int k = 0; k < ring.slots(); ++k) {
      if (!open(k, first + k)) return std::nullopt;
    }
    const auto t2 = Clock::now();
    t.protect_ns += ns_between(t0, t1);
    t.unprotect_ns += ns_between(t1, t2);
  }
  return t;
}

// Ours: a sender and a receiver SrtpContext on the same keys, the packet
// index running on across slices (the receiver's replay window sees each
// once).
class Ours {
 public:
  static Result<std::unique_ptr<Ours>> create(Profile p) {
    const srtp::ProfileInfo& i = srtp::profile_info(p);
    srtp::SrtpKeys k;
    k.profile = p;
    k.client_key.assign(i.key_length, 0x11);
    k.server_key.assign(i.key_length, 0x22);
    k.client_salt.assign(i.salt_length, 0x33);
    k.server_salt.assign(i.salt_length, 0x44);
    auto out = std::make_unique<Ours>();
    auto send = SrtpContext::create(k, srtp::Side::kClient);
    if (!send.ok()) return send.error();
    auto receive = SrtpContext::create(k, srtp::Side::kServer);
    if (!receive.ok()) return receive.error();
    out->send_ = std::move(send).value();
    out->receive_ = std::move(receive).value();
    return out;
  }
  Result<Times> run(Ring& ring, int rounds) {
    PacketStatus failure = PacketStatus::kOk;
    auto t = timed(
        ring, rounds,
        [&](int k, int n) -> size_t {
          ring.fill(k, static_cast<std::uint16_t>(seq_ + n));
          const PacketResult p =
              send_->protect_rtp(ring.span(k), ring.plain_length());
          if (!p.ok()) failure = p.status;
          return p.ok() ? p.length : 0;
        },
        [&](int k, int) {
          const PacketResult p =
              receive_->unprotect_rtp(ring.span(k).first(ring.length(k)));
          if (!p.ok()) failure = p.status;
          return p.ok();
        });
    seq_ = static_cast<std::uint16_t>(seq_ + rounds * ring.slots());
    if (!t) {
      return make_error(srtp::packet_status_code(failure),
                        "crypto phase: our SRTP failed to round-trip a packet");
    }
    return *t;
  }

 private:
  std::unique_ptr<SrtpContext> send_, receive_;
  std::uint16_t seq_ = 0;
};

// The floor: the same ring, the same copies, its own index.
class Floor {
 public:
  static Result<std::unique_ptr<Floor>> create(Profile p) {
    auto seal = CryptoFloor::create(p);
    if (!seal.ok()) return seal.error();
    auto open = CryptoFloor::create(p);
    if (!open.ok()) return open.error();
    auto out = std::make_unique<Floor>();
    out->seal_ = std::move(seal).value();
    out->open_ = std::move(open).value();
    return out;
  }
  Result<Times> run(Ring& ring, int rounds) {
    auto t = timed(
        ring, rounds,
        [&](int k, int n) {
          const std::uint32_t index = index_ + static_cast<std::uint32_t>(n);
          std::uint8_t* p = ring.fill(k, static_cast<std::uint16_t>(index));
          return seal_->protect(p, ring.plain_length(), index);
        },
        [&](int k, int n) {
          return open_->unprotect(ring.slot(k), ring.length(k),
                                  index_ + static_cast<std::uint32_t>(n));
        });
    index_ += static_cast<std::uint32_t>(rounds * ring.slots());
    if (!t) {
      return make_error("ERR_SRTP_FAILED",
                        "crypto phase: the floor failed to round-trip a "
                        "packet");
    }
    return *t;
  }

 private:
  std::unique_ptr<CryptoFloor> seal_, open_;
  std::uint32_t index_ = 0;
};

Result<CryptoFloorPoint> measure(const CryptoFloorOptions& o, Profile p,
                                 size_t payload) {
  auto ours = Ours::create(p);
  if (!ours.ok()) return ours.error();
  auto floor = Floor::create(p);
  if (!floor.ok()) return floor.error();
  Ring ring(payload, o.packets);
  const double per = static_cast<double>(o.packets) * o.rounds;
  std::vector<double> op, fp, ou, fu, rp, ru;
  // Slice -1 warms both up and is not counted.
  for (int s = -1; s < o.slices; ++s) {
    Result<Times> a = Times{}, b = Times{};
    if (s % 2 == 0) {
      a = (*ours)->run(ring, o.rounds);
      b = (*floor)->run(ring, o.rounds);
    } else {
      b = (*floor)->run(ring, o.rounds);
      a = (*ours)->run(ring, o.rounds);
    }
    if (!a.ok()) return a.error();
    if (!b.ok()) return b.error();
    if (s < 0) continue;
    op.push_back(a->protect_ns / per);
    ou.push_back(a->unprotect_ns / per);
    fp.push_back(b->protect_ns / per);
    fu.push_back(b->unprotect_ns / per);
    rp.push_back(a->protect_ns / b->protect_ns);
    ru.push_back(a->unprotect_ns / b->unprotect_ns);
  }
  CryptoFloorPoint pt;
  pt.profile = std::string(srtp::profile_info(p).name);
  pt.payload = payload;
  pt.goal = srtp::profile_info(p).aead ? kAeadFloorGoal : kCmFloorGoal;
  pt.ours_protect_ns = median(op);
  pt.floor_protect_ns = median(fp);
  pt.ours_unprotect_ns = median(ou);
  pt.floor_unprotect_ns = median(fu);
  pt.protect_ratio = median(rp);
  pt.unprotect_ratio = median(ru);
  return pt;
}

}  // namespace

Result<CryptoFloorResult> run_crypto_floor_bench(const CryptoFloorOptions& o) {
  if (o.slices < 1 || o.packets < 1 || o.rounds < 1 || o.payloads.empty()) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "the crypto phase needs positive slices, packets, "
                      "rounds and a payload");
  }
  for (size_t payload : o.payloads) {
    if (payload < 1 || payload > 1400) {
      return make_error("ERR_INVALID_ARG_VALUE",
                        "crypto phase: payloads are 1..1400 bytes");
    }
  }
  std::vector<Profile> profiles;
  for (const std::string& name : o.profiles) {
    const auto p = srtp::profile_from_name(name);
    if (!p) {
      return make_error("ERR_INVALID_ARG_VALUE",
                        "crypto phase: unknown profile '" + name + "'");
    }
    profiles.push_back(*p);
  }
  CryptoFloorResult r;
  r.options = o;
  for (Profile p : profiles) {
    for (size_t payload : o.payloads) {
      auto pt = measure(o, p, payload);
      if (!pt.ok()) return pt.error();
      r.points.push_back(std::move(pt).value());
    }
  }
  return r;
}

std::string to_crypto_floor_table(const CryptoFloorResult& r) {
  std::ostringstream t;
  t << "crypto floor: our SRTP protect/unprotect beside the bare OpenSSL work "
       "on the same bytes (AES-GCM seal/open; AES-CTR + HMAC-SHA1 from kept "
       "states), "
    << r.options.slices << " paired slices of "
    << r.options.packets * r.options.rounds
    << " packets; ratios are medians of the slices' ratios (not of the ns "
       "columns), the goal compared unrounded\n";
  char row[200];
  std::snprintf(row, sizeof(row), "%-24s %7s %9s %9s %8s %9s %9s %8s %5s\n",
                "profile", "payload", "prot ns", "floor ns", "ratio",
                "unprot ns", "floor ns", "ratio", "goal");
  t << row;
  for (const CryptoFloorPoint& p : r.points) {
    std::snprintf(row, sizeof(row),
                  "%-24s %7zu %9.0f %9.0f %8.2f %9.0f %9.0f %8.2f %5.2f%s\n",
                  p.profile.c_str(), p.payload, p.ours_protect_ns,
                  p.floor_protect_ns, p.protect_ratio, p.ours_unprotect_ns,
                  p.floor_unprotect_ns, p.unprotect_ratio, p.goal,
                  p.meets_goal() ? "" : "  above the goal");
    t << row;
  }
  return t.str();
}

std::string crypto_floor_json(const CryptoFloorResult& r) {
  std::ostringstream j;
  j << "{\"slices\": " << r.options.slices
    << ", \"packets_per_slice\": " << r.options.packets * r.options.rounds
    << ", \"points\": [";
  for (size_t i = 0; i < r.points.size(); ++i) {
    const CryptoFloorPoint& p = r.points[i];
    j << (i ? "," : "") << "\n    {\"profile\": \"" << p.profile
      << "\", \"payload\": " << p.payload << ", \"goal\": " << p.goal
      << ", \"ours_protect_ns\": " << p.ours_protect_ns
      << ", \"floor_protect_ns\": " << p.floor_protect_ns
      << ", \"protect_ratio\": " << p.protect_ratio
      << ", \"ours_unprotect_ns\": " << p.ours_unprotect_ns
      << ", \"floor_unprotect_ns\": " << p.floor_unprotect_ns
      << ", \"unprotect_ratio\": " << p.unprotect_ratio
      << ", \"meets_goal\": " << (p.meets_goal() ? "true" : "false") << "}";
  }
  j << "]}";
  return j.str();
}

}  // namespace dtls::bench

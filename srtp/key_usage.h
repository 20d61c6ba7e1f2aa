// How many more packets one SRTP master key may process (RFC 3711 §9.2: at
// most 2^48 SRTP packets). One per direction of an SrtpContext, counting the
// RTP packets of both of its paths (ours and libsrtp's) at the points where
// libsrtp 2.5 counts them, with libsrtp's soft limit (the last 2^16 packets)
// and hard limit. libsrtp's own count of the packets it handles stays in
// place beneath; it sees no more packets than this one, so never trips first.
#ifndef DTLS_SRTP_SRTP_KEY_USAGE_H_
#define DTLS_SRTP_SRTP_KEY_USAGE_H_

#include <cstdint>

namespace dtls::srtp {

class KeyUsage {
 public:
  static constexpr std::uint64_t kLimit = (std::uint64_t{1} << 48) - 1;
  static constexpr std::uint64_t kSoftLimit = 1 << 16;

  // Counts one packet. False at the hard limit and from then on: the packet
  // must be refused, and the key never used again. Each packet counted in the
  // last kSoftLimit before it adds one to `soft_events`.
  bool use(std::uint64_t& soft_events) {
    if (left_ == 0) return false;
    if (--left_ >= kSoftLimit) return true;
    if (left_ == 0) return false;
    soft_events++;
    return true;
  }
  std::uint64_t left() const { return left_; }
  // Tests: as if the key had already processed kLimit - n packets.
  void set_left(std::uint64_t n) { left_ = n; }

 private:
  // libsrtp starts its count at 0xffffffffffff (srtp_stream_init_keys).
  std::uint64_t left_ = kLimit;
};

// A direction's count with the counter its soft-limit events go to: what a
// cipher charges a received packet to at the point libsrtp does.
struct KeyCharge {
  KeyUsage* usage;
  std::uint64_t* soft_events;
  bool operator()() const { return usage->use(*soft_events); }
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_KEY_USAGE_H_

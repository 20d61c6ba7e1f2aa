// One SRTP stream's packet index and replay list (RFC 3711 §3.3.1, §3.3.2),
// deciding exactly as libsrtp 2.5 does (srtp_rdbx_*), so a stream kept here
// and one kept by libsrtp accept, refuse and number the same packets.
//
// libsrtp shifts its whole bit mask on every new packet (a 1,024-packet
// window moves 1,024 bits); here the window is a ring addressed by the index,
// so a packet costs a few word operations whatever the window's size.
#ifndef DTLS_SRTP_SRTP_REPLAY_WINDOW_H_
#define DTLS_SRTP_SRTP_REPLAY_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace dtls::srtp {

class ReplayWindow {
 public:
  // `window` packets (1..32767, what libsrtp takes is 64..32767), rounded up
  // to a multiple of 32 as libsrtp's bit vector is. Allocates once.
  explicit ReplayWindow(size_t window);

  // The 48-bit index a sequence number stands for, and how far it is from the
  // newest index (`delta`: > 0 is newer).
  struct Estimate {
    std::uint64_t index;
    std::int32_t delta;
  };
  Estimate estimate(std::uint16_t seq) const;

  enum class Check : std::uint8_t { kOk, kReplayed, kTooOld };
  Check check(std::int32_t delta) const;
  // Records the packet at `delta` (after it authenticated, for a receiver).
  void add(std::int32_t delta);

  std::uint64_t index() const { return index_; }
  size_t length() const { return length_; }

  // The ring of bits (for fetching it ahead).
  const std::uint64_t* ring() const { return ring_.get(); }
  size_t ring_bytes() const { return (mask_ + 1) / 8; }

 private:
  bool bit(std::uint64_t index) const {
    const std::uint64_t p = index & mask_;
    return (ring_[p >> 6] >> (p & 63)) & 1;
  }
  void set(std::uint64_t index) {
    const std::uint64_t p = index & mask_;
    ring_[p >> 6] |= std::uint64_t{1} << (p & 63);
  }
  void clear_after_index(std::uint64_t count);

  std::uint64_t index_ = 0;  // the newest index added (0 before any)
  size_t length_;            // the window, rounded as libsrtp rounds it
  std::uint64_t mask_;       // ring bits - 1: a power of two >= length_
  std::unique_ptr<std::uint64_t[]> ring_;
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_REPLAY_WINDOW_H_

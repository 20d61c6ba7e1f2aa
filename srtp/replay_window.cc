#include "srtp/replay_window.h"

#include <algorithm>
#include <bit>

namespace dtls::srtp {
namespace {

constexpr std::int32_t kSeqMedian = 1 << 15;  // libsrtp's seq_num_median
constexpr std::int32_t kSeqMax = 1 << 16;

// The ring holds at least 64 bits, so a run of bits never crosses its end
// inside a word.
size_t ring_bits(size_t length) {
  return std::bit_ceil(std::max<size_t>(length, 64));
}

}  // namespace

ReplayWindow::ReplayWindow(size_t window)
    : length_((window + 31) & ~size_t{31}),
      mask_(ring_bits(length_) - 1),
      ring_(new std::uint64_t[ring_bits(length_) / 64]()) {}

// RFC 3711 §3.3.1 as libsrtp's srtp_rdbx_estimate_index: while the index is
// at most 2^15 the ROC is taken as 0; past it, srtp_index_guess picks the
// ROC that puts the sequence number nearest the newest index.
ReplayWindow::Estimate ReplayWindow::estimate(std::uint16_t seq) const {
  if (index_ <= static_cast<std::uint64_t>(kSeqMedian)) {
    return {seq,
            static_cast<std::int32_t>(seq) - static_cast<std::int32_t>(index_)};
  }
  const auto local_roc = static_cast<std::uint32_t>(index_ >> 16);
  const std::int32_t local_seq = static_cast<std::uint16_t>(index_);
  const std::int32_t s = seq;
  std::uint32_t roc = local_roc;
  std::int32_t delta = s - local_seq;
  if (local_seq < kSeqMedian) {
    if (s - local_seq > kSeqMedian) {
      roc = local_roc - 1;
      delta = s - local_seq - kSeqMax;
    }
  } else if (local_seq - kSeqMedian > s) {
    roc = local_roc + 1;
    delta = s - local_seq + kSeqMax;
  }
  return {(static_cast<std::uint64_t>(roc) << 16) | seq, delta};
}

// RFC 3711 §3.3.2: newer than the newest is fine; older than the window is
// refused; inside it, a packet seen before is a replay.
ReplayWindow::Check ReplayWindow::check(std::int32_t delta) const {
  if (delta > 0) return Check::kOk;
  if (static_cast<std::int64_t>(length_) - 1 + delta < 0) return Check::kTooOld;
  // Below index 0 (a young stream) nothing was ever set: the ring position
  // there belongs to indices above the newest, which are cleared as the
  // index reaches them.
  return bit(index_ +
             static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)))
             ? Check::kReplayed
             : Check::kOk;
}

void ReplayWindow::add(std::int32_t delta) {
  if (delta > 0) {
    // libsrtp advances its 64-bit index by delta as a 16-bit value; delta
    // never exceeds 2^16 - 1 (estimate() and a new stream's first sequence
    // number).
    const auto step = static_cast<std::uint16_t>(delta);
    clear_after_index(step);
    index_ += step;
    set(index_);
  } else {
    set(index_ + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta)));
  }
}

// The positions of the next `count` indices still hold bits of indices a
// ring's length older: clear them before the window moves over them.
void ReplayWindow::clear_after_index(std::uint64_t count) {
  const std::uint64_t bits = mask_ + 1;
  if (count >= bits) {
    std::fill_n(ring_.get(), bits / 64, 0);
    return;
  }
  std::uint64_t p = (index_ + 1) & mask_;
  while (count != 0) {
    const std::uint64_t offset = p & 63;
    const std::uint64_t take = std::min<std::uint64_t>(count, 64 - offset);
    const std::uint64_t run =
        take == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << take) - 1);
    ring_[p >> 6] &= ~(run << offset);
    count -= take;
    p = (p + take) & mask_;
  }
}

}  // namespace dtls::srtp

#include "transport/dtls/retransmit_timer.h"

#include <algorithm>
#include <string>

namespace dtls {
namespace {

using std::chrono::milliseconds;

Error out_of_range(const std::string& message) {
  return make_error("ERR_OUT_OF_RANGE", message);
}

}  // namespace

milliseconds default_initial_timeout(bool dtls_srtp, milliseconds max) {
  return std::min(dtls_srtp ? kDtlsSrtpInitialTimeout : kDefaultInitialTimeout,
                  max);
}

Status validate_retransmit_config(const RetransmitConfig& c) {
  if (c.max < milliseconds(20) || c.max > std::chrono::seconds(60))
    return out_of_range("retransmit_max must be 20 ms..60 s");
  if (c.initial < milliseconds(20) || c.initial > std::chrono::seconds(60))
    return out_of_range("retransmit_initial must be 20 ms..60 s");
  if (c.max < c.initial)
    return out_of_range("retransmit_max must not be below retransmit_initial");
  if (c.floor < milliseconds(10) || c.floor > c.initial)
    return out_of_range("the adaptive floor must be 10 ms..retransmit_initial");
  return {};
}

void RetransmitTimer::flight_sent(TimePoint now) {
  sent_at_ = now;
  retransmitted_ = false;
}

void RetransmitTimer::flight_answered(TimePoint now) {
  if (!sent_at_) return;
  const TimePoint sent = *sent_at_;
  sent_at_.reset();
  if (retransmitted_) {
    // RFC 6298 §5 (Karn): no sample from a flight sent more than once; the
    // backed-off timeout stays.
    backoff_ = std::max(backoff_.value_or(Duration::zero()), in_force_);
    return;
  }
  add_sample(now - sent);
}

void RetransmitTimer::add_sample(Duration rtt) {
  // This path's first measurement replaces a remembered round trip instead
  // of being averaged with it at 1/8: a stale one would otherwise stretch
  // every wait of the handshake (RFC 6298 §2.2, a first measurement).
  if (remembered_ && measured_ == 0) {
    srtt_.reset();
    rttvar_.reset();
  }
  record(rtt);
  measured_++;
}

void RetransmitTimer::remember(Duration rtt) {
  record(rtt);
  remembered_ = true;
}

void RetransmitTimer::record(Duration rtt) {
  const Duration r = std::max(rtt, Duration::zero());
  // RFC 6298 §2.2, §2.3 (alpha 1/8, beta 1/4).
  if (!srtt_) {
    srtt_ = r;
    rttvar_ = r / 2;
  } else {
    const Duration diff = *srtt_ > r ? *srtt_ - r : r - *srtt_;
    rttvar_ = (*rttvar_ * 3 + diff) / 4;
    srtt_ = (*srtt_ * 7 + r) / 8;
  }
  samples_++;
  backoff_.reset();
}

Duration RetransmitTimer::adaptive_ceiling() const {
  // A short initial value (DTLS-SRTP's 400 ms) must not hold a longer
  // measured round trip down and make every flight go twice; up to 1 s the
  // adaptive schedule is never slower than the fixed 1 s one.
  return std::min<Duration>(
      std::max<Duration>(config_.initial, kDefaultInitialTimeout), config_.max);
}

Duration RetransmitTimer::first_timeout() const {
  if (!config_.adaptive) return config_.initial;
  if (!srtt_) {
    // RFC 9147 §5.8.2: "retain the current timer value until a message is
    // acknowledged without having to be retransmitted": a first flight that
    // went twice before its answer came leaves its backed-off value.
    return backoff_ ? std::clamp<Duration>(*backoff_, config_.initial,
                                           adaptive_ceiling())
                    : Duration(config_.initial);
  }
  // RFC 6298 §2.3: RTO = SRTT + max(G, 4 RTTVAR), G a millisecond here.
  Duration rto = *srtt_ + std::max<Duration>(milliseconds(1), *rttvar_ * 4);
  // A round trip remembered from an earlier handshake may shorten this one's
  // waits, never lengthen them, until one of its own is measured: one sample
  // makes RTO three times it, above the initial value on a path slower than a
  // third of it, and the path may have changed since.
  if (remembered_ && measured_ == 0)
    rto = std::min<Duration>(rto, config_.initial);
  if (backoff_) rto = std::max(rto, *backoff_);
  return std::clamp<Duration>(rto, config_.floor, adaptive_ceiling());
}

Duration RetransmitTimer::next_timeout(Duration previous) const {
  // RFC 6347 §4.2.4.1: "double the value ... up to [the] maximum".
  return std::min<Duration>(previous * 2, config_.max);
}

}  // namespace dtls

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

Status validate_retransmit_config(const RetransmitConfig& c) {
  if (c.initial < milliseconds(20) || c.initial > std::chrono::seconds(60))
    return out_of_range("retransmit_initial must be 20 ms..60 s");
  if (c.max < c.initial || c.max > std::chrono::seconds(60))
    return out_of_range("retransmit_max must be retransmit_initial..60 s");
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

Duration RetransmitTimer::first_timeout() const {
  const Duration initial = config_.initial;
  if (!config_.adaptive || !srtt_) return initial;
  // RFC 6298 §2.3: RTO = SRTT + max(G, 4 RTTVAR), G a millisecond here.
  Duration rto = *srtt_ + std::max<Duration>(milliseconds(1), *rttvar_ * 4);
  if (backoff_) rto = std::max(rto, *backoff_);
  return std::clamp<Duration>(rto, config_.floor, initial);
}

Duration RetransmitTimer::next_timeout(Duration previous) const {
  // RFC 6347 §4.2.4.1: "double the value ... up to [the] maximum".
  return std::min<Duration>(previous * 2, config_.max);
}

}  // namespace dtls

// How long a DTLS flight waits before it is sent again (RFC 6347 §4.2.4.1):
// an initial value, doubled on each retransmission of the flight, capped.
// With `adaptive`, the initial value follows the measured round trip instead
// (RFC 9147 §5.8 recommends it): RFC 6298's estimator (SRTT, RTTVAR, RTO)
// over the time from a flight's first transmission to the first datagram of
// the peer's answer, within [floor, max(initial, 1 s)]. A flight that was sent
// more than once gives no sample (Karn's algorithm, RFC 6298 §5), and the
// backed-off value then stays until a sample comes.
//
// Sans-I/O: the association tells it when flights go and answers come.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_RETRANSMIT_TIMER_H_
#define DTLS_SRTP_TRANSPORT_DTLS_RETRANSMIT_TIMER_H_

#include <chrono>
#include <optional>

#include "transport/base/error.h"
#include "transport/base/time.h"

namespace dtls {

// RFC 9147 §5.8.2: "Implementations SHOULD use an initial timer value of
// 1000 ms" (RFC 6347 §4.2.4.1 alike).
inline constexpr std::chrono::milliseconds kDefaultInitialTimeout{1000};
// RFC 9147 §5.8.2: "It is RECOMMENDED that for DTLS-SRTP [RFC5764], a default
// timeout of 400 ms be used": the first flight, and every flight before a
// round trip is known. Through the impairing relay, a lost first ClientHello
// then costs 400 ms instead of 1 s (the README's "Lossy links").
inline constexpr std::chrono::milliseconds kDtlsSrtpInitialTimeout{400};

// The initial timeout when the application sets none: 400 ms for a session
// that offers use_srtp, 1 s otherwise, and never above `max`.
std::chrono::milliseconds default_initial_timeout(
    bool dtls_srtp, std::chrono::milliseconds max);

struct RetransmitConfig {
  // The first timeout of a flight: always without `adaptive`, and the most
  // with it. 20 ms..60 s.
  std::chrono::milliseconds initial{kDefaultInitialTimeout};
  // Doubling stops here. initial..60 s.
  std::chrono::milliseconds max{60000};
  // On by default: through the impairing relay it sent no extra datagram
  // without loss, and with loss the flights after the cookie exchange
  // recover in about 3 RTT instead of the initial value (the README's "Lossy
  // links").
  bool adaptive = true;
  // The least an adaptive timeout is: a loopback or LAN round trip would
  // otherwise make it a few milliseconds, and between flights the peer does
  // public-key work (a slow phone, a loaded server) that the cheap cookie
  // exchange did not measure. Linux TCP's minimum RTO. 10 ms..initial.
  std::chrono::milliseconds floor{200};
};

// ERR_OUT_OF_RANGE for a value outside its range (the message names it).
Status validate_retransmit_config(const RetransmitConfig& config);

class RetransmitTimer {
 public:
  explicit RetransmitTimer(RetransmitConfig config = {}) : config_(config) {}

  // A new flight left (its first transmission) at `now`.
  void flight_sent(TimePoint now);
  // The current flight was sent again (timer or a peer's repeated flight).
  void flight_retransmitted() { retransmitted_ = true; }
  // The peer's answer to the current flight began to arrive at `now`: one
  // RTT sample unless the flight was sent more than once.
  void flight_answered(TimePoint now);
  // A round trip measured elsewhere (a stateless cookie exchange, or one the
  // caller knows for this path: ICE's).
  void add_sample(Duration rtt);
  // A round trip an earlier handshake with the host measured (RttCache): a
  // sample until this handshake measures one of its own, which replaces it;
  // meanwhile no first timeout above the initial value comes of it.
  void remember(Duration rtt);
  // Samples measured on this path (add_sample, answered flights).
  int measured() const { return measured_; }

  // The first timeout of a new flight.
  Duration first_timeout() const;
  // The timeout after one of `previous` expired: doubled, capped.
  Duration next_timeout(Duration previous) const;
  // The timeout in force when the current flight last went out.
  void note_timeout(Duration in_force) { in_force_ = in_force; }

  std::optional<Duration> smoothed_rtt() const { return srtt_; }
  std::optional<Duration> rtt_variation() const { return rttvar_; }
  int samples() const { return samples_; }
  const RetransmitConfig& config() const { return config_; }
  // The most an adaptive first timeout is: the initial value, or 1 s when
  // that is shorter (still within `max`).
  Duration adaptive_ceiling() const;

 private:
  RetransmitConfig config_;
  std::optional<TimePoint> sent_at_;  // the current flight, until answered
  bool retransmitted_ = false;
  void record(Duration rtt);

  std::optional<Duration> srtt_, rttvar_;
  int samples_ = 0;   // every sample, remembered ones included
  int measured_ = 0;  // add_sample's and answered flights'
  bool remembered_ = false;
  Duration in_force_{};
  // Karn: the backed-off timeout of a flight answered after retransmission,
  // kept for the next flights until a sample comes.
  std::optional<Duration> backoff_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_RETRANSMIT_TIMER_H_

// Stateless DTLS cookies (RFC 6347 §4.2.1): decides, per datagram and before
// any per-peer state exists, whether a ClientHello gets a HelloVerifyRequest,
// is accepted, or is dropped.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_COOKIE_GATE_H_
#define DTLS_SRTP_TRANSPORT_DTLS_COOKIE_GATE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "transport/base/hmac.h"
#include "transport/base/time.h"
#include "transport/dtls/dtls_record.h"

namespace dtls {

class CookieGate {
 public:
  static constexpr size_t kSecretSize = 32;
  // When the cookie was issued (4 bytes, milliseconds on a clock offset per
  // secret) and a truncated HMAC-SHA256 over it and the hello (16 bytes).
  static constexpr size_t kTimeSize = 4;
  static constexpr size_t kMacSize = 16;
  static constexpr size_t kCookieSize = kTimeSize + kMacSize;

  enum class Verdict {
    kDrop,  // not a first ClientHello fragment, or answering would amplify
    kHelloVerify,  // send `reply` (a HelloVerifyRequest) back; keep no state
    kAccept,       // the cookie is ours and fresh: create the association now
  };

  struct Decision {
    Verdict verdict = Verdict::kDrop;
    std::span<const std::uint8_t>
        reply;  // kHelloVerify: points into the gate's buffer
    std::span<const std::uint8_t>
        cookie;  // kAccept: the verified cookie (into the datagram)
    // kAccept: how long ago the cookie was issued, i.e. one round trip to the
    // client (plus its own delay), measured with no state kept in between:
    // the server's first retransmission timeout can follow it.
    std::optional<Duration> cookie_age;
  };

  // A gate with a random secret. When the random generator fails it has none
  // and turns every ClientHello away (counted in refused()) until a rotation
  // succeeds: a cookie under bytes that may be predictable protects nothing.
  CookieGate();
  // A gate with a given secret (several workers on one port share it).
  explicit CookieGate(std::span<const std::uint8_t, kSecretSize> secret);

  // `peer` identifies the source transport address (any stable encoding of
  // family, address and port). The reply span stays valid until the next call.
  Decision inspect(std::span<const std::uint8_t> datagram,
                   std::span<const std::uint8_t> peer, TimePoint now);

  // Starts a new secret; cookies made with the one before stay valid until the
  // next rotation. The caller decides the period (the I/O layer uses a timer):
  // the gate never reads a clock. When the random generator fails, the gate
  // drops both secrets and refuses, as after a failed construction.
  void rotate();
  void rotate(std::span<const std::uint8_t, kSecretSize> secret);

  // The secret for one rotation period, derived from a master secret:
  // HMAC-SHA256(master, "dtls-srtp cookie" || period). Workers sharing a port
  // (SO_REUSEPORT) and a master agree on every period's secret without
  // sharing state: each computes it from the period number.
  static std::array<std::uint8_t, kSecretSize> derive_secret(
      std::span<const std::uint8_t, kSecretSize> master, std::uint64_t period);

  // Whether the hello's cookie is one this gate issued for the prefix and
  // peer (under the current or previous secret); if so, its age at `now`.
  std::optional<Duration> verify(const ClientHelloPrefix& hello,
                                 std::span<const std::uint8_t> peer,
                                 TimePoint now) const;

  // Whether the gate holds a secret (false after the random generator failed).
  bool has_secret() const { return has_current_; }
  // ClientHellos neither answered nor accepted for want of a secret.
  std::uint64_t refused() const { return refused_; }

 private:
  using Secret = std::array<std::uint8_t, kSecretSize>;
  using Cookie = std::array<std::uint8_t, kCookieSize>;
  // HMAC-SHA256 keyed once per secret: a cookie then costs no allocation,
  // which matters when spoofed hellos arrive by the hundred thousand.
  struct KeyedHmac {
    crypto::HmacSha256 mac;
    // Added to the clock in issued-at stamps, so that a cookie does not tell
    // how long the host has been up. Derived from the secret: workers that
    // share a secret agree on it.
    std::uint32_t clock_offset = 0;
  };
  static KeyedHmac key_hmac(const Secret& secret);

  static std::uint32_t stamp(const KeyedHmac& key, TimePoint now);
  static Cookie compute(const KeyedHmac& key, std::uint32_t issued_at,
                        const ClientHelloPrefix& hello,
                        std::span<const std::uint8_t> peer);
  // The cookie's age under `key` if its MAC verifies.
  static std::optional<Duration> check(const KeyedHmac& key,
                                       const ClientHelloPrefix& hello,
                                       std::span<const std::uint8_t> peer,
                                       TimePoint now);

  void forget_secrets();

  KeyedHmac current_{};
  KeyedHmac previous_{};
  bool has_current_ = false;
  bool has_previous_ = false;
  std::uint64_t refused_ = 0;
  std::vector<std::uint8_t> reply_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_COOKIE_GATE_H_

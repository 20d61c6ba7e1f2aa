#include "transport/dtls/cookie_gate.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace dtls {
namespace {

constexpr std::uint16_t kDtls10 = 0xFEFF;

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put24(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  put16(out, v & 0xffff);
}
void put48(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

}  // namespace

CookieGate::CookieGate() {
  reply_.reserve(kRecordHeaderSize + kHandshakeHeaderSize + 3 + kCookieSize);
  Secret s;
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) == 1) {
    current_ = key_hmac(s);
    has_current_ = true;
  }
  OPENSSL_cleanse(s.data(), s.size());
}

CookieGate::CookieGate(std::span<const std::uint8_t, kSecretSize> secret) {
  Secret s;
  std::copy(secret.begin(), secret.end(), s.begin());
  current_ = key_hmac(s);
  has_current_ = true;
  OPENSSL_cleanse(s.data(), s.size());
  reply_.reserve(kRecordHeaderSize + kHandshakeHeaderSize + 3 + kCookieSize);
}

CookieGate::KeyedHmac CookieGate::key_hmac(const Secret& secret) {
  KeyedHmac h{crypto::HmacSha256(secret)};
  // The clock offset: HMAC(secret, label), its first four bytes.
  static constexpr char kLabel[] = "dtls-srtp cookie clock";
  crypto::HmacSha256::Digest mac = h.mac.mac(
      {reinterpret_cast<const std::uint8_t*>(kLabel), sizeof(kLabel) - 1});
  h.clock_offset = static_cast<std::uint32_t>(mac[0]) << 24 |
                   static_cast<std::uint32_t>(mac[1]) << 16 |
                   static_cast<std::uint32_t>(mac[2]) << 8 | mac[3];
  OPENSSL_cleanse(mac.data(), mac.size());
  return h;
}

void CookieGate::rotate() {
  Secret s;
  if (RAND_bytes(s.data(), static_cast<int>(s.size())) == 1) {
    rotate(s);
  } else {
    // Keeping the old secret would stretch its cookies' lifetime past the
    // period the caller chose (RFC 6347 §4.2.1 asks for a changing secret).
    forget_secrets();
  }
  OPENSSL_cleanse(s.data(), s.size());
}

void CookieGate::rotate(std::span<const std::uint8_t, kSecretSize> secret) {
  previous_ = current_;
  has_previous_ = has_current_;
  Secret s;
  std::copy(secret.begin(), secret.end(), s.begin());
  current_ = key_hmac(s);
  has_current_ = true;
  OPENSSL_cleanse(s.data(), s.size());
}

void CookieGate::forget_secrets() {
  // Overwritten with the empty key's states: nothing of the secrets stays.
  current_ = KeyedHmac();
  previous_ = KeyedHmac();
  has_current_ = false;
  has_previous_ = false;
}

std::array<std::uint8_t, CookieGate::kSecretSize> CookieGate::derive_secret(
    std::span<const std::uint8_t, kSecretSize> master, std::uint64_t period) {
  static constexpr char kLabel[] = "dtls-srtp cookie";
  std::uint8_t input[sizeof(kLabel) - 1 + 8];
  std::memcpy(input, kLabel, sizeof(kLabel) - 1);
  for (int i = 0; i < 8; ++i) {
    input[sizeof(kLabel) - 1 + static_cast<size_t>(i)] =
        static_cast<std::uint8_t>(period >> (56 - 8 * i));
  }
  static_assert(crypto::HmacSha256::kDigestSize == kSecretSize);
  return crypto::HmacSha256(master).mac(input);
}

std::uint32_t CookieGate::stamp(const KeyedHmac& key, TimePoint now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now.time_since_epoch())
                      .count();
  // Modulo 2^32 ms (49 days): only differences over one rotation matter.
  return static_cast<std::uint32_t>(ms) + key.clock_offset;
}

CookieGate::Cookie CookieGate::compute(const KeyedHmac& key,
                                       std::uint32_t issued_at,
                                       const ClientHelloPrefix& hello,
                                       std::span<const std::uint8_t> peer) {
  // RFC 6347 §4.2.1: Cookie = HMAC(Secret, Client-IP, Client-Parameters). The
  // parameters are the ones that precede the cookie, so the first fragment
  // alone is enough; the client must repeat them unchanged in its second
  // ClientHello, and the random makes each hello unique. The issued-at stamp
  // travels in the clear and is covered by the MAC, so a client can delay its
  // answer (a longer round trip) but not shorten it. Input: issued_at |
  // len(peer) | len(session_id) | peer | client_version | random | session_id.
  std::array<std::uint8_t, kTimeSize + 2 + 255 + 2 + 32 + 32> input;
  size_t n = 0;
  for (int shift = 24; shift >= 0; shift -= 8)
    input[n++] = static_cast<std::uint8_t>(issued_at >> shift);
  input[n++] = static_cast<std::uint8_t>(peer.size());
  input[n++] = static_cast<std::uint8_t>(hello.session_id.size());
  std::memcpy(input.data() + n, peer.data(), peer.size());
  n += peer.size();
  input[n++] = static_cast<std::uint8_t>(hello.client_version >> 8);
  input[n++] = static_cast<std::uint8_t>(hello.client_version);
  std::memcpy(input.data() + n, hello.random.data(), hello.random.size());
  n += hello.random.size();
  std::memcpy(input.data() + n, hello.session_id.data(),
              hello.session_id.size());
  n += hello.session_id.size();
  const crypto::HmacSha256::Digest mac = key.mac.mac(std::span(input).first(n));
  Cookie out;
  std::memcpy(out.data(), input.data(), kTimeSize);
  std::memcpy(out.data() + kTimeSize, mac.data(), kMacSize);
  return out;
}

std::optional<Duration> CookieGate::check(const KeyedHmac& key,
                                          const ClientHelloPrefix& hello,
                                          std::span<const std::uint8_t> peer,
                                          TimePoint now) {
  const std::uint32_t issued_at =
      static_cast<std::uint32_t>(hello.cookie[0]) << 24 |
      static_cast<std::uint32_t>(hello.cookie[1]) << 16 |
      static_cast<std::uint32_t>(hello.cookie[2]) << 8 | hello.cookie[3];
  const Cookie c = compute(key, issued_at, hello, peer);
  if (CRYPTO_memcmp(c.data() + kTimeSize, hello.cookie.data() + kTimeSize,
                    kMacSize) != 0) {
    return std::nullopt;
  }
  // Unsigned arithmetic: the difference is right across the 2^32 wrap.
  const std::uint32_t age_ms = stamp(key, now) - issued_at;
  return std::chrono::milliseconds(age_ms);
}

std::optional<Duration> CookieGate::verify(const ClientHelloPrefix& hello,
                                           std::span<const std::uint8_t> peer,
                                           TimePoint now) const {
  if (!has_current_ || hello.cookie.size() != kCookieSize || peer.size() > 255)
    return std::nullopt;
  if (auto age = check(current_, hello, peer, now)) return age;
  if (!has_previous_) return std::nullopt;
  return check(previous_, hello, peer, now);
}

CookieGate::Decision CookieGate::inspect(std::span<const std::uint8_t> datagram,
                                         std::span<const std::uint8_t> peer,
                                         TimePoint now) {
  Decision d;
  auto hello = parse_client_hello_prefix(datagram);
  if (!hello || peer.size() > 255) return d;
  if (!has_current_) {
    refused_++;
    return d;
  }
  if (!hello->cookie.empty()) {
    if (auto age = verify(*hello, peer, now)) {
      d.verdict = Verdict::kAccept;
      d.cookie = hello->cookie;
      d.cookie_age = *age;
      return d;
    }
  }
  // RFC 6347 §4.2.1 HelloVerifyRequest. The record sequence number echoes the
  // ClientHello's
  // ("the server MUST use the record sequence number in the ClientHello as the
  // record sequence number in the HelloVerifyRequest"), and the version is
  // DTLS 1.0 ("DTLS 1.2 server implementations SHOULD use DTLS version 1.0
  // regardless of the version of TLS that is expected to be negotiated").
  Cookie cookie = compute(current_, stamp(current_, now), *hello, peer);
  const std::uint32_t body_len = 2 + 1 + kCookieSize;
  reply_.clear();
  reply_.push_back(kContentHandshake);
  put16(reply_, kDtls10);
  put16(reply_, 0);  // epoch
  put48(reply_, hello->record.sequence);
  put16(reply_, kHandshakeHeaderSize + body_len);
  reply_.push_back(kHandshakeHelloVerifyRequest);
  put24(reply_, body_len);
  put16(reply_, 0);  // message_seq: the server's first message
  put24(reply_, 0);  // fragment_offset
  put24(reply_, body_len);
  put16(reply_, kDtls10);
  reply_.push_back(static_cast<std::uint8_t>(kCookieSize));
  reply_.insert(reply_.end(), cookie.begin(), cookie.end());
  // Never answer with more bytes than came in: a spoofed source must not turn
  // us into an amplifier (RFC 6347 §4.2.1 is about exactly this).
  if (reply_.size() > datagram.size()) return d;
  d.verdict = Verdict::kHelloVerify;
  d.reply = reply_;
  return d;
}

}  // namespace dtls

// The crypto floor of an SRTP profile: the least a packet's protection costs
// with OpenSSL 3.0, to measure our SrtpContext against (the micro benchmarks
// and the bench's crypto phase). It does the cipher and authentication work
// of RFC 7714 (AEAD) or RFC 3711 (AES-CM) on the same bytes, with contexts
// keyed once and only the IV set per packet, and none of the rest: no key
// derivation, stream lookup, replay window or ROC estimation. Its IV is the
// packet's index, not the RFCs' salted one, so its output is not SRTP.
#ifndef DTLS_SRTP_SRTP_CRYPTO_FLOOR_H_
#define DTLS_SRTP_SRTP_CRYPTO_FLOOR_H_

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "srtp/srtp_profile.h"
#include "transport/base/error.h"
#include "transport/base/hmac.h"

namespace dtls::srtp {

class CryptoFloor {
 public:
  // ERR_SRTP_INIT when OpenSSL refuses the cipher or its key.
  static Result<std::unique_ptr<CryptoFloor>> create(Profile p);

  // The packet is packet[0, length) with a 12-octet RTP header; the tag is
  // written after it. Returns the protected length, 0 when OpenSSL failed or
  // the packet is shorter than its header.
  size_t protect(std::uint8_t* packet, size_t length, std::uint32_t index);
  // The protected packet[0, length); false when its tag is wrong. On success
  // the plaintext is its first length - tag() octets.
  bool unprotect(std::uint8_t* packet, size_t length, std::uint32_t index);

  size_t tag() const { return tag_; }

 private:
  struct CtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
  };
  using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

  explicit CryptoFloor(Profile p);
  void set_index(std::uint32_t index);
  bool keystream(std::uint8_t* packet, size_t length);
  crypto::HmacSha1::Digest mac(const std::uint8_t* packet, size_t length);

  bool aead_;
  size_t tag_;
  Ctx seal_;  // AES-CM: the one counter-mode context, both ways
  Ctx open_;  // AEAD only
  std::optional<crypto::HmacSha1> auth_;  // AES-CM only
  std::uint8_t iv_[16] = {};
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_CRYPTO_FLOOR_H_

// Keyed HMAC (RFC 2104) with SHA-1 and SHA-256, for the MACs the library
// computes at packet rate: SRTP authentication tags (srtp/hmac_sha1), DTLS
// cookies (transport/cookie_gate) and STUN MESSAGE-INTEGRITY
// (transport/stun_message).
//
// OpenSSL 3.0's HMAC() and EVP_MAC allocate and fetch a context per call. An
// HmacKey absorbs the key once and keeps the hash states after H(K ^ ipad) and
// H(K ^ opad); each MAC starts from copies of them (plain structs), so it
// allocates nothing and skips two compression calls. Both states are wiped
// when an HmacKey or a Mac goes away: they are as good as the key.
#ifndef DTLS_SRTP_TRANSPORT_BASE_HMAC_H_
#define DTLS_SRTP_TRANSPORT_BASE_HMAC_H_

#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace dtls::crypto {

struct Sha1 {
  using State = SHA_CTX;
  static constexpr size_t kBlockSize = 64;
  static constexpr size_t kDigestSize = 20;
};

struct Sha256 {
  using State = SHA256_CTX;
  static constexpr size_t kBlockSize = 64;
  static constexpr size_t kDigestSize = 32;
};

template <class Hash>
class HmacKey {
 public:
  static constexpr size_t kDigestSize = Hash::kDigestSize;
  using Digest = std::array<std::uint8_t, kDigestSize>;

  // The empty key.
  HmacKey();
  // Any length; keys longer than the hash's block are hashed first (§2).
  explicit HmacKey(std::span<const std::uint8_t> key);
  HmacKey(const HmacKey&) = default;
  HmacKey& operator=(const HmacKey&) = default;
  ~HmacKey();

  // One message. Allocates nothing and leaves nothing of the key behind.
  Digest mac(std::span<const std::uint8_t> message) const;

  // A MAC over a message given in pieces. It refers to its key, which must
  // outlive it.
  class Mac {
   public:
    explicit Mac(const HmacKey& key);
    Mac(const Mac&) = delete;
    Mac& operator=(const Mac&) = delete;
    ~Mac();

    void update(std::span<const std::uint8_t> bytes);
    // The MAC of everything given since the start. Call restart() before
    // the next message (libsrtp starts every packet so; one copy fewer).
    Digest finish();
    // Starts a new message, dropping what was given since the start.
    void restart();

   private:
    const HmacKey* key_;
    typename Hash::State inner_;
  };

 private:
  // The MAC from an inner state that has absorbed the message; finalises it.
  Digest finish(typename Hash::State& inner) const;

  typename Hash::State inner_;  // after H(K ^ ipad)
  typename Hash::State outer_;  // after H(K ^ opad)
};

extern template class HmacKey<Sha1>;
extern template class HmacKey<Sha256>;

using HmacSha1 = HmacKey<Sha1>;
using HmacSha256 = HmacKey<Sha256>;

}  // namespace dtls::crypto

#endif  // DTLS_SRTP_TRANSPORT_BASE_HMAC_H_

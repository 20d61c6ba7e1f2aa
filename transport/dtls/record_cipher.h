// The record protection of an established DTLS 1.2 association, outside
// OpenSSL: the keys of its AEAD suite derived from the session's master secret
// and the hello randoms, and records sealed and opened with them.
//
// Why: after the handshake OpenSSL keeps about 35 KiB per association, of which
// about 21 KiB is its handshake message buffer, kept for DTLS over UDP and
// released by no public call. An established session that only needs its
// record keys (application data, alerts) can hold this instead: the keys and
// two cipher contexts.
//
// Only the AEAD suites, which are all the default cipher list has: AES-GCM
// (RFC 5288) and ChaCha20-Poly1305 (RFC 7905). Sans-I/O, and nothing is
// allocated per record.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_RECORD_CIPHER_H_
#define DTLS_SRTP_TRANSPORT_DTLS_RECORD_CIPHER_H_

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>

#include "srtp/evp_cipher.h"
#include "transport/base/error.h"
#include "transport/dtls/dtls_record.h"

namespace dtls {

// RFC 5246 §5's PRF over `hash` (the suite's PRF hash): `out` filled from
// `secret` and the concatenated seeds (label first). ERR_DTLS_INTERNAL when
// OpenSSL cannot.
Status tls12_prf(const EVP_MD* hash, std::span<const std::uint8_t> secret,
                 std::initializer_list<std::span<const std::uint8_t>> seeds,
                 std::span<std::uint8_t> out);

enum class RecordAead : std::uint8_t {
  kAes128Gcm,
  kAes256Gcm,
  kChaCha20Poly1305,
};

class RecordCipher {
 public:
  // What the key block derives from (RFC 5246 §6.3).
  struct Secrets {
    RecordAead aead = RecordAead::kAes128Gcm;
    // The suite's PRF hash (SHA-256, or SHA-384 for the *_SHA384 suites).
    const EVP_MD* prf = nullptr;
    std::span<const std::uint8_t> master_secret;  // 48 bytes
    std::span<const std::uint8_t> client_random;  // 32 bytes
    std::span<const std::uint8_t> server_random;  // 32 bytes
    bool server = false;  // which half of the key block this side writes with
  };

  static Result<RecordCipher> derive(const Secrets& secrets);
  // The keys of `ssl`'s current suite, once its handshake has finished.
  // ERR_INVALID_STATE before; ERR_DTLS_INTERNAL for a suite not listed above
  // (the association then keeps OpenSSL's record layer).
  static Result<RecordCipher> from_ssl(const SSL* ssl);
  // The AEAD of an OpenSSL suite; nullopt for one this class does not do.
  static std::optional<RecordAead> aead_of(const SSL_CIPHER* cipher);

  RecordCipher(RecordCipher&&) = default;
  RecordCipher& operator=(RecordCipher&&) = default;

  RecordAead aead() const { return aead_; }
  // What a record adds to its plaintext beyond the 13-byte header: GCM's
  // explicit nonce and the tag.
  size_t expansion() const;

  // RFC 6347 §4.1: writes the protected record (header, explicit nonce,
  // ciphertext, tag) of `plaintext` into `out` and returns its length; 0 when
  // `out` is too small, the plaintext is longer than 2^14, or the sequence
  // number does not fit its 48 bits. The caller owns the sequence numbers:
  // a number used twice under one epoch reuses a nonce.
  size_t seal(std::uint8_t content_type, std::uint16_t version,
              std::uint16_t epoch, std::uint64_t sequence,
              std::span<const std::uint8_t> plaintext,
              std::span<std::uint8_t> out);

  // Decrypts one protected record (`record`: header included, as parsed into
  // `header`) into `out` and returns the plaintext; nullopt when it does not
  // authenticate or does not fit (then nothing of it is left in `out`).
  // `out` must not overlap `record`.
  std::optional<std::span<std::uint8_t>> open(
      const RecordHeader& header, std::span<const std::uint8_t> record,
      std::span<std::uint8_t> out);

 private:
  // A direction's key schedule and its fixed IV (RFC 5288 §3's salt, or RFC
  // 7905 §2's whole IV).
  struct Direction {
    srtp::EvpCipherCtx ctx;
    std::array<std::uint8_t, 12> iv{};
  };

  RecordCipher() = default;
  void nonce(const Direction& d, std::uint64_t seq_num,
             std::span<const std::uint8_t> explicit_nonce,
             std::uint8_t* out) const;

  RecordAead aead_ = RecordAead::kAes128Gcm;
  Direction write_, read_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_RECORD_CIPHER_H_

#include "transport/dtls/record_cipher.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>

#include <algorithm>
#include <memory>
#include <string_view>

#include "srtp/secret_bytes.h"

namespace dtls {

namespace {

// RFC 5288 §3 and RFC 7905 §2: every AEAD here has a 16-byte tag.
constexpr size_t kTagLength = 16;
constexpr size_t kNonceLength = 12;
constexpr size_t kMasterSecretLength = 48;  // RFC 5246 §8.1
constexpr size_t kRandomLength = 32;        // RFC 5246 §7.4.1.2

struct Suite {
  size_t key_length;
  // RFC 5246 §6.3's IV length: RFC 5288 §3's 4-byte salt for GCM, RFC 7905
  // §2's 12-byte IV for ChaCha20-Poly1305.
  size_t fixed_iv_length;
  // RFC 5288 §3: GCM sends 8 bytes of its nonce with each record; RFC 7905 §2:
  // ChaCha20-Poly1305 sends none (the sequence number is the nonce's
  // variable part).
  size_t explicit_nonce_length;
};

constexpr Suite suite(RecordAead aead) {
  switch (aead) {
    case RecordAead::kAes128Gcm:
      return {16, 4, 8};
    case RecordAead::kAes256Gcm:
      return {32, 4, 8};
    case RecordAead::kChaCha20Poly1305:
      return {32, 12, 0};
  }
  return {0, 0, 0};
}

const EVP_CIPHER* evp_cipher(RecordAead aead) {
  switch (aead) {
    case RecordAead::kAes128Gcm:
      return srtp::aes_gcm_cipher(16);
    case RecordAead::kAes256Gcm:
      return srtp::aes_gcm_cipher(32);
    case RecordAead::kChaCha20Poly1305:
      return EVP_chacha20_poly1305();
  }
  return nullptr;
}

Error internal(std::string what) {
  return make_error(Errc::kDtlsInternal, what + drain_openssl_errors());
}

void put_be(std::uint8_t* out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8)
    out[i] = static_cast<std::uint8_t>(v);
}

// RFC 6347 §4.1.2.1: the seq_num of the MAC and AEAD input is the epoch and
// the 48-bit sequence number, in that order.
std::uint64_t seq_num(std::uint16_t epoch, std::uint64_t sequence) {
  return (std::uint64_t{epoch} << 48) | sequence;
}

// RFC 5246 §6.2.3.3: additional_data = seq_num + type + version + length, the
// length being the plaintext's.
std::array<std::uint8_t, 13> additional_data(std::uint64_t seq,
                                             std::uint8_t type,
                                             std::uint16_t version,
                                             size_t length) {
  std::array<std::uint8_t, 13> aad;
  put_be(aad.data(), seq, 8);
  aad[8] = type;
  put_be(aad.data() + 9, version, 2);
  put_be(aad.data() + 11, length, 2);
  return aad;
}

}  // namespace

Status tls12_prf(const EVP_MD* hash, std::span<const std::uint8_t> secret,
                 std::initializer_list<std::span<const std::uint8_t>> seeds,
                 std::span<std::uint8_t> out) {
  if (hash == nullptr || seeds.size() > 4)
    return make_error(Errc::kInvalidArgValue, "PRF: no hash, or many seeds");
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
  if (kdf == nullptr) return internal("no TLS1-PRF: ");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(
      EVP_KDF_CTX_new(kdf), &EVP_KDF_CTX_free);
  EVP_KDF_free(kdf);
  if (!ctx) return internal("TLS1-PRF context: ");
  // OpenSSL takes these as mutable pointers; it does not write them.
  std::array<OSSL_PARAM, 7> params;
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(
      OSSL_KDF_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(hash)), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_SECRET, const_cast<std::uint8_t*>(secret.data()),
      secret.size());
  // Several seeds are concatenated, in order.
  for (std::span<const std::uint8_t> seed : seeds) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SEED, const_cast<std::uint8_t*>(seed.data()),
        seed.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1)
    return internal("TLS PRF: ");
  return {};
}

std::optional<RecordAead> RecordCipher::aead_of(const SSL_CIPHER* cipher) {
  if (cipher == nullptr) return std::nullopt;
  switch (SSL_CIPHER_get_cipher_nid(cipher)) {
    case NID_aes_128_gcm:
      return RecordAead::kAes128Gcm;
    case NID_aes_256_gcm:
      return RecordAead::kAes256Gcm;
    case NID_chacha20_poly1305:
      return RecordAead::kChaCha20Poly1305;
    default:
      return std::nullopt;
  }
}

Result<RecordCipher> RecordCipher::derive(const Secrets& s) {
  if (s.prf == nullptr || s.master_secret.size() != kMasterSecretLength ||
      s.client_random.size() != kRandomLength ||
      s.server_random.size() != kRandomLength) {
    return make_error(Errc::kInvalidArgValue,
                      "record keys need a PRF hash, a 48-byte master secret "
                      "and two 32-byte randoms");
  }
  const Suite su = suite(s.aead);
  // RFC 5246 §6.3: client_write_MAC_key, server_write_MAC_key (none for an
  // AEAD), client_write_key, server_write_key, client_write_IV,
  // server_write_IV.
  srtp::SecretBytes block(2 * su.key_length + 2 * su.fixed_iv_length);
  // RFC 5246 §6.3: PRF(master_secret, "key expansion", server_random +
  // client_random).
  static constexpr std::string_view kLabel = "key expansion";
  if (Status st = tls12_prf(
          s.prf, s.master_secret,
          {std::span(reinterpret_cast<const std::uint8_t*>(kLabel.data()),
                     kLabel.size()),
           s.server_random, s.client_random},
          block);
      !st.ok()) {
    return st.error();
  }
  const std::uint8_t* client_key = block.data();
  const std::uint8_t* server_key = client_key + su.key_length;
  const std::uint8_t* client_iv = server_key + su.key_length;
  const std::uint8_t* server_iv = client_iv + su.fixed_iv_length;

  const EVP_CIPHER* cipher = evp_cipher(s.aead);
  if (cipher == nullptr) return internal("no AEAD cipher: ");
  RecordCipher rc;
  rc.aead_ = s.aead;
  auto set_up = [&](Direction& d, const std::uint8_t* key,
                    const std::uint8_t* iv, int encrypt) -> Status {
    d.ctx.reset(EVP_CIPHER_CTX_new());
    if (!d.ctx) return make_error(Errc::kOutOfMemory);
    // The key schedule once; each record sets only its nonce.
    if (EVP_CipherInit_ex(d.ctx.get(), cipher, nullptr, nullptr, nullptr,
                          encrypt) != 1 ||
        EVP_CIPHER_CTX_ctrl(d.ctx.get(), EVP_CTRL_AEAD_SET_IVLEN,
                            static_cast<int>(kNonceLength), nullptr) != 1 ||
        EVP_CipherInit_ex(d.ctx.get(), nullptr, nullptr, key, nullptr,
                          encrypt) != 1) {
      return internal("record cipher set-up: ");
    }
    std::copy(iv, iv + su.fixed_iv_length, d.iv.begin());
    return {};
  };
  const bool server = s.server;
  if (Status st = set_up(rc.write_, server ? server_key : client_key,
                         server ? server_iv : client_iv, 1);
      !st.ok()) {
    return st.error();
  }
  if (Status st = set_up(rc.read_, server ? client_key : server_key,
                         server ? client_iv : server_iv, 0);
      !st.ok()) {
    return st.error();
  }
  return rc;
}

Result<RecordCipher> RecordCipher::from_ssl(const SSL* ssl) {
  if (ssl == nullptr || !SSL_is_init_finished(ssl) ||
      SSL_version(ssl) != DTLS1_2_VERSION) {
    return make_error(Errc::kInvalidState,
                      "record keys need a finished DTLS 1.2 handshake");
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const auto aead = aead_of(cipher);
  if (!aead) {
    return make_error(Errc::kDtlsInternal,
                      std::string("no record layer of ours for ") +
                          (cipher ? SSL_CIPHER_get_name(cipher) : "(none)"));
  }
  const SSL_SESSION* session = SSL_get_session(ssl);
  srtp::SecretBytes master(kMasterSecretLength);
  std::array<std::uint8_t, kRandomLength> client_random{}, server_random{};
  if (session == nullptr ||
      SSL_SESSION_get_master_key(session, master.data(), master.size()) !=
          kMasterSecretLength ||
      SSL_get_client_random(ssl, client_random.data(), kRandomLength) !=
          kRandomLength ||
      SSL_get_server_random(ssl, server_random.data(), kRandomLength) !=
          kRandomLength) {
    return make_error(Errc::kInvalidState, "the session has no master secret");
  }
  return derive({.aead = *aead,
                 .prf = SSL_CIPHER_get_handshake_digest(cipher),
                 .master_secret = master,
                 .client_random = client_random,
                 .server_random = server_random,
                 .server = SSL_is_server(ssl) == 1});
}

size_t RecordCipher::expansion() const {
  return suite(aead_).explicit_nonce_length + kTagLength;
}

void RecordCipher::nonce(const Direction& d, std::uint64_t seq,
                         std::span<const std::uint8_t> explicit_nonce,
                         std::uint8_t* out) const {
  if (!explicit_nonce.empty()) {
    // RFC 5288 §3: GCMNonce = salt (4) || nonce_explicit (8).
    std::copy_n(d.iv.begin(), 4, out);
    std::copy(explicit_nonce.begin(), explicit_nonce.end(), out + 4);
    return;
  }
  // RFC 7905 §2: the 64-bit sequence number, padded on the left with four
  // zero bytes, XORed with the 12-byte IV.
  std::uint8_t padded[kNonceLength] = {};
  put_be(padded + 4, seq, 8);
  for (size_t i = 0; i < kNonceLength; ++i) out[i] = d.iv[i] ^ padded[i];
}

size_t RecordCipher::seal(std::uint8_t content_type, std::uint16_t version,
                          std::uint16_t epoch, std::uint64_t sequence,
                          std::span<const std::uint8_t> plaintext,
                          std::span<std::uint8_t> out) {
  const size_t explicit_length = suite(aead_).explicit_nonce_length;
  const size_t length = explicit_length + plaintext.size() + kTagLength;
  if (plaintext.size() > kMaxPlaintextLength || sequence >> 48 != 0 ||
      out.size() < kRecordHeaderSize + length) {
    return 0;
  }
  // RFC 6347 §4.1: type, version, epoch, sequence_number (48 bits), length.
  std::uint8_t* p = out.data();
  p[0] = content_type;
  put_be(p + 1, version, 2);
  put_be(p + 3, epoch, 2);
  put_be(p + 5, sequence, 6);
  put_be(p + 11, length, 2);
  const std::uint64_t seq = seq_num(epoch, sequence);
  std::uint8_t* fragment = p + kRecordHeaderSize;
  // RFC 5288 §3 leaves nonce_explicit to the sender, but it must never repeat
  // under a key. The record's seq_num is unique among the caller's records.
  // (OpenSSL's own GCM records count from a random 64-bit start instead, so
  // one of theirs meets one of ours with a chance of about 2^-64 per record;
  // for ChaCha20-Poly1305 the nonce is the seq_num, which the caller keeps
  // above OpenSSL's.)
  if (explicit_length > 0) put_be(fragment, seq, 8);
  std::uint8_t iv[kNonceLength];
  nonce(write_, seq, {fragment, explicit_length}, iv);
  const auto aad =
      additional_data(seq, content_type, version, plaintext.size());
  EVP_CIPHER_CTX* ctx = write_.ctx.get();
  std::uint8_t* body = fragment + explicit_length;
  int n = 0, tail = 0;
  const bool ok = EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) == 1 &&
                  EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(),
                                    static_cast<int>(aad.size())) == 1 &&
                  EVP_EncryptUpdate(ctx, body, &n, plaintext.data(),
                                    static_cast<int>(plaintext.size())) == 1 &&
                  EVP_EncryptFinal_ex(ctx, body + n, &tail) == 1 &&
                  static_cast<size_t>(n + tail) == plaintext.size() &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
                                      static_cast<int>(kTagLength),
                                      body + plaintext.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    return 0;
  }
  return kRecordHeaderSize + length;
}

std::optional<std::span<std::uint8_t>> RecordCipher::open(
    const RecordHeader& header, std::span<const std::uint8_t> record,
    std::span<std::uint8_t> out) {
  const size_t explicit_length = suite(aead_).explicit_nonce_length;
  if (record.size() != kRecordHeaderSize + header.length ||
      header.length < explicit_length + kTagLength) {
    return std::nullopt;
  }
  const size_t length = header.length - explicit_length - kTagLength;
  if (out.size() < length) return std::nullopt;
  const std::uint8_t* fragment = record.data() + kRecordHeaderSize;
  const std::uint64_t seq = seq_num(header.epoch, header.sequence);
  std::uint8_t iv[kNonceLength];
  nonce(read_, seq, {fragment, explicit_length}, iv);
  const auto aad =
      additional_data(seq, header.content_type, header.version, length);
  const std::uint8_t* body = fragment + explicit_length;
  std::array<std::uint8_t, kTagLength> tag;
  std::copy_n(body + length, kTagLength, tag.begin());
  EVP_CIPHER_CTX* ctx = read_.ctx.get();
  int n = 0, tail = 0;
  const bool ok =
      EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
                          static_cast<int>(kTagLength), tag.data()) == 1 &&
      EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx, out.data(), &n, body, static_cast<int>(length)) ==
          1 &&
      // The tag is compared here, in constant time.
      EVP_DecryptFinal_ex(ctx, out.data() + n, &tail) == 1 &&
      static_cast<size_t>(n + tail) == length;
  if (!ok) {
    // Nothing unauthenticated is left for anyone to read.
    OPENSSL_cleanse(out.data(), length);
    ERR_clear_error();
    return std::nullopt;
  }
  return out.first(length);
}

}  // namespace dtls

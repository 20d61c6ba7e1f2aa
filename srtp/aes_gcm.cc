#include "srtp/aes_gcm.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <srtp2/cipher.h>

#include <new>
#include <string>

#include "srtp/evp_cipher.h"

namespace dtls::srtp {
namespace {

// RFC 7714 §8.1: a 12-octet IV; §6: tags of 16 octets (AEAD_AES_*_GCM) or 8
// (the _8 variants of libsrtp).
constexpr int kIvLength = 12;
constexpr int kTagLength = 16;
constexpr int kShortTagLength = 8;
// What libsrtp passes as the key length: the key and the 12-octet salt.
constexpr int kSaltLength = 12;
constexpr int kKey128 = 16;
constexpr int kKey256 = 32;

const EVP_CIPHER* fetched(int key_size) {
  return aes_gcm_cipher(static_cast<size_t>(key_size));
}

struct GcmState {
  EVP_CIPHER_CTX* ctx = nullptr;
  int key_size = 0;
  int tag_length = 0;
  int encrypt = -1;  // the direction of the packet in progress; -1: none
};

// libsrtp's own implementations allocate the srtp_cipher_t and its state
// apart; here one block holds both, freed by dealloc.
struct Allocation {
  srtp_cipher_t cipher;
  GcmState state;
};

extern const srtp_cipher_type_t kAesGcm128;
extern const srtp_cipher_type_t kAesGcm256;

srtp_err_status_t gcm_alloc(srtp_cipher_t** c, int key_len, int tag_len) {
  int key_size = key_len - kSaltLength;
  if (key_size != kKey128 && key_size != kKey256)
    return srtp_err_status_bad_param;
  if (tag_len != kTagLength && tag_len != kShortTagLength)
    return srtp_err_status_bad_param;
  if (fetched(key_size) == nullptr) return srtp_err_status_init_fail;
  auto* block = new (std::nothrow) Allocation();
  if (block == nullptr) return srtp_err_status_alloc_fail;
  block->state.ctx = EVP_CIPHER_CTX_new();
  if (block->state.ctx == nullptr) {
    delete block;
    return srtp_err_status_alloc_fail;
  }
  block->state.key_size = key_size;
  block->state.tag_length = tag_len;
  block->cipher.type = key_size == kKey128 ? &kAesGcm128 : &kAesGcm256;
  block->cipher.algorithm =
      key_size == kKey128 ? SRTP_AES_GCM_128 : SRTP_AES_GCM_256;
  block->cipher.state = &block->state;
  block->cipher.key_len = key_len;
  *c = &block->cipher;
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_dealloc(srtp_cipher_t* c) {
  auto* block = reinterpret_cast<Allocation*>(c);
  // Frees the key schedule, wiped (OpenSSL cleanses cipher contexts).
  EVP_CIPHER_CTX_free(block->state.ctx);
  delete block;
  return srtp_err_status_ok;
}

// The key schedule, once per session key; the IV comes per packet.
srtp_err_status_t gcm_init(void* cv, const std::uint8_t* key) {
  auto* s = static_cast<GcmState*>(cv);
  s->encrypt = -1;
  if (EVP_CipherInit_ex2(s->ctx, fetched(s->key_size), key, nullptr, 1,
                         nullptr) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

// RFC 7714 §8.1: the IV is the salt XORed with the SSRC and packet index,
// computed by libsrtp. Only the IV is set: its length is GCM's default.
srtp_err_status_t gcm_set_iv(void* cv, std::uint8_t* iv,
                             srtp_cipher_direction_t direction) {
  auto* s = static_cast<GcmState*>(cv);
  if (direction != srtp_direction_encrypt &&
      direction != srtp_direction_decrypt) {
    return srtp_err_status_bad_param;
  }
  s->encrypt = direction == srtp_direction_encrypt ? 1 : 0;
  if (EVP_CipherInit_ex2(s->ctx, nullptr, nullptr, iv, s->encrypt, nullptr) !=
      1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

// May come more than once per packet (SRTCP: the header, then the index).
srtp_err_status_t gcm_set_aad(void* cv, const std::uint8_t* aad,
                              std::uint32_t aad_len) {
  auto* s = static_cast<GcmState*>(cv);
  int out = 0;
  if (s->encrypt < 0 || EVP_CipherUpdate(s->ctx, nullptr, &out, aad,
                                         static_cast<int>(aad_len)) != 1) {
    return srtp_err_status_algo_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_encrypt(void* cv, unsigned char* buf,
                              unsigned int* enc_len) {
  auto* s = static_cast<GcmState*>(cv);
  if (s->encrypt != 1) return srtp_err_status_bad_param;
  int out = 0;
  if (*enc_len != 0 && EVP_CipherUpdate(s->ctx, buf, &out, buf,
                                        static_cast<int>(*enc_len)) != 1) {
    return srtp_err_status_algo_fail;
  }
  return srtp_err_status_ok;
}

// After encrypt: the tag, written at `buf`.
srtp_err_status_t gcm_get_tag(void* cv, std::uint8_t* buf, std::uint32_t* len) {
  auto* s = static_cast<GcmState*>(cv);
  if (s->encrypt != 1) return srtp_err_status_bad_param;
  int out = 0;
  if (EVP_CipherFinal_ex(s->ctx, nullptr, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, s->tag_length, buf) !=
          1) {
    return srtp_err_status_algo_fail;
  }
  s->encrypt = -1;
  *len = static_cast<std::uint32_t>(s->tag_length);
  return srtp_err_status_ok;
}

// `buf` holds the ciphertext and then the tag; on success *enc_len loses the
// tag. A tag that does not verify is srtp_err_status_auth_fail.
srtp_err_status_t gcm_decrypt(void* cv, unsigned char* buf,
                              unsigned int* enc_len) {
  auto* s = static_cast<GcmState*>(cv);
  if (s->encrypt != 0) return srtp_err_status_bad_param;
  s->encrypt = -1;
  const auto tag = static_cast<unsigned int>(s->tag_length);
  if (*enc_len < tag) return srtp_err_status_bad_param;
  const unsigned int text = *enc_len - tag;
  int out = 0;
  if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, s->tag_length,
                          buf + text) != 1) {
    return srtp_err_status_auth_fail;
  }
  if (text != 0 &&
      EVP_CipherUpdate(s->ctx, buf, &out, buf, static_cast<int>(text)) != 1) {
    return srtp_err_status_algo_fail;
  }
  if (EVP_CipherFinal_ex(s->ctx, nullptr, &out) != 1)
    return srtp_err_status_auth_fail;
  *enc_len = text;
  return srtp_err_status_ok;
}

// The GCM specification's test case 4 (AES-128) and 16 (AES-256): 60 octets
// with 20 of AAD, the vectors libsrtp tests its own GCM with. The key is
// followed by the 12-octet salt libsrtp passes along.
// libsrtp's field is not const (it never writes it).
std::uint8_t test_iv[kIvLength] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                   0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
const std::uint8_t kPlaintext[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5,
    0xaf, 0xf5, 0x26, 0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda,
    0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95,
    0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
    0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
const std::uint8_t kAad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe,
                               0xef, 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad,
                               0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
const std::uint8_t kKey128Salted[kKey128 + kSaltLength] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a,
    0x8f, 0x94, 0x67, 0x30, 0x83, 0x08, 0x01, 0x02, 0x03, 0x04,
    0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
const std::uint8_t kCiphertext128[76] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7,
    0x84, 0xd0, 0xd4, 0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0,
    0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2,
    0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
    0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
    // the tag
    0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a,
    0xe7, 0x12, 0x1a, 0x47};
const std::uint8_t kKey256Salted[kKey256 + kSaltLength] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0xa5, 0x59, 0x09,
    0xc5, 0x54, 0x66, 0x93, 0x1c, 0xaf, 0xf5, 0x26, 0x9a, 0x21, 0xd5,
    0x14, 0xb2, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08, 0x01,
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
const std::uint8_t kCiphertext256[76] = {
    0x0b, 0x11, 0xcf, 0xaf, 0x68, 0x4d, 0xae, 0x46, 0xc7, 0x90, 0xb8, 0x8e,
    0xb7, 0x6a, 0x76, 0x2a, 0x94, 0x82, 0xca, 0xab, 0x3e, 0x39, 0xd7, 0x86,
    0x1b, 0xc7, 0x93, 0xed, 0x75, 0x7f, 0x23, 0x5a, 0xda, 0xfd, 0xd3, 0xe2,
    0x0e, 0x80, 0x87, 0xa9, 0x6d, 0xd7, 0xe2, 0x6a, 0x7d, 0x5f, 0xb4, 0x80,
    0xef, 0xef, 0xc5, 0x29, 0x12, 0xd1, 0xaa, 0x10, 0x09, 0xc9, 0x86, 0xc1,
    // the tag
    0x45, 0xbc, 0x03, 0xe6, 0xe1, 0xac, 0x0a, 0x9f, 0x81, 0xcb, 0x8e, 0x5b,
    0x46, 0x65, 0x63, 0x1d};

// The 8-octet tag is the 16-octet one cut short.
const srtp_cipher_test_case_t kTest128Short = {kKey128 + kSaltLength,
                                               kKey128Salted,
                                               test_iv,
                                               60,
                                               kPlaintext,
                                               68,
                                               kCiphertext128,
                                               20,
                                               kAad,
                                               8,
                                               nullptr};
const srtp_cipher_test_case_t kTest128 = {kKey128 + kSaltLength,
                                          kKey128Salted,
                                          test_iv,
                                          60,
                                          kPlaintext,
                                          76,
                                          kCiphertext128,
                                          20,
                                          kAad,
                                          16,
                                          &kTest128Short};
const srtp_cipher_test_case_t kTest256 = {kKey256 + kSaltLength,
                                          kKey256Salted,
                                          test_iv,
                                          60,
                                          kPlaintext,
                                          76,
                                          kCiphertext256,
                                          20,
                                          kAad,
                                          16,
                                          nullptr};

const srtp_cipher_type_t kAesGcm128 = {
    gcm_alloc,
    gcm_dealloc,
    gcm_init,
    gcm_set_aad,
    gcm_encrypt,
    gcm_decrypt,
    gcm_set_iv,
    gcm_get_tag,
    "AES-128-GCM (dtls_srtp, OpenSSL EVP, IV only per packet)",
    &kTest128,
    SRTP_AES_GCM_128};
const srtp_cipher_type_t kAesGcm256 = {
    gcm_alloc,
    gcm_dealloc,
    gcm_init,
    gcm_set_aad,
    gcm_encrypt,
    gcm_decrypt,
    gcm_set_iv,
    gcm_get_tag,
    "AES-256-GCM (dtls_srtp, OpenSSL EVP, IV only per packet)",
    &kTest256,
    SRTP_AES_GCM_256};

Status replace(const srtp_cipher_type_t& type, srtp_cipher_type_id_t id) {
  if (srtp_err_status_t e = srtp_replace_cipher_type(&type, id);
      e != srtp_err_status_ok) {
    return make_error("ERR_SRTP_INIT", std::string("libsrtp refused ") +
                                           type.description + " (status " +
                                           std::to_string(e) + ")");
  }
  return {};
}

}  // namespace

Status install_aes_gcm() {
  if (Status s = replace(kAesGcm128, SRTP_AES_GCM_128); !s.ok()) return s;
  return replace(kAesGcm256, SRTP_AES_GCM_256);
}

}  // namespace dtls::srtp

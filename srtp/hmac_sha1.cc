// The low-level SHA1_* functions are deprecated in OpenSSL 3.0 but are the
// same assembly (SHA-NI where the CPU has it) with a copyable state, which is
// what makes a per-packet HMAC free of allocation.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "srtp/hmac_sha1.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace dtls::srtp {
namespace {

constexpr int kBlock = 64;
constexpr int kDigest = SHA_DIGEST_LENGTH;

struct HmacState {
  SHA_CTX inner_keyed;  // after H(K ^ ipad)
  SHA_CTX outer_keyed;  // after H(K ^ opad)
  SHA_CTX inner;        // the packet in progress
};

// libsrtp allocates the srtp_auth_t and its state together in its own
// implementations; here one calloc holds both, freed by dealloc.
struct Allocation {
  srtp_auth_t auth;
  HmacState state;
};

extern const srtp_auth_type_t kHmacSha1;

srtp_err_status_t hmac_alloc(srtp_auth_t** a, int key_len, int out_len) {
  if (out_len > kDigest || key_len < 0) return srtp_err_status_bad_param;
  auto* block = static_cast<Allocation*>(std::calloc(1, sizeof(Allocation)));
  if (block == nullptr) return srtp_err_status_alloc_fail;
  block->auth.type = &kHmacSha1;
  block->auth.state = &block->state;
  block->auth.out_len = out_len;
  block->auth.key_len = key_len;
  block->auth.prefix_len = 0;
  *a = &block->auth;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_dealloc(srtp_auth_t* a) {
  auto* block = reinterpret_cast<Allocation*>(a);
  OPENSSL_cleanse(&block->state, sizeof(block->state));  // keyed states
  std::free(block);
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_init(void* statev, const std::uint8_t* key,
                            int key_len) {
  auto* s = static_cast<HmacState*>(statev);
  std::uint8_t k[kBlock] = {};
  if (key_len > kBlock) {
    SHA1(key, static_cast<size_t>(key_len), k);  // RFC 2104 §2: long keys
  } else if (key_len > 0) {
    std::memcpy(k, key, static_cast<size_t>(key_len));
  }
  std::uint8_t pad[kBlock];
  for (int i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
  SHA1_Init(&s->inner_keyed);
  SHA1_Update(&s->inner_keyed, pad, kBlock);
  for (int i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
  SHA1_Init(&s->outer_keyed);
  SHA1_Update(&s->outer_keyed, pad, kBlock);
  OPENSSL_cleanse(k, sizeof(k));
  OPENSSL_cleanse(pad, sizeof(pad));
  s->inner = s->inner_keyed;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_start(void* statev) {
  auto* s = static_cast<HmacState*>(statev);
  s->inner = s->inner_keyed;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_update(void* statev, const std::uint8_t* message,
                              int octets) {
  if (octets < 0) return srtp_err_status_bad_param;
  SHA1_Update(&static_cast<HmacState*>(statev)->inner, message,
              static_cast<size_t>(octets));
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_compute(void* statev, const std::uint8_t* message,
                               int octets, int tag_len, std::uint8_t* result) {
  if (octets < 0 || tag_len < 0 || tag_len > kDigest)
    return srtp_err_status_bad_param;
  auto* s = static_cast<HmacState*>(statev);
  std::uint8_t inner[kDigest], outer[kDigest];
  SHA1_Update(&s->inner, message, static_cast<size_t>(octets));
  SHA1_Final(inner, &s->inner);
  SHA_CTX o = s->outer_keyed;
  SHA1_Update(&o, inner, kDigest);
  SHA1_Final(outer, &o);
  std::memcpy(result, outer, static_cast<size_t>(tag_len));
  return srtp_err_status_ok;
}

// RFC 2202 §3, test case 1.
const std::uint8_t kTestKey[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                   0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                   0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
const std::uint8_t kTestData[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
const std::uint8_t kTestTag[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                   0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                   0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
const srtp_auth_test_case_t kTestCase = {20, kTestKey, 8,      kTestData,
                                         20, kTestTag, nullptr};

const srtp_auth_type_t kHmacSha1 = {
    hmac_alloc,
    hmac_dealloc,
    hmac_init,
    hmac_compute,
    hmac_update,
    hmac_start,
    "HMAC-SHA1 (dtls_srtp, no allocation per packet)",
    &kTestCase,
    SRTP_HMAC_SHA1};

}  // namespace

Status install_hmac_sha1() {
  if (srtp_err_status_t e = srtp_replace_auth_type(&kHmacSha1, SRTP_HMAC_SHA1);
      e != srtp_err_status_ok) {
    return make_error("ERR_SRTP_INIT",
                      "libsrtp refused the HMAC-SHA1 replacement (status " +
                          std::to_string(e) + ")");
  }
  return {};
}

}  // namespace dtls::srtp

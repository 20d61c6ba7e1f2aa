#include "srtp/hmac_sha1.h"

#include <srtp2/auth.h>

#include <cstring>
#include <new>
#include <string>

#include "transport/base/hmac.h"

namespace dtls::srtp {
namespace {

constexpr int kDigest = crypto::HmacSha1::kDigestSize;

// The keyed states, and the packet in progress (started from them).
struct HmacState {
  crypto::HmacSha1 key;
  crypto::HmacSha1::Mac packet{key};
};

// libsrtp allocates the srtp_auth_t and its state together in its own
// implementations; here one block holds both, freed by dealloc.
struct Allocation {
  srtp_auth_t auth;
  HmacState state;
};

extern const srtp_auth_type_t kHmacSha1;

srtp_err_status_t hmac_alloc(srtp_auth_t** a, int key_len, int out_len) {
  if (out_len > kDigest || key_len < 0) return srtp_err_status_bad_param;
  auto* block = new (std::nothrow) Allocation();
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
  // The states wipe themselves (crypto::HmacKey).
  delete reinterpret_cast<Allocation*>(a);
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_init(void* statev, const std::uint8_t* key,
                            int key_len) {
  if (key_len < 0) return srtp_err_status_bad_param;
  auto* s = static_cast<HmacState*>(statev);
  s->key = crypto::HmacSha1({key, static_cast<size_t>(key_len)});
  s->packet.restart();
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_start(void* statev) {
  static_cast<HmacState*>(statev)->packet.restart();
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_update(void* statev, const std::uint8_t* message,
                              int octets) {
  if (octets < 0) return srtp_err_status_bad_param;
  static_cast<HmacState*>(statev)->packet.update(
      {message, static_cast<size_t>(octets)});
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_compute(void* statev, const std::uint8_t* message,
                               int octets, int tag_len, std::uint8_t* result) {
  if (octets < 0 || tag_len < 0 || tag_len > kDigest)
    return srtp_err_status_bad_param;
  auto* s = static_cast<HmacState*>(statev);
  s->packet.update({message, static_cast<size_t>(octets)});
  const crypto::HmacSha1::Digest tag = s->packet.finish();
  std::memcpy(result, tag.data(), static_cast<size_t>(tag_len));
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

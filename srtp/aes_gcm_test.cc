// The AES-GCM cipher type that replaces libsrtp's (aes_gcm.h), reached as
// libsrtp reaches it: through its crypto kernel, after ensure_initialized().
// The RFC 7714 vectors and the EVP cross-check of whole packets are in
// srtp_context_test.
#include "srtp/aes_gcm.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <srtp2/cipher.h>

#include <cstring>
#include <string>
#include <vector>

#include "srtp/srtp_context.h"

// libsrtp's crypto kernel (crypto_kernel.h is not installed): a cipher of
// the type registered for `id`.
extern "C" srtp_err_status_t srtp_crypto_kernel_alloc_cipher(
    srtp_cipher_type_id_t id, srtp_cipher_pointer_t* cp, int key_len,
    int tag_len);

namespace dtls::srtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Cipher {
  srtp_cipher_t* c = nullptr;
  Cipher(srtp_cipher_type_id_t id, int key_len, int tag_len) {
    EXPECT_TRUE(ensure_initialized().ok());
    EXPECT_EQ(srtp_crypto_kernel_alloc_cipher(id, &c, key_len, tag_len),
              srtp_err_status_ok);
  }
  ~Cipher() {
    if (c) c->type->dealloc(c);
  }
  srtp_err_status_t init(const Bytes& key) {
    return c->type->init(c->state, key.data());
  }
  srtp_err_status_t iv(Bytes iv, srtp_cipher_direction_t d) {
    return c->type->set_iv(c->state, iv.data(), d);
  }
  srtp_err_status_t aad(const Bytes& a) {
    return c->type->set_aad(c->state, a.data(),
                            static_cast<std::uint32_t>(a.size()));
  }
  // Seals `text` in place and appends the tag.
  srtp_err_status_t seal(Bytes& text) {
    unsigned int len = static_cast<unsigned int>(text.size());
    text.resize(text.size() + 16);
    if (auto e = c->type->encrypt(c->state, text.data(), &len)) return e;
    std::uint32_t tag = 0;
    auto e = c->type->get_tag(c->state, text.data() + len, &tag);
    text.resize(len + tag);
    return e;
  }
  srtp_err_status_t open(Bytes& sealed) {
    unsigned int len = static_cast<unsigned int>(sealed.size());
    auto e = c->type->decrypt(c->state, sealed.data(), &len);
    if (e == srtp_err_status_ok) sealed.resize(len);
    return e;
  }
};

const Bytes kKey(16, 0x5a);
const Bytes kIv(12, 0x01);
const Bytes kHeader = {0x80, 0x60, 0x00, 0x01, 0,    0,
                       0,    1,    0x12, 0x34, 0x56, 0x78};

// A bare EVP seal of the same bytes: the reference.
Bytes evp_seal(const Bytes& key, const Bytes& iv, const Bytes& aad, Bytes text,
               int tag_len) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int out = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key.data(), iv.data());
  EVP_EncryptUpdate(ctx, nullptr, &out, aad.data(),
                    static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, text.data(), &out, text.data(),
                    static_cast<int>(text.size()));
  EVP_EncryptFinal_ex(ctx, nullptr, &out);
  const size_t n = text.size();
  text.resize(n + static_cast<size_t>(tag_len));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, tag_len, text.data() + n);
  EVP_CIPHER_CTX_free(ctx);
  return text;
}

TEST(AesGcm, ReplacesLibsrtpsTypesForBothKeySizes) {
  ASSERT_TRUE(ensure_initialized().ok());
  for (auto [id, key_len] :
       {std::pair{SRTP_AES_GCM_128, 28}, std::pair{SRTP_AES_GCM_256, 44}}) {
    Cipher c(id, key_len, 16);
    ASSERT_NE(c.c, nullptr);
    EXPECT_NE(std::string(c.c->type->description).find("dtls_srtp"),
              std::string::npos)
        << c.c->type->description;
    EXPECT_EQ(c.c->algorithm, id);
    EXPECT_EQ(c.c->key_len, key_len);
    EXPECT_EQ(srtp_cipher_type_self_test(c.c->type), srtp_err_status_ok);
  }
  // Installing again is harmless (libsrtp checks the new type against the
  // one it replaces, here itself).
  EXPECT_TRUE(install_aes_gcm().ok());
}

// Both tag lengths; SRTCP gives the AAD in two pieces (RFC 7714 §17: the
// header, then the E flag and index), which must equal one.
TEST(AesGcm, SealsAsEvpDoesAndOpensItsOwn) {
  for (int tag : {16, 8}) {
    SCOPED_TRACE(tag);
    Cipher c(SRTP_AES_GCM_128, 28, tag);
    ASSERT_EQ(c.init(kKey), srtp_err_status_ok);
    const Bytes payload(300, 0xab);
    Bytes aad = kHeader;
    aad.insert(aad.end(), {0x80, 0, 0, 7});
    Bytes sealed = payload;
    ASSERT_EQ(c.iv(kIv, srtp_direction_encrypt), srtp_err_status_ok);
    ASSERT_EQ(c.aad(kHeader), srtp_err_status_ok);
    ASSERT_EQ(c.aad(Bytes{0x80, 0, 0, 7}), srtp_err_status_ok);
    ASSERT_EQ(c.seal(sealed), srtp_err_status_ok);
    EXPECT_EQ(sealed, evp_seal(kKey, kIv, aad, payload, tag));
    // The same context opens it (directions alternate per packet).
    Bytes opened = sealed;
    ASSERT_EQ(c.iv(kIv, srtp_direction_decrypt), srtp_err_status_ok);
    ASSERT_EQ(c.aad(aad), srtp_err_status_ok);
    ASSERT_EQ(c.open(opened), srtp_err_status_ok);
    EXPECT_EQ(opened, payload);
  }
}

// Every forgery is an authentication failure, never plaintext; misuse is a
// parameter error; the context works again for the next packet.
TEST(AesGcm, ForgeriesAndMisuseFail) {
  Cipher c(SRTP_AES_GCM_128, 28, 16);
  ASSERT_EQ(c.init(kKey), srtp_err_status_ok);
  const Bytes payload(100, 0x42);
  const Bytes sealed = evp_seal(kKey, kIv, kHeader, payload, 16);
  auto open = [&](Bytes packet, const Bytes& aad) {
    EXPECT_EQ(c.iv(kIv, srtp_direction_decrypt), srtp_err_status_ok);
    EXPECT_EQ(c.aad(aad), srtp_err_status_ok);
    return c.open(packet);
  };
  Bytes bad_tag = sealed;
  bad_tag.back() ^= 1;
  EXPECT_EQ(open(bad_tag, kHeader), srtp_err_status_auth_fail);
  Bytes bad_text = sealed;
  bad_text[3] ^= 0x80;
  EXPECT_EQ(open(bad_text, kHeader), srtp_err_status_auth_fail);
  Bytes bad_aad = kHeader;
  bad_aad[11] ^= 1;
  EXPECT_EQ(open(sealed, bad_aad), srtp_err_status_auth_fail);
  // Shorter than a tag.
  EXPECT_EQ(open(Bytes(15, 0), kHeader), srtp_err_status_bad_param);
  // A tag alone: an empty payload that verifies.
  const Bytes empty = evp_seal(kKey, kIv, kHeader, {}, 16);
  EXPECT_EQ(open(empty, kHeader), srtp_err_status_ok);
  EXPECT_EQ(open(sealed, kHeader), srtp_err_status_ok);

  // No IV for this packet: refused, not run on the last one's state.
  Bytes again = sealed;
  EXPECT_EQ(c.open(again), srtp_err_status_bad_param);
  EXPECT_EQ(c.aad(kHeader), srtp_err_status_algo_fail);
  Bytes text = payload;
  EXPECT_EQ(c.seal(text), srtp_err_status_bad_param);
  EXPECT_EQ(c.iv(kIv, srtp_direction_any), srtp_err_status_bad_param);

  // Sizes libsrtp never asks for.
  srtp_cipher_t* none = nullptr;
  EXPECT_EQ(c.c->type->alloc(&none, 20, 16), srtp_err_status_bad_param);
  EXPECT_EQ(c.c->type->alloc(&none, 28, 12), srtp_err_status_bad_param);
  EXPECT_EQ(none, nullptr);
}

}  // namespace
}  // namespace dtls::srtp

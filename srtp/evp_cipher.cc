#include "srtp/evp_cipher.h"

#include <atomic>

namespace dtls::srtp {
namespace {

// Kept for the process's life once fetched. A fetch that fails (OpenSSL out
// of memory) is not kept: the next call tries again, where a static
// initialized from it would have refused SRTP to every later session.
const EVP_CIPHER* fetched(std::atomic<EVP_CIPHER*>& slot, const char* name) {
  if (EVP_CIPHER* c = slot.load(std::memory_order_acquire)) return c;
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (c == nullptr) return nullptr;
  EVP_CIPHER* first = nullptr;
  if (slot.compare_exchange_strong(first, c, std::memory_order_acq_rel))
    return c;
  EVP_CIPHER_free(c);  // another thread's fetch got there first
  return first;
}

}  // namespace

void add_context_lines(FetchList& out, const EVP_CIPHER_CTX* ctx) {
  // The type is opaque. OpenSSL 3.0's evp_cipher_ctx_st (evp_local.h) is 184
  // bytes on 64-bit targets, and a call reads its start (the cipher, the IV)
  // and its end (the pointer to the provider's context).
  constexpr size_t kContextBytes = 184;
  if (ctx != nullptr) out.add(ctx, kContextBytes);
}

const EVP_CIPHER* aes_gcm_cipher(size_t key_length) {
  static std::atomic<EVP_CIPHER*> aes128{nullptr}, aes256{nullptr};
  if (key_length == 16) return fetched(aes128, "AES-128-GCM");
  if (key_length == 32) return fetched(aes256, "AES-256-GCM");
  return nullptr;
}

const EVP_CIPHER* aes_ctr_cipher(size_t key_length) {
  static std::atomic<EVP_CIPHER*> aes128{nullptr}, aes256{nullptr};
  if (key_length == 16) return fetched(aes128, "AES-128-CTR");
  if (key_length == 32) return fetched(aes256, "AES-256-CTR");
  return nullptr;
}

const EVP_CIPHER* aes_ecb_cipher(size_t key_length) {
  static std::atomic<EVP_CIPHER*> aes128{nullptr}, aes256{nullptr};
  if (key_length == 16) return fetched(aes128, "AES-128-ECB");
  if (key_length == 32) return fetched(aes256, "AES-256-ECB");
  return nullptr;
}

}  // namespace dtls::srtp

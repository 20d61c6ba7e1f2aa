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

// One AES mode's 128- and 256-bit ciphers, each fetched at its first use.
struct AesBySize {
  std::atomic<EVP_CIPHER*> aes128{nullptr}, aes256{nullptr};
  const EVP_CIPHER* get(size_t key_length, const char* name128,
                        const char* name256) {
    if (key_length == 16) return fetched(aes128, name128);
    if (key_length == 32) return fetched(aes256, name256);
    return nullptr;
  }
};

}  // namespace

void add_context_lines(FetchList& out, const EVP_CIPHER_CTX* ctx) {
  // The type is opaque. OpenSSL 3.0's evp_cipher_ctx_st (evp_local.h) is 184
  // bytes on 64-bit targets, and a call reads its start (the cipher, the IV)
  // and its end (the pointer to the provider's context).
  constexpr size_t kContextBytes = 184;
  if (ctx != nullptr) out.add(ctx, kContextBytes);
}

const EVP_CIPHER* aes_gcm_cipher(size_t key_length) {
  static AesBySize slots;
  return slots.get(key_length, "AES-128-GCM", "AES-256-GCM");
}

const EVP_CIPHER* aes_ctr_cipher(size_t key_length) {
  static AesBySize slots;
  return slots.get(key_length, "AES-128-CTR", "AES-256-CTR");
}

const EVP_CIPHER* aes_ecb_cipher(size_t key_length) {
  static AesBySize slots;
  return slots.get(key_length, "AES-128-ECB", "AES-256-ECB");
}

}  // namespace dtls::srtp

// The low-level SHA1_* and SHA256_* functions are deprecated in OpenSSL 3.0
// but are the same assembly (SHA-NI where the CPU has it) as EVP's, with a
// state that can be copied: what makes a MAC free of allocation.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "transport/base/hmac.h"

#include <openssl/crypto.h>

#include <cstring>

namespace dtls::crypto {
namespace {

template <class Hash>
struct Ops;

template <>
struct Ops<Sha1> {
  static void init(SHA_CTX* c) { SHA1_Init(c); }
  static void update(SHA_CTX* c, const void* p, size_t n) {
    SHA1_Update(c, p, n);
  }
  static void final(std::uint8_t* out, SHA_CTX* c) { SHA1_Final(out, c); }
};

template <>
struct Ops<Sha256> {
  static void init(SHA256_CTX* c) { SHA256_Init(c); }
  static void update(SHA256_CTX* c, const void* p, size_t n) {
    SHA256_Update(c, p, n);
  }
  static void final(std::uint8_t* out, SHA256_CTX* c) { SHA256_Final(out, c); }
};

static_assert(Sha1::kBlockSize == SHA_CBLOCK &&
              Sha1::kDigestSize == SHA_DIGEST_LENGTH);
static_assert(Sha256::kBlockSize == SHA256_CBLOCK &&
              Sha256::kDigestSize == SHA256_DIGEST_LENGTH);

}  // namespace

template <class Hash>
HmacKey<Hash>::HmacKey() : HmacKey(std::span<const std::uint8_t>()) {}

template <class Hash>
HmacKey<Hash>::HmacKey(std::span<const std::uint8_t> key) {
  using O = Ops<Hash>;
  std::uint8_t k[Hash::kBlockSize] = {};
  if (key.size() > Hash::kBlockSize) {
    typename Hash::State h;
    O::init(&h);
    O::update(&h, key.data(), key.size());
    O::final(k, &h);
    OPENSSL_cleanse(&h, sizeof(h));
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  std::uint8_t pad[Hash::kBlockSize];
  for (size_t i = 0; i < Hash::kBlockSize; ++i) pad[i] = k[i] ^ 0x36;
  O::init(&inner_);
  O::update(&inner_, pad, sizeof(pad));
  for (size_t i = 0; i < Hash::kBlockSize; ++i) pad[i] = k[i] ^ 0x5c;
  O::init(&outer_);
  O::update(&outer_, pad, sizeof(pad));
  OPENSSL_cleanse(k, sizeof(k));
  OPENSSL_cleanse(pad, sizeof(pad));
}

template <class Hash>
HmacKey<Hash>::~HmacKey() {
  OPENSSL_cleanse(&inner_, sizeof(inner_));
  OPENSSL_cleanse(&outer_, sizeof(outer_));
}

template <class Hash>
typename HmacKey<Hash>::Digest HmacKey<Hash>::mac(
    std::span<const std::uint8_t> message) const {
  // Not through a Mac: its destructor wipes a state that may still be
  // unfinished, and this one always ends finalised.
  typename Hash::State inner = inner_;
  Ops<Hash>::update(&inner, message.data(), message.size());
  return finish(inner);
}

template <class Hash>
typename HmacKey<Hash>::Digest HmacKey<Hash>::finish(
    typename Hash::State& inner) const {
  using O = Ops<Hash>;
  Digest inner_digest;
  O::final(inner_digest.data(), &inner);
  // Once final, a state holds its digest and no more of the key (OpenSSL
  // wipes the block buffer): neither copy needs wiping on this, the
  // per-packet, path.
  typename Hash::State outer = outer_;
  O::update(&outer, inner_digest.data(), inner_digest.size());
  Digest out;
  O::final(out.data(), &outer);
  return out;
}

template <class Hash>
HmacKey<Hash>::Mac::Mac(const HmacKey& key) : key_(&key), inner_(key.inner_) {}

template <class Hash>
HmacKey<Hash>::Mac::~Mac() {
  OPENSSL_cleanse(&inner_, sizeof(inner_));
}

template <class Hash>
void HmacKey<Hash>::Mac::update(std::span<const std::uint8_t> bytes) {
  Ops<Hash>::update(&inner_, bytes.data(), bytes.size());
}

template <class Hash>
typename HmacKey<Hash>::Digest HmacKey<Hash>::Mac::finish() {
  return key_->finish(inner_);
}

template <class Hash>
void HmacKey<Hash>::Mac::restart() {
  inner_ = key_->inner_;
}

template class HmacKey<Sha1>;
template class HmacKey<Sha256>;

}  // namespace dtls::crypto

#include "certs/fingerprint.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

namespace dtls::certs {
namespace {

const EVP_MD* md_for(HashAlgorithm a) {
  switch (a) {
    case HashAlgorithm::kSha1:
      return EVP_sha1();
    case HashAlgorithm::kSha256:
      return EVP_sha256();
    case HashAlgorithm::kSha384:
      return EVP_sha384();
    case HashAlgorithm::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

Error invalid(std::string message) {
  return make_error("ERR_SDP_FINGERPRINT_INVALID", std::move(message));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view hash_name(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::kSha1:
      return "sha-1";
    case HashAlgorithm::kSha256:
      return "sha-256";
    case HashAlgorithm::kSha384:
      return "sha-384";
    case HashAlgorithm::kSha512:
      return "sha-512";
  }
  return "sha-256";
}

Result<HashAlgorithm> parse_hash_name(std::string_view name) {
  for (auto a : {HashAlgorithm::kSha1, HashAlgorithm::kSha256,
                 HashAlgorithm::kSha384, HashAlgorithm::kSha512}) {
    if (iequals(name, hash_name(a))) return a;
  }
  return invalid("unsupported fingerprint hash '" + std::string(name) +
                 "' (sha-1, sha-256, sha-384, sha-512)");
}

std::string colon_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += ':';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

Fingerprint Fingerprint::of(const Certificate& cert, HashAlgorithm algorithm) {
  std::vector<std::uint8_t> digest(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  X509_digest(cert.get(), md_for(algorithm), digest.data(), &len);
  digest.resize(len);
  return Fingerprint(algorithm, std::move(digest));
}

Result<Fingerprint> Fingerprint::parse(HashAlgorithm algorithm,
                                       std::string_view text) {
  const size_t want = static_cast<size_t>(EVP_MD_get_size(md_for(algorithm)));
  // RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX)
  if (text.size() != want * 3 - 1) {
    return invalid(std::string(hash_name(algorithm)) +
                   " fingerprint must have " + std::to_string(want) +
                   " colon-separated bytes");
  }
  std::vector<std::uint8_t> digest(want);
  for (size_t i = 0; i < want; ++i) {
    int hi = hex_value(text[i * 3]);
    int lo = hex_value(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i + 1 < want && text[i * 3 + 2] != ':')) {
      return invalid("fingerprint byte " + std::to_string(i + 1) +
                     " is not two hex digits");
    }
    digest[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return Fingerprint(algorithm, std::move(digest));
}

Result<Fingerprint> Fingerprint::parse_sdp(std::string_view text) {
  constexpr std::string_view kPrefix = "a=fingerprint:";
  if (text.size() >= kPrefix.size() &&
      iequals(text.substr(0, kPrefix.size()), kPrefix)) {
    text.remove_prefix(kPrefix.size());
  }
  while (!text.empty() &&
         (text.back() == '\r' || text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  auto space = text.find(' ');
  if (space == std::string_view::npos) {
    return invalid("expected 'HASH XX:XX:...', got '" + std::string(text) +
                   "'");
  }
  auto algorithm = parse_hash_name(text.substr(0, space));
  if (!algorithm.ok()) return algorithm.error();
  return parse(*algorithm, text.substr(space + 1));
}

std::string Fingerprint::colon_hex() const { return certs::colon_hex(digest_); }

std::string Fingerprint::to_sdp() const {
  return std::string(hash_name(algorithm_)) + " " + colon_hex();
}

bool Fingerprint::operator==(const Fingerprint& other) const {
  return algorithm_ == other.algorithm_ &&
         digest_.size() == other.digest_.size() &&
         CRYPTO_memcmp(digest_.data(), other.digest_.data(), digest_.size()) ==
             0;
}

bool Fingerprint::matches(const Certificate& cert) const {
  return *this == Fingerprint::of(cert, algorithm_);
}

}  // namespace dtls::certs

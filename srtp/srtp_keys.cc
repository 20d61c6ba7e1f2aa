#include "srtp/srtp_keys.h"

#include <openssl/crypto.h>

#include <string>

namespace dtls::srtp {
namespace {

SecretBytes join(const SecretBytes& key, const SecretBytes& salt) {
  SecretBytes out;
  out.reserve(key.size() + salt.size());
  out.insert(out.end(), key.begin(), key.end());
  out.insert(out.end(), salt.begin(), salt.end());
  return out;
}

}  // namespace

size_t SrtpKeys::material_length(Profile p) {
  const ProfileInfo& i = profile_info(p);
  return 2 * (i.key_length + i.salt_length);
}

Result<SrtpKeys> SrtpKeys::split(Profile p,
                                 std::span<const std::uint8_t> material) {
  const ProfileInfo& i = profile_info(p);
  if (material.size() != material_length(p)) {
    return make_error("ERR_SRTP_KEY_LENGTH",
                      std::string(i.name) + " needs " +
                          std::to_string(material_length(p)) +
                          " bytes of keying material, got " +
                          std::to_string(material.size()));
  }
  // RFC 5764 §4.2: client_write_SRTP_master_key | server_write_SRTP_master_key
  // | client_write_SRTP_master_salt | server_write_SRTP_master_salt.
  auto take = [&, at = size_t{0}](size_t n) mutable {
    auto part = material.subspan(at, n);
    at += n;
    return SecretBytes(part.begin(), part.end());
  };
  SrtpKeys k;
  k.profile = p;
  k.client_key = take(i.key_length);
  k.server_key = take(i.key_length);
  k.client_salt = take(i.salt_length);
  k.server_salt = take(i.salt_length);
  return k;
}

Result<SrtpKeys> SrtpKeys::split_and_wipe(Profile p,
                                          std::span<std::uint8_t> material) {
  Result<SrtpKeys> keys = split(p, material);
  OPENSSL_cleanse(material.data(), material.size());
  return keys;
}

SecretBytes SrtpKeys::outbound_master(Side side) const {
  return side == Side::kClient ? join(client_key, client_salt)
                               : join(server_key, server_salt);
}

SecretBytes SrtpKeys::inbound_master(Side side) const {
  return outbound_master(side == Side::kClient ? Side::kServer : Side::kClient);
}

}  // namespace dtls::srtp

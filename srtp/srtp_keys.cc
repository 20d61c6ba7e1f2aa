#include "srtp/srtp_keys.h"

#include <string>

namespace dtls::srtp {
namespace {

std::vector<std::uint8_t> join(const std::vector<std::uint8_t>& key,
                               const std::vector<std::uint8_t>& salt) {
  std::vector<std::uint8_t> out(key);
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
    return std::vector<std::uint8_t>(part.begin(), part.end());
  };
  SrtpKeys k;
  k.profile = p;
  k.client_key = take(i.key_length);
  k.server_key = take(i.key_length);
  k.client_salt = take(i.salt_length);
  k.server_salt = take(i.salt_length);
  return k;
}

std::vector<std::uint8_t> SrtpKeys::outbound_master(Side side) const {
  return side == Side::kClient ? join(client_key, client_salt)
                               : join(server_key, server_salt);
}

std::vector<std::uint8_t> SrtpKeys::inbound_master(Side side) const {
  return outbound_master(side == Side::kClient ? Side::kServer : Side::kClient);
}

}  // namespace dtls::srtp

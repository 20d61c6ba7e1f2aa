#include "transport/dtls/srtp_keying.h"

namespace dtls {

Result<srtp::SrtpKeys> export_srtp_keys(const DtlsAssociation& a) {
  if (a.state() != DtlsAssociation::State::kOpen) {
    return make_error("ERR_DTLS_SESSION_NOT_OPEN",
                      "the handshake has not completed");
  }
  const std::string name = a.srtp_profile();
  auto profile = srtp::profile_from_name(name);
  if (!profile) {
    return make_error("ERR_SRTP_NOT_NEGOTIATED",
                      name.empty() ? "the handshake agreed on no SRTP profile"
                                   : "unsupported SRTP profile " + name);
  }
  auto material = a.export_keying_material(
      srtp::SrtpKeys::material_length(*profile), srtp::kExporterLabel);
  if (!material.ok()) return material.error();
  return srtp::SrtpKeys::split_and_wipe(*profile, *material);
}

}  // namespace dtls

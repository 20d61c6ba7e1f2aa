// Shared by the interop tests: certificate files for command-line peers, the
// hex their output uses, and a free UDP port for a peer that binds its own.
#ifndef DTLS_SRTP_TESTS_TESTING_PEER_FILES_H_
#define DTLS_SRTP_TESTS_TESTING_PEER_FILES_H_

#include <cstdint>
#include <span>
#include <string>

#include "certs/credentials.h"

namespace dtls::testing {

// A fresh self-signed ECDSA certificate and key, as PEM text and as files in
// the test's temp folder, and its SDP fingerprint ("sha-256 AB:...").
struct PeerFiles {
  certs::Credentials creds;
  std::string cert_pem, key_pem;
  std::string cert, key;  // paths
  std::string fingerprint;
};
PeerFiles make_peer_files(const std::string& common_name = "WebRTC");

// Upper-case hex without separators, as openssl and gnutls print keying
// material.
std::string upper_hex(std::span<const std::uint8_t> bytes);
// The hex digits right after `label` in `text`, upper-cased; "" when the label
// is absent.
std::string hex_after(const std::string& text, const std::string& label);
// A UDP port that was free on every IPv4 address a moment ago, for a peer
// program that binds it itself. Drawn below the kernel's ephemeral range
// (32768 up), so that the sockets other tests bind to port 0 meanwhile
// cannot take it: a port found free there could be handed to one of them
// before the peer bound it (gnutls-serv then listened on IPv6 alone).
std::uint16_t free_udp_port();

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_PEER_FILES_H_

#include "tests/testing/peer_files.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <random>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/process.h"

namespace dtls::testing {

PeerFiles make_peer_files(const std::string& common_name) {
  certs::GenerateOptions o;
  o.common_name = common_name;
  PeerFiles f{std::move(certs::generate_certificate(o)).value(),
              "",
              "",
              temp_path(".pem"),
              temp_path(".key"),
              ""};
  f.cert_pem = f.creds.leaf().to_pem();
  f.key_pem = f.creds.key.to_pem();
  f.fingerprint =
      certs::Fingerprint::of(f.creds.leaf(), certs::HashAlgorithm::kSha256)
          .to_sdp();
  write_file(f.cert, f.cert_pem);
  write_file(f.key, f.key_pem);
  return f;
}

std::string upper_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s;
  for (std::uint8_t c : bytes) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

std::string hex_after(const std::string& text, const std::string& label) {
  size_t at = text.find(label);
  if (at == std::string::npos) return "";
  std::string out;
  for (size_t i = at + label.size();
       i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i]));
       ++i) {
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  }
  return out;
}

std::uint16_t free_udp_port() {
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(rng));
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);  // as the peer programs bind
    a.sin_port = htons(port);
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;
}

}  // namespace dtls::testing

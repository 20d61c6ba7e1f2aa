#include "tools/cert_command.h"

#include <sys/stat.h>

#include <charconv>
#include <fstream>

#include "certs/fingerprint.h"
#include "certs/generate.h"

namespace dtls::tools {

const char kCertUsage[] =
    "usage: dtls-srtp cert [options]\n"
    "  Writes a new self-signed certificate and private key (PEM) and prints "
    "the SDP\n"
    "  a=fingerprint line for it.\n"
    "  --cert PATH        certificate output (default cert.pem)\n"
    "  --key PATH         private key output, mode 0600 (default key.pem)\n"
    "  --rsa [BITS]       RSA key (default 2048 bits) instead of ECDSA P-256\n"
    "  --cn NAME          subject common name (default WebRTC)\n"
    "  --san TYPE:VALUE   subject alternative name, repeatable (DNS:x, "
    "IP:1.2.3.4)\n"
    "  --days N           validity in days (default 30)\n"
    "  --hash NAME        fingerprint hash: sha-1, sha-256 (default), sha-384, "
    "sha-512\n"
    "  --passphrase P     encrypt the private key with AES-256-CBC\n";

namespace {

int usage_error(std::ostream& err, const std::string& code,
                const std::string& message) {
  err << code << ": " << message << "\n" << kCertUsage;
  return 2;
}

bool parse_int(const std::string& s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool write_private(const std::string& path, const std::string& text,
                   bool secret) {
  // Created 0600 from the start when it holds a key: never world-readable, not
  // even briefly.
  std::remove(path.c_str());
  mode_t old = umask(secret ? 077 : 022);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  umask(old);
  f << text;
  return static_cast<bool>(f.flush());
}

}  // namespace

int run_cert_command(const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err) {
  certs::GenerateOptions o;
  std::string cert_path = "cert.pem", key_path = "key.pem", passphrase;
  certs::HashAlgorithm hash = certs::HashAlgorithm::kSha256;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& v) {
      if (i + 1 >= args.size()) return false;
      v = args[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      out << kCertUsage;
      return 0;
    } else if (a == "--cert") {
      if (!value(cert_path))
        return usage_error(err, "ERR_INVALID_ARG_VALUE", "--cert needs a path");
    } else if (a == "--key") {
      if (!value(key_path))
        return usage_error(err, "ERR_INVALID_ARG_VALUE", "--key needs a path");
    } else if (a == "--rsa") {
      o.key_type = certs::KeyType::kRsa;
      if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
        if (!parse_int(args[++i], o.rsa_bits)) {
          return usage_error(err, "ERR_INVALID_ARG_VALUE",
                             "--rsa takes a number of bits");
        }
      }
    } else if (a == "--cn") {
      if (!value(o.common_name))
        return usage_error(err, "ERR_INVALID_ARG_VALUE", "--cn needs a name");
    } else if (a == "--san") {
      if (!value(v))
        return usage_error(err, "ERR_INVALID_ARG_VALUE",
                           "--san needs TYPE:VALUE");
      o.subject_alt_names.push_back(v);
    } else if (a == "--days") {
      int days = 0;
      if (!value(v) || !parse_int(v, days)) {
        return usage_error(err, "ERR_INVALID_ARG_VALUE",
                           "--days needs a whole number");
      }
      if (days < 1 || days > 3650) {
        return usage_error(err, "ERR_OUT_OF_RANGE", "--days must be 1..3650");
      }
      o.validity = std::chrono::hours(24) * days;
    } else if (a == "--hash") {
      if (!value(v))
        return usage_error(err, "ERR_INVALID_ARG_VALUE", "--hash needs a name");
      auto h = certs::parse_hash_name(v);
      if (!h.ok())
        return usage_error(err, std::string(h.error().code),
                           std::string(h.error().text()));
      hash = *h;
    } else if (a == "--passphrase") {
      if (!value(passphrase)) {
        return usage_error(err, "ERR_INVALID_ARG_VALUE",
                           "--passphrase needs a value");
      }
    } else {
      return usage_error(err, "ERR_INVALID_ARG_VALUE",
                         "unknown option '" + a + "'");
    }
  }
  auto creds = certs::generate_certificate(o);
  if (!creds.ok()) {
    bool usage = creds.error().code == "ERR_INVALID_ARG_VALUE" ||
                 creds.error().code == "ERR_OUT_OF_RANGE";
    err << creds.error().to_string() << "\n";
    return usage ? 2 : 1;
  }
  if (!write_private(cert_path, creds->leaf().to_pem(), false)) {
    err << "ERR_FS_WRITE: cannot write " << cert_path << "\n";
    return 1;
  }
  if (!write_private(key_path, creds->key.to_pem(passphrase), true)) {
    err << "ERR_FS_WRITE: cannot write " << key_path << "\n";
    return 1;
  }
  err << "wrote " << cert_path << " and " << key_path << "\n";
  out << "a=fingerprint:"
      << certs::Fingerprint::of(creds->leaf(), hash).to_sdp() << "\n";
  return 0;
}

}  // namespace dtls::tools

#include "certs/generate.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/rand.h>

namespace dtls::certs {
namespace {

Error invalid(std::string message) {
  return make_error("ERR_INVALID_ARG_VALUE", std::move(message));
}

Error openssl_failure(std::string_view what) {
  return make_error("ERR_CERT_GENERATE", std::string(what) + " failed (" +
                                             drain_openssl_errors() + ")");
}

Status validate(const GenerateOptions& o) {
  if (o.key_type == KeyType::kRsa && (o.rsa_bits < 2048 || o.rsa_bits > 8192)) {
    return make_error("ERR_OUT_OF_RANGE", "rsa_bits must be 2048..8192, got " +
                                              std::to_string(o.rsa_bits));
  }
  if (o.validity <= std::chrono::seconds(0)) {
    return make_error("ERR_OUT_OF_RANGE", "validity must be positive");
  }
  // RFC 5280 Appendix A: ub-common-name is 64.
  if (o.common_name.empty() || o.common_name.size() > 64) {
    return invalid("common_name must be 1..64 characters");
  }
  for (const std::string& san : o.subject_alt_names) {
    auto colon = san.find(':');
    std::string type = san.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : san.substr(colon + 1);
    if (colon == std::string::npos || value.empty() ||
        value.find(',') != std::string::npos) {
      return invalid("subject_alt_names entry '" + san + "' is not TYPE:value");
    }
    if (type == "IP") {
      unsigned char buf[16];
      if (inet_pton(AF_INET, value.c_str(), buf) != 1 &&
          inet_pton(AF_INET6, value.c_str(), buf) != 1) {
        return invalid("subject_alt_names entry '" + san +
                       "' is not an IP address");
      }
    } else if (type != "DNS" && type != "URI" && type != "email") {
      return invalid("subject_alt_names type '" + type +
                     "' is not one of DNS, IP, URI, email");
    }
  }
  for (const std::string& eku : o.extended_key_usage) {
    if (eku.empty() || eku.find(',') != std::string::npos ||
        OBJ_txt2nid(eku.c_str()) == NID_undef) {
      return invalid("extended_key_usage entry '" + eku + "' is unknown");
    }
  }
  return {};
}

ossl::EvpPkeyPtr generate_key(const GenerateOptions& o) {
  if (o.key_type == KeyType::kRsa) {
    return ossl::EvpPkeyPtr(EVP_RSA_gen(static_cast<unsigned>(o.rsa_bits)));
  }
  return ossl::EvpPkeyPtr(EVP_EC_gen("P-256"));
}

Status add_extension(X509* cert, X509* issuer, int nid,
                     const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::X509ExtensionPtr ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return openssl_failure(std::string("extension ") + OBJ_nid2sn(nid) + "=" +
                           value);
  }
  return {};
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

Result<Credentials> generate_certificate(const GenerateOptions& o,
                                         Clock::time_point now) {
  if (Status s = validate(o); !s.ok()) return s.error();

  ossl::EvpPkeyPtr key = generate_key(o);
  if (!key) return openssl_failure("key generation");

  ossl::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);  // X.509 v3, needed for extensions

  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 64 random bits,
  // top bit clear.
  unsigned char serial_bytes[8];
  // A serial from a failed draw could repeat across certificates.
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1)
    return openssl_failure("random serial number");
  serial_bytes[0] &= 0x7f;
  serial_bytes[0] |= 0x01;  // never zero, and keeps the length fixed
  ossl::BignumPtr serial_bn(
      BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get()));

  std::time_t start = Clock::to_time_t(now + o.not_before_offset);
  std::time_t end = Clock::to_time_t(now + o.not_before_offset + o.validity);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), end)) {
    return openssl_failure("setting validity");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : o.subject) {
    if (X509_NAME_add_entry_by_txt(
            name, field.c_str(), MBSTRING_UTF8,
            reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
            0) != 1) {
      drain_openssl_errors();
      return invalid("subject entry '" + field + "=" + value +
                     "' is not valid");
    }
  }
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>(o.common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(
      cert.get(),
      o.issuer ? X509_get_subject_name(o.issuer->leaf().get()) : name);
  X509_set_pubkey(cert.get(), key.get());

  X509* issuer_cert = o.issuer ? o.issuer->leaf().get() : cert.get();
  Status s;
  if (o.is_ca) {
    s = add_extension(cert.get(), issuer_cert, NID_basic_constraints,
                      "critical,CA:TRUE");
    if (s.ok())
      s = add_extension(cert.get(), issuer_cert, NID_key_usage,
                        "critical,keyCertSign,cRLSign,digitalSignature");
  } else if (o.issuer) {
    s = add_extension(cert.get(), issuer_cert, NID_basic_constraints,
                      "CA:FALSE");
  }
  if (s.ok())
    s = add_extension(cert.get(), issuer_cert, NID_subject_key_identifier,
                      "hash");
  if (s.ok() && o.issuer) {
    s = add_extension(cert.get(), issuer_cert, NID_authority_key_identifier,
                      "keyid");
  }
  if (s.ok() && !o.subject_alt_names.empty()) {
    s = add_extension(cert.get(), issuer_cert, NID_subject_alt_name,
                      join(o.subject_alt_names));
  }
  if (s.ok() && !o.extended_key_usage.empty()) {
    s = add_extension(cert.get(), issuer_cert, NID_ext_key_usage,
                      join(o.extended_key_usage));
  }
  if (!s.ok()) return s.error();

  EVP_PKEY* signing_key = o.issuer ? o.issuer->key.get() : key.get();
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0)
    return openssl_failure("signing");

  Credentials out{{Certificate(std::move(cert))}, PrivateKey(std::move(key))};
  if (o.issuer) {
    // The issuer's chain follows the leaf, minus a self-signed root: peers must
    // already trust the root, so sending it only costs bytes in every
    // handshake.
    for (const Certificate& c : o.issuer->chain) {
      if ((X509_get_extension_flags(c.get()) & EXFLAG_SS) == 0)
        out.chain.push_back(c);
    }
  }
  return out;
}

}  // namespace dtls::certs

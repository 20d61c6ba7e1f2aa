#include "certs/peer_certificate.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include <cstdio>

#include "certs/fingerprint.h"

namespace dtls::certs {
namespace {

DistinguishedName read_name(const X509_NAME* name) {
  DistinguishedName out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    char oid[80];
    const char* key = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
    if (key == nullptr) {
      OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1);
      key = oid;
    }
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len < 0) continue;
    out.entries.emplace_back(key,
                             std::string(reinterpret_cast<char*>(utf8), len));
    OPENSSL_free(utf8);
  }
  return out;
}

std::string asn1_time_string(const ASN1_TIME* t) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string bn_hex(const BIGNUM* bn) {
  ossl::OpensslStringPtr hex(BN_bn2hex(bn));
  return hex ? std::string(hex.get()) : std::string();
}

// node quotes a SAN value (JSON style) when it holds a comma, a quote, a
// backslash or a non-printable byte, so that a crafted name cannot pass for a
// second ", "-separated entry.
std::string san_value(std::string_view v) {
  bool quote = false;
  for (unsigned char c : v) {
    if (c == ',' || c == '"' || c == '\\' || c == '\'' || c < 0x20 || c > 0x7e)
      quote = true;
  }
  if (!quote) return std::string(v);
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c > 0x7e) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string ip_string(const std::vector<std::uint8_t>& b) {
  char buf[64];
  if (b.size() == 4) {
    std::snprintf(buf, sizeof(buf), "%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
    return buf;
  }
  // node prints IPv6 SANs as eight uncompressed uppercase groups.
  std::string out;
  for (size_t j = 0; j + 1 < b.size(); j += 2) {
    std::snprintf(buf, sizeof(buf), j == 0 ? "%X" : ":%X",
                  (b[j] << 8) | b[j + 1]);
    out += buf;
  }
  return out;
}

void read_alt_names(X509* x, PeerCertificate& out) {
  ossl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  std::string& s = out.subjectaltname;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    std::string entry;
    auto str = [](const ASN1_STRING* a) {
      return std::string(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(a)),
          static_cast<size_t>(ASN1_STRING_length(a)));
    };
    switch (gen->type) {
      case GEN_DNS:
        out.dns_names.push_back(str(gen->d.dNSName));
        entry = "DNS:" + san_value(out.dns_names.back());
        break;
      case GEN_URI:
        out.uris.push_back(str(gen->d.uniformResourceIdentifier));
        entry = "URI:" + san_value(out.uris.back());
        break;
      case GEN_EMAIL:
        entry = "email:" + san_value(str(gen->d.rfc822Name));
        break;
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = gen->d.iPAddress;
        std::vector<std::uint8_t> bytes(
            ASN1_STRING_get0_data(ip),
            ASN1_STRING_get0_data(ip) + ASN1_STRING_length(ip));
        if (bytes.size() != 4 && bytes.size() != 16) {
          entry = "IP Address:<invalid>";
          break;
        }
        entry = "IP Address:" + ip_string(bytes);
        out.ip_addresses.push_back(std::move(bytes));
        break;
      }
      default:
        continue;  // othername, directory names, ...: not used for identity
                   // here
    }
    if (!s.empty()) s += ", ";
    s += entry;
  }
}

void read_public_key(X509* x, PeerCertificate& out) {
  EVP_PKEY* pkey = X509_get0_pubkey(x);
  if (pkey == nullptr) return;
  out.bits = EVP_PKEY_get_bits(pkey);
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e);
    ossl::BignumPtr n_owned(n), e_owned(e);
    if (n) out.modulus = bn_hex(n);
    if (e) {
      // node: "0x" + hex without leading zeros, e.g. "0x10001".
      std::string hex = bn_hex(e);
      size_t nz = hex.find_first_not_of('0');
      out.exponent = "0x" + (nz == std::string::npos ? "0" : hex.substr(nz));
      for (char& c : out.exponent) c = static_cast<char>(std::tolower(c));
    }
    int len = i2d_PUBKEY(pkey, nullptr);
    if (len > 0) {
      out.pubkey.resize(static_cast<size_t>(len));
      unsigned char* p = out.pubkey.data();
      i2d_PUBKEY(pkey, &p);
    }
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &glen) == 1) {
      int nid = OBJ_sn2nid(group);
      if (nid == NID_undef) nid = EC_curve_nist2nid(group);
      if (nid != NID_undef) {
        out.asn1_curve = OBJ_nid2sn(nid);
        if (const char* nist = EC_curve_nid2nist(nid)) out.nist_curve = nist;
      }
    }
    size_t plen = 0;
    if (EVP_PKEY_get_octet_string_param(
            pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0, &plen) == 1) {
      out.pubkey.resize(plen);
      EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      out.pubkey.data(), plen, &plen);
    }
  }
  drain_openssl_errors();
}

}  // namespace

std::string DistinguishedName::get(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return v;
  }
  return {};
}

std::vector<std::string> DistinguishedName::get_all(
    std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries) {
    if (k == key) out.push_back(v);
  }
  return out;
}

PeerCertificate describe(const Certificate& cert) {
  X509* x = cert.get();
  PeerCertificate out;
  out.subject = read_name(X509_get_subject_name(x));
  out.issuer = read_name(X509_get_issuer_name(x));
  read_alt_names(x, out);
  out.valid_from = asn1_time_string(X509_get0_notBefore(x));
  out.valid_to = asn1_time_string(X509_get0_notAfter(x));
  out.valid_from_time = cert.not_before();
  out.valid_to_time = cert.not_after();
  ossl::BignumPtr serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
  if (serial) out.serial_number = bn_hex(serial.get());
  out.fingerprint = Fingerprint::of(cert, HashAlgorithm::kSha1).colon_hex();
  out.fingerprint256 =
      Fingerprint::of(cert, HashAlgorithm::kSha256).colon_hex();
  out.fingerprint512 =
      Fingerprint::of(cert, HashAlgorithm::kSha512).colon_hex();
  out.raw = cert.to_der();
  read_public_key(x, out);
  out.ca = X509_check_ca(x) == 1;
  if (auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(x, NID_ext_key_usage, nullptr, nullptr))) {
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
      char oid[80];
      OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i), 1);
      out.ext_key_usage.emplace_back(oid);
    }
    EXTENDED_KEY_USAGE_free(eku);
  }
  drain_openssl_errors();
  return out;
}

}  // namespace dtls::certs

#include "certs/certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>
#include <ctime>

namespace dtls::certs {
namespace {

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string time_string(Clock::time_point t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Passphrase callback state: remembers whether OpenSSL asked, which is how a
// wrong passphrase is told apart from a key that is not there at all.
struct PassphraseRequest {
  std::string_view passphrase;
  bool asked = false;
};

int passphrase_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* req = static_cast<PassphraseRequest*>(u);
  req->asked = true;
  // An empty answer makes OpenSSL fail instead of prompting on the terminal.
  if (req->passphrase.empty() ||
      req->passphrase.size() > static_cast<size_t>(size))
    return -1;
  std::memcpy(buf, req->passphrase.data(), req->passphrase.size());
  return static_cast<int>(req->passphrase.size());
}

}  // namespace

Clock::time_point from_asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return Clock::time_point{};
  return Clock::from_time_t(timegm(&tm));
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  auto chain = chain_from_pem(pem);
  if (!chain.ok()) return chain.error();
  return std::move(chain->front());
}

Result<std::vector<Certificate>> Certificate::chain_from_pem(
    std::string_view pem) {
  auto bio = ossl::memory_bio(pem.data(), pem.size());
  std::vector<Certificate> out;
  while (true) {
    ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) break;
    out.emplace_back(std::move(x));
  }
  // Reaching the end of input after at least one certificate is the normal way
  // out; anything else (garbage between blocks, a truncated block) is an error,
  // not silently ignored.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM &&
                   ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  std::string detail = drain_openssl_errors();
  if (out.empty()) {
    return make_error("ERR_CERT_PEM_INVALID",
                      "no PEM certificate found" +
                          (detail.empty() ? "" : " (" + detail + ")"));
  }
  if (!clean_end && !detail.empty()) {
    return make_error("ERR_CERT_PEM_INVALID",
                      "malformed PEM certificate after certificate " +
                          std::to_string(out.size()) + " (" + detail + ")");
  }
  return out;
}

Result<Certificate> Certificate::from_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x || p != der.data() + der.size()) {
    return make_error("ERR_CERT_DER_INVALID",
                      "not a DER certificate (" + drain_openssl_errors() + ")");
  }
  return Certificate(std::move(x));
}

Certificate::Certificate(ossl::X509Ptr x509) : x509_(std::move(x509)) {}

Certificate::Certificate(const Certificate& other) : x509_(other.x509_.get()) {
  X509_up_ref(x509_.get());
}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    X509_up_ref(other.x509_.get());
    x509_.reset(other.x509_.get());
  }
  return *this;
}

std::string Certificate::to_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x509_.get());
  return bio_to_string(bio.get());
}

std::vector<std::uint8_t> Certificate::to_der() const {
  int len = i2d_X509(x509_.get(), nullptr);
  std::vector<std::uint8_t> out(static_cast<size_t>(len > 0 ? len : 0));
  unsigned char* p = out.data();
  i2d_X509(x509_.get(), &p);
  return out;
}

Clock::time_point Certificate::not_before() const {
  return from_asn1_time(X509_get0_notBefore(x509_.get()));
}

Clock::time_point Certificate::not_after() const {
  return from_asn1_time(X509_get0_notAfter(x509_.get()));
}

Status Certificate::check_validity(Clock::time_point now) const {
  if (now < not_before()) {
    return make_error(
        "ERR_CERT_NOT_YET_VALID",
        "certificate is not valid before " + time_string(not_before()));
  }
  if (now > not_after()) {
    return make_error("ERR_CERT_HAS_EXPIRED",
                      "certificate expired at " + time_string(not_after()));
  }
  return {};
}

bool Certificate::operator==(const Certificate& other) const {
  return X509_cmp(x509_.get(), other.x509_.get()) == 0;
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem,
                                        std::string_view passphrase) {
  auto bio = ossl::memory_bio(pem.data(), pem.size());
  PassphraseRequest req{passphrase};
  ossl::EvpPkeyPtr pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &req));
  std::string detail = drain_openssl_errors();
  if (!pkey) {
    if (req.asked) {
      return make_error(
          "ERR_KEY_PASSPHRASE",
          passphrase.empty()
              ? "the private key is encrypted and no passphrase was given"
              : "wrong passphrase for the encrypted private key");
    }
    return make_error("ERR_KEY_PEM_INVALID",
                      "no readable PEM private key (" + detail + ")");
  }
  return PrivateKey(std::move(pkey));
}

PrivateKey::PrivateKey(ossl::EvpPkeyPtr pkey) : pkey_(std::move(pkey)) {}

PrivateKey::PrivateKey(const PrivateKey& other) : pkey_(other.pkey_.get()) {
  EVP_PKEY_up_ref(pkey_.get());
}

PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  if (this != &other) {
    EVP_PKEY_up_ref(other.pkey_.get());
    pkey_.reset(other.pkey_.get());
  }
  return *this;
}

std::string PrivateKey::to_pem(std::string_view passphrase) const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (passphrase.empty()) {
    PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0,
                                  nullptr, nullptr);
  } else {
    std::string pass(passphrase);
    PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey_.get(), EVP_aes_256_cbc(),
                                  pass.data(), static_cast<int>(pass.size()),
                                  nullptr, nullptr);
  }
  return bio_to_string(bio.get());
}

}  // namespace dtls::certs

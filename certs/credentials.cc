#include "certs/credentials.h"

#include <openssl/err.h>
#include <openssl/pkcs12.h>

namespace dtls::certs {
namespace {

Result<Credentials> finish(std::vector<Certificate> chain, PrivateKey key,
                           const LoadOptions& options) {
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    drain_openssl_errors();
    return make_error(
        "ERR_CERT_KEY_MISMATCH",
        "the private key does not belong to the (first) certificate");
  }
  if (options.now) {
    if (Status s = chain.front().check_validity(*options.now); !s.ok())
      return s.error();
  }
  return Credentials{std::move(chain), std::move(key)};
}

}  // namespace

Result<Credentials> load_pem_credentials(std::string_view cert_pem,
                                         std::string_view key_pem,
                                         const LoadOptions& options) {
  auto chain = Certificate::chain_from_pem(cert_pem);
  if (!chain.ok()) return chain.error();
  auto key = PrivateKey::from_pem(key_pem, options.passphrase);
  if (!key.ok()) return key.error();
  return finish(std::move(chain).value(), std::move(key).value(), options);
}

Result<Credentials> load_pkcs12(std::span<const std::uint8_t> pfx,
                                const LoadOptions& options) {
  const unsigned char* p = pfx.data();
  ossl::Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(pfx.size())));
  if (!p12) {
    return make_error("ERR_PKCS12_INVALID", "not a DER PKCS#12 bundle (" +
                                                drain_openssl_errors() + ")");
  }
  // Check the MAC first so that a wrong passphrase gets its own code. An empty
  // passphrase may mean either "" or no password at all, so both are tried (as
  // OpenSSL's own tools do).
  std::string pass(options.passphrase);
  const char* pass_arg = pass.c_str();
  if (PKCS12_mac_present(p12.get())) {
    if (PKCS12_verify_mac(p12.get(), pass_arg, -1) != 1) {
      if (!pass.empty() || PKCS12_verify_mac(p12.get(), nullptr, 0) != 1) {
        drain_openssl_errors();
        return make_error("ERR_KEY_PASSPHRASE",
                          pass.empty()
                              ? "the PKCS#12 bundle needs a passphrase"
                              : "wrong passphrase for the PKCS#12 bundle");
      }
      pass_arg = nullptr;
    }
  }
  EVP_PKEY* pkey_raw = nullptr;
  X509* cert_raw = nullptr;
  STACK_OF(X509)* ca_raw = nullptr;
  int ok = PKCS12_parse(p12.get(), pass_arg, &pkey_raw, &cert_raw, &ca_raw);
  ossl::EvpPkeyPtr pkey(pkey_raw);
  ossl::X509Ptr cert(cert_raw);
  ossl::X509StackPtr ca(ca_raw);
  if (ok != 1) {
    return make_error("ERR_PKCS12_INVALID", "cannot read the PKCS#12 bundle (" +
                                                drain_openssl_errors() + ")");
  }
  if (!pkey || !cert) {
    return make_error(
        "ERR_PKCS12_NO_KEY",
        "the PKCS#12 bundle lacks a private key or its certificate");
  }
  std::vector<Certificate> chain;
  chain.emplace_back(std::move(cert));
  for (int i = 0; ca && i < sk_X509_num(ca.get()); ++i) {
    X509* x = sk_X509_value(ca.get(), i);
    X509_up_ref(x);
    chain.emplace_back(ossl::X509Ptr(x));
  }
  return finish(std::move(chain), PrivateKey(std::move(pkey)), options);
}

std::vector<std::uint8_t> to_pkcs12(const Credentials& credentials,
                                    std::string_view passphrase,
                                    std::string_view friendly_name) {
  ossl::X509StackPtr extra(sk_X509_new_null());
  for (size_t i = 1; i < credentials.chain.size(); ++i) {
    X509* x = credentials.chain[i].get();
    X509_up_ref(x);
    sk_X509_push(extra.get(), x);
  }
  std::string pass(passphrase);
  std::string name(friendly_name);
  ossl::Pkcs12Ptr p12(
      PKCS12_create(pass.c_str(), name.c_str(), credentials.key.get(),
                    credentials.leaf().get(), extra.get(), 0, 0, 0, 0, 0));
  std::vector<std::uint8_t> out;
  if (!p12) return out;
  int len = i2d_PKCS12(p12.get(), nullptr);
  out.resize(static_cast<size_t>(len > 0 ? len : 0));
  unsigned char* p = out.data();
  i2d_PKCS12(p12.get(), &p);
  return out;
}

Result<std::vector<Certificate>> load_ca_list(
    std::span<const std::string> pems) {
  std::vector<Certificate> out;
  for (size_t i = 0; i < pems.size(); ++i) {
    auto certs = Certificate::chain_from_pem(pems[i]);
    if (!certs.ok()) {
      return make_error("ERR_CA_PEM_INVALID",
                        "ca[" + std::to_string(i) +
                            "]: " + std::string(certs.error().text()));
    }
    for (auto& c : *certs) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace dtls::certs

// unique_ptr aliases for the OpenSSL objects this project owns. Every OpenSSL
// object we create lives in one of these from the line that creates it.
#ifndef DTLS_SRTP_CERTS_OPENSSL_PTR_H_
#define DTLS_SRTP_CERTS_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace dtls::ossl {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

template <typename T, auto Free>
using Ptr = std::unique_ptr<T, Deleter<Free>>;

inline void free_x509_stack(STACK_OF(X509) * s) {
  sk_X509_pop_free(s, X509_free);
}
inline void free_general_names(GENERAL_NAMES* n) { GENERAL_NAMES_free(n); }
inline void free_openssl_string(char* s) { OPENSSL_free(s); }

using X509Ptr = Ptr<X509, X509_free>;
using X509StackPtr = Ptr<STACK_OF(X509), free_x509_stack>;
using X509NamePtr = Ptr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = Ptr<X509_EXTENSION, X509_EXTENSION_free>;
using X509StorePtr = Ptr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = Ptr<X509_STORE_CTX, X509_STORE_CTX_free>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES, free_general_names>;
using EvpPkeyPtr = Ptr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = Ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = Ptr<BIO, BIO_free_all>;
using BignumPtr = Ptr<BIGNUM, BN_free>;
using Asn1IntegerPtr = Ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Pkcs12Ptr = Ptr<PKCS12, PKCS12_free>;
using SslCtxPtr = Ptr<SSL_CTX, SSL_CTX_free>;
using SslPtr = Ptr<SSL, SSL_free>;
using OpensslStringPtr = Ptr<char, free_openssl_string>;

// A read-only memory BIO over caller bytes (no copy; the bytes must outlive the
// BIO).
inline BioPtr memory_bio(const void* data, size_t size) {
  return BioPtr(BIO_new_mem_buf(data, static_cast<int>(size)));
}

}  // namespace dtls::ossl

#endif  // DTLS_SRTP_CERTS_OPENSSL_PTR_H_

// A bare OpenSSL DTLS server over a datagram memory BIO, driven by hand: a
// peer that can do what DtlsAssociation never does (ask for renegotiation,
// write records of its own choosing).
#ifndef DTLS_SRTP_TESTS_TESTING_RAW_DTLS_SERVER_H_
#define DTLS_SRTP_TESTS_TESTING_RAW_DTLS_SERVER_H_

#include <openssl/ssl.h>

#include <span>
#include <string>

#include "certs/credentials.h"
#include "transport/dtls/datagram_bio.h"

namespace dtls::testing {

struct RawServer {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  DatagramQueue queue;

  // Offers SRTP_AES128_CM_SHA1_80 with `c`; `ciphers` empty keeps OpenSSL's
  // default list.
  explicit RawServer(const certs::Credentials& c, const char* ciphers = "");
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  // Feeds one datagram and runs OpenSSL (the handshake, then SSL_read into
  // `app`); returns SSL_get_error's value.
  int feed(std::span<const std::uint8_t> d, std::string* app = nullptr);
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_RAW_DTLS_SERVER_H_

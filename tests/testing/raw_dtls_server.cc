#include "tests/testing/raw_dtls_server.h"

namespace dtls::testing {

RawServer::RawServer(const certs::Credentials& c, const char* ciphers) {
  ctx = SSL_CTX_new(DTLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_use_certificate(ctx, c.leaf().get());
  SSL_CTX_use_PrivateKey(ctx, c.key.get());
  SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AES128_CM_SHA1_80");
  if (ciphers[0] != '\0') SSL_CTX_set_cipher_list(ctx, ciphers);
  ssl = SSL_new(ctx);
  BIO* bio = new_datagram_bio(&queue);
  SSL_set_bio(ssl, bio, bio);
  SSL_set_accept_state(ssl);
}

RawServer::~RawServer() {
  SSL_free(ssl);
  SSL_CTX_free(ctx);
}

int RawServer::feed(std::span<const std::uint8_t> d, std::string* app) {
  queue.set_input(d);
  int r;
  int err = SSL_ERROR_NONE;
  if (!SSL_is_init_finished(ssl)) {
    r = SSL_do_handshake(ssl);
    if (r <= 0) err = SSL_get_error(ssl, r);
  } else {
    char buf[2048];
    r = SSL_read(ssl, buf, sizeof(buf));
    if (r > 0 && app) app->append(buf, static_cast<size_t>(r));
    if (r <= 0) err = SSL_get_error(ssl, r);
  }
  queue.clear_input();
  return err;
}

}  // namespace dtls::testing

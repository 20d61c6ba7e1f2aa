#include "transport/dtls/record_cipher.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "certs/generate.h"
#include "transport/dtls/record_expansion.h"

namespace dtls {
namespace {

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslFree>;

using Bytes = std::vector<std::uint8_t>;

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

const certs::Credentials& credentials() {
  static const certs::Credentials c = [] {
    auto r = certs::generate_certificate();
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
  }();
  return c;
}

SslCtxPtr make_ctx(bool server, const char* ciphers) {
  SslCtxPtr ctx(
      SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method()));
  SSL_CTX_use_certificate(ctx.get(), credentials().leaf().get());
  SSL_CTX_use_PrivateKey(ctx.get(), credentials().key.get());
  SSL_CTX_set_min_proto_version(ctx.get(), DTLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx.get(), ciphers);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  return ctx;
}

// Every datagram one side wrote: read out of its memory BIO one write at a
// time (a memory BIO keeps each write as one read for DTLS).
std::vector<Bytes> drain(BIO* out) {
  std::vector<Bytes> datagrams;
  std::uint8_t buf[4096];
  int n;
  while ((n = BIO_read(out, buf, sizeof(buf))) > 0)
    datagrams.emplace_back(buf, buf + n);
  return datagrams;
}

// Two OpenSSL ends over memory BIOs, and the highest epoch-1 sequence number
// each has written, which the next record of ours must be above.
struct OpenSslPair {
  SslCtxPtr cctx, sctx;
  SslPtr client, server;
  BIO *c_in, *c_out, *s_in, *s_out;
  std::uint64_t client_sent = 0, server_sent = 0;

  explicit OpenSslPair(const char* ciphers)
      : cctx(make_ctx(false, ciphers)),
        sctx(make_ctx(true, ciphers)),
        client(SSL_new(cctx.get())),
        server(SSL_new(sctx.get())) {
    c_in = BIO_new(BIO_s_mem());
    c_out = BIO_new(BIO_s_mem());
    s_in = BIO_new(BIO_s_mem());
    s_out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c_in, -1);
    BIO_set_mem_eof_return(s_in, -1);
    SSL_set_bio(client.get(), c_in, c_out);
    SSL_set_bio(server.get(), s_in, s_out);
    DTLS_set_link_mtu(client.get(), 1200);
    DTLS_set_link_mtu(server.get(), 1200);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
  }

  void note(const std::vector<Bytes>& datagrams, std::uint64_t& sent) {
    for (const Bytes& d : datagrams) {
      std::span<const std::uint8_t> rest(d);
      while (auto h = parse_record_header(rest)) {
        if (h->epoch == 1) sent = std::max(sent, h->sequence);
        rest = rest.subspan(kRecordHeaderSize + h->length);
      }
    }
  }

  bool handshake() {
    for (int round = 0; round < 20; ++round) {
      SSL_do_handshake(client.get());
      auto to_server = drain(c_out);
      note(to_server, client_sent);
      for (const Bytes& d : to_server)
        BIO_write(s_in, d.data(), static_cast<int>(d.size()));
      SSL_do_handshake(server.get());
      auto to_client = drain(s_out);
      note(to_client, server_sent);
      for (const Bytes& d : to_client)
        BIO_write(c_in, d.data(), static_cast<int>(d.size()));
      if (SSL_is_init_finished(client.get()) &&
          SSL_is_init_finished(server.get())) {
        return true;
      }
    }
    ERR_clear_error();
    return false;
  }

  // What `from` writes for `message`: one datagram of one record.
  Bytes written(SSL* from, BIO* out, const Bytes& message) {
    EXPECT_EQ(SSL_write(from, message.data(), static_cast<int>(message.size())),
              static_cast<int>(message.size()));
    auto d = drain(out);
    EXPECT_EQ(d.size(), 1u);
    return d.empty() ? Bytes{} : d.front();
  }

  // What `to` reads after `datagram` arrives: the data, or "" with `error`.
  std::string read(SSL* to, BIO* in, const Bytes& datagram, int* error) {
    BIO_write(in, datagram.data(), static_cast<int>(datagram.size()));
    char buf[2048];
    const int n = SSL_read(to, buf, sizeof(buf));
    *error = n > 0 ? SSL_ERROR_NONE : SSL_get_error(to, n);
    ERR_clear_error();
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
};

struct SuiteCase {
  const char* openssl_name;
  RecordAead aead;
};

class RecordCipherSuites : public ::testing::TestWithParam<SuiteCase> {};

// Both directions against OpenSSL: what its record layer writes, ours opens,
// and what ours seals, its record layer reads, for either role. So the key
// block, the nonce construction and the additional data agree with OpenSSL's.
TEST_P(RecordCipherSuites, ReadsAndWritesOpenSslsRecords) {
  OpenSslPair p(GetParam().openssl_name);
  ASSERT_TRUE(p.handshake());
  auto server = RecordCipher::from_ssl(p.server.get());
  auto client = RecordCipher::from_ssl(p.client.get());
  ASSERT_TRUE(server.ok()) << server.error().to_string();
  ASSERT_TRUE(client.ok()) << client.error().to_string();
  EXPECT_EQ(server->aead(), GetParam().aead);
  // One fact, two users: the record guard's minimum is this expansion.
  EXPECT_EQ(server->expansion(), min_protected_record_length(
                                     SSL_get_current_cipher(p.server.get())));

  struct Side {
    SSL* ssl;
    BIO *in, *out;
    RecordCipher* ours;
    std::uint64_t* sent;
  };
  const Side sides[2] = {
      {p.client.get(), p.c_in, p.c_out, &*client, &p.client_sent},
      {p.server.get(), p.s_in, p.s_out, &*server, &p.server_sent}};
  for (int from = 0; from < 2; ++from) {
    const Side& a = sides[from];
    const Side& b = sides[1 - from];
    SCOPED_TRACE(from == 0 ? "client to server" : "server to client");
    // OpenSSL writes, ours (as the other end) opens.
    const Bytes message = bytes("from OpenSSL's record layer");
    const Bytes record = p.written(a.ssl, a.out, message);
    ++*a.sent;
    auto header = parse_record_header(record);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->epoch, 1);
    EXPECT_EQ(header->sequence, *a.sent);
    Bytes plain(record.size());
    auto opened = b.ours->open(*header, record, plain);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(Bytes(opened->begin(), opened->end()), message);

    // Ours writes (as that end, after its last record), OpenSSL reads.
    const Bytes reply = bytes("from ours");
    Bytes sealed(reply.size() + kRecordHeaderSize + a.ours->expansion());
    const size_t n = a.ours->seal(kContentApplicationData, kDtls12Version, 1,
                                  ++*a.sent, reply, sealed);
    ASSERT_EQ(n, sealed.size());
    int error = 0;
    EXPECT_EQ(p.read(b.ssl, b.in, sealed, &error), "from ours");
    EXPECT_EQ(error, SSL_ERROR_NONE);
  }

  // An alert of ours: close_notify (RFC 5246 §7.2.1: warning, 0) ends
  // OpenSSL's reading cleanly.
  const Bytes close_notify = {1, 0};
  Bytes alert(2 + kRecordHeaderSize + server->expansion());
  ASSERT_EQ(server->seal(kContentAlert, kDtls12Version, 1, ++p.server_sent,
                         close_notify, alert),
            alert.size());
  int error = 0;
  EXPECT_EQ(p.read(p.client.get(), p.c_in, alert, &error), "");
  EXPECT_EQ(error, SSL_ERROR_ZERO_RETURN);
}

INSTANTIATE_TEST_SUITE_P(
    Aead, RecordCipherSuites,
    ::testing::Values(
        SuiteCase{"ECDHE-ECDSA-AES128-GCM-SHA256", RecordAead::kAes128Gcm},
        SuiteCase{"ECDHE-ECDSA-AES256-GCM-SHA384", RecordAead::kAes256Gcm},
        SuiteCase{"ECDHE-ECDSA-CHACHA20-POLY1305",
                  RecordAead::kChaCha20Poly1305}),
    [](const auto& info) {
      std::string name = info.param.openssl_name;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// A pair of our own ciphers (the two ends of one handshake), for the checks
// that need no OpenSSL peer.
struct OwnPair {
  OpenSslPair ssl;
  std::optional<RecordCipher> server, client;

  explicit OwnPair(const char* ciphers) : ssl(ciphers) {
    EXPECT_TRUE(ssl.handshake());
    auto s = RecordCipher::from_ssl(ssl.server.get());
    auto c = RecordCipher::from_ssl(ssl.client.get());
    EXPECT_TRUE(s.ok() && c.ok());
    if (s.ok()) server.emplace(std::move(s).value());
    if (c.ok()) client.emplace(std::move(c).value());
  }
};

class RecordCipherTamper : public ::testing::TestWithParam<const char*> {};

// RFC 5246 §6.2.3.3: the header's type, version, epoch and sequence number
// are authenticated with the fragment, so a change to any byte but the
// length (which frames the record) fails, and nothing of the failed plaintext
// is left in the output.
TEST_P(RecordCipherTamper, EveryByteIsAuthenticated) {
  OwnPair p(GetParam());
  ASSERT_TRUE(p.server && p.client);
  const Bytes message = bytes("twenty bytes of text");
  Bytes record(message.size() + kRecordHeaderSize + p.server->expansion());
  ASSERT_EQ(p.server->seal(kContentApplicationData, kDtls12Version, 1, 7,
                           message, record),
            record.size());
  Bytes out(record.size());
  {
    auto h = parse_record_header(record);
    ASSERT_TRUE(h.has_value());
    auto opened = p.client->open(*h, record, out);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(Bytes(opened->begin(), opened->end()), message);
  }
  for (size_t i = 0; i < record.size(); ++i) {
    if (i == 11 || i == 12) continue;  // the length
    Bytes bad = record;
    bad[i] ^= 0x01;
    auto h = parse_record_header(bad);
    if (!h) continue;  // no longer a record at all
    std::fill(out.begin(), out.end(), 0xAA);
    EXPECT_FALSE(p.client->open(*h, bad, out).has_value()) << "byte " << i;
    EXPECT_TRUE(std::all_of(out.begin(), out.begin() + message.size(),
                            [](std::uint8_t b) { return b == 0; }))
        << "byte " << i;
  }
  // The direction is in the key: a side cannot open what it sealed itself.
  auto h = parse_record_header(record);
  EXPECT_FALSE(p.server->open(*h, record, out).has_value());
}

INSTANTIATE_TEST_SUITE_P(Aead, RecordCipherTamper,
                         ::testing::Values("ECDHE-ECDSA-AES128-GCM-SHA256",
                                           "ECDHE-ECDSA-CHACHA20-POLY1305"));

TEST(RecordCipher, RefusesWhatDoesNotFit) {
  OwnPair p("ECDHE-ECDSA-AES128-GCM-SHA256");
  ASSERT_TRUE(p.server && p.client);
  const Bytes message = bytes("hello");
  const size_t size = message.size() + kRecordHeaderSize + 24;
  Bytes record(size);
  // seal: an output one byte short, a sequence number past 48 bits, a
  // plaintext past 2^14.
  Bytes small(size - 1);
  EXPECT_EQ(p.server->seal(23, kDtls12Version, 1, 1, message, small), 0u);
  EXPECT_EQ(p.server->seal(23, kDtls12Version, 1, std::uint64_t{1} << 48,
                           message, record),
            0u);
  Bytes huge(kMaxPlaintextLength + 1), big_out(kMaxPlaintextLength + 100);
  EXPECT_EQ(p.server->seal(23, kDtls12Version, 1, 1, huge, big_out), 0u);
  // The largest sequence number and plaintext are fine.
  Bytes full(kMaxPlaintextLength);
  EXPECT_EQ(p.server->seal(23, kDtls12Version, 1, (std::uint64_t{1} << 48) - 1,
                           full, big_out),
            kMaxPlaintextLength + kRecordHeaderSize + 24);

  ASSERT_EQ(p.server->seal(23, kDtls12Version, 1, 2, message, record), size);
  auto h = parse_record_header(record);
  ASSERT_TRUE(h.has_value());
  Bytes out(message.size());
  ASSERT_TRUE(p.client->open(*h, record, out).has_value());
  // open: an output too small, a record cut short or with bytes after it,
  // a record shorter than nonce and tag.
  Bytes short_out(message.size() - 1);
  EXPECT_FALSE(p.client->open(*h, record, short_out).has_value());
  EXPECT_FALSE(p.client->open(*h, std::span(record).first(size - 1), out));
  Bytes longer = record;
  longer.push_back(0);
  EXPECT_FALSE(p.client->open(*h, longer, out).has_value());
  RecordHeader tiny = *h;
  tiny.length = 23;
  EXPECT_FALSE(
      p.client->open(tiny, std::span(record).first(kRecordHeaderSize + 23), out)
          .has_value());
}

TEST(RecordCipher, NeedsAFinishedHandshakeWithAnAeadSuite) {
  OpenSslPair fresh("ECDHE-ECDSA-AES128-GCM-SHA256");
  auto before = RecordCipher::from_ssl(fresh.server.get());
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, "ERR_INVALID_STATE");
  EXPECT_EQ(RecordCipher::from_ssl(nullptr).error().code, "ERR_INVALID_STATE");

  // A CBC suite stays with OpenSSL's record layer.
  OpenSslPair cbc("ECDHE-ECDSA-AES128-SHA");
  ASSERT_TRUE(cbc.handshake());
  EXPECT_FALSE(RecordCipher::aead_of(SSL_get_current_cipher(cbc.server.get()))
                   .has_value());
  auto refused = RecordCipher::from_ssl(cbc.server.get());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "ERR_DTLS_INTERNAL");

  const std::uint8_t master[48] = {}, random[32] = {};
  auto bad = RecordCipher::derive({.aead = RecordAead::kAes128Gcm,
                                   .prf = EVP_sha256(),
                                   .master_secret = std::span(master).first(47),
                                   .client_random = random,
                                   .server_random = random});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ERR_INVALID_ARG_VALUE");
  EXPECT_FALSE(RecordCipher::derive({.aead = RecordAead::kAes128Gcm,
                                     .master_secret = master,
                                     .client_random = random,
                                     .server_random = random})
                   .ok());
}

}  // namespace
}  // namespace dtls

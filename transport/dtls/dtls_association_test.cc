#include "transport/dtls/dtls_association.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <map>

#include "tests/testing/dtls_pair.h"
#include "tests/testing/fake_wall_clock.h"
#include "tests/testing/raw_dtls_server.h"
#include "transport/dtls/datagram_bio.h"
#include "transport/dtls/dtls_record.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::DtlsPair;
using testing::PairConfig;
using testing::RawServer;
using testing::test_credentials;

certs::Fingerprint fp(const certs::Credentials& c,
                      certs::HashAlgorithm h = certs::HashAlgorithm::kSha256) {
  return certs::Fingerprint::of(c.leaf(), h);
}

std::vector<std::uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

std::string describe(const DtlsPair& p) {
  std::string s;
  if (auto e = p.client_error()) s += " client: " + e->to_string();
  if (auto e = p.server_error()) s += " server: " + e->to_string();
  return s;
}

PairConfig webrtc_config(
    const std::string& profiles = "SRTP_AES128_CM_SHA1_80") {
  return testing::webrtc_pair_config(profiles);
}

// A small PKI: a root CA and a server certificate for "sfu.example" and
// 127.0.0.1.
struct Pki {
  certs::Credentials root, server, client;
};

certs::Credentials generate(certs::GenerateOptions o) {
  return std::move(certs::generate_certificate(o)).value();
}

Pki make_pki() {
  certs::GenerateOptions r;
  r.is_ca = true;
  r.common_name = "Test Root";
  certs::Credentials root = generate(r);
  certs::GenerateOptions s;
  s.common_name = "sfu.example";
  s.subject_alt_names = {"DNS:sfu.example", "IP:127.0.0.1"};
  s.issuer = &root;
  certs::GenerateOptions c;
  c.common_name = "client";
  c.issuer = &root;
  certs::Credentials server = generate(s);
  certs::Credentials client = generate(c);
  return Pki{std::move(root), std::move(server), std::move(client)};
}

const Pki& pki() {
  static const Pki p = make_pki();
  return p;
}

PairConfig ca_config() {
  PairConfig c;
  c.server_context.credentials = pki().server;
  c.client_context.ca = {pki().root.leaf()};
  c.client.servername = "sfu.example";
  return c;
}

TEST(DtlsAssociation, WebRtcHandshakeExportsTheSameKeys) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start()) << p.setup_error->to_string();
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_EQ(p.hello_verify_requests, 1);
  EXPECT_EQ(p.client()->protocol(), "DTLSv1.2");
  EXPECT_EQ(p.server()->protocol(), "DTLSv1.2");
  EXPECT_EQ(p.client()->srtp_profile(), "SRTP_AES128_CM_SHA1_80");
  EXPECT_EQ(p.server()->srtp_profile(), "SRTP_AES128_CM_SHA1_80");
  // RFC 5764 §4.2: 2 * (16-byte key + 14-byte salt) for
  // AES_CM_128_HMAC_SHA1_80.
  auto ck = p.client()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
  auto sk = p.server()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
  ASSERT_TRUE(ck.ok() && sk.ok());
  EXPECT_EQ(*ck, *sk);
  // A context changes the output (RFC 5705 §4), on both sides alike.
  std::vector<std::uint8_t> ctx = {1, 2, 3};
  auto ck2 = p.client()->export_keying_material(32, "EXPORTER-test", ctx);
  auto sk2 = p.server()->export_keying_material(32, "EXPORTER-test", ctx);
  auto ck3 = p.client()->export_keying_material(32, "EXPORTER-test");
  ASSERT_TRUE(ck2.ok() && sk2.ok() && ck3.ok());
  EXPECT_EQ(*ck2, *sk2);
  EXPECT_NE(*ck2, *ck3);

  EXPECT_EQ(p.client()->stats().retransmit_count, 0u);
  EXPECT_TRUE(p.client()->authorized());
  EXPECT_TRUE(p.server()->authorized());
  auto cipher = p.client()->cipher();
  ASSERT_TRUE(cipher);
  EXPECT_EQ(cipher->version, "TLSv1.2");
  EXPECT_NE(cipher->name.find("ECDHE-ECDSA"), std::string::npos)
      << cipher->name;
  EXPECT_EQ(cipher->standard_name.rfind("TLS_ECDHE_ECDSA_WITH_", 0), 0u)
      << cipher->standard_name;
  ASSERT_TRUE(p.client()->peer_certificate());
  EXPECT_TRUE(*p.client()->peer_certificate() ==
              test_credentials("server").leaf());
  ASSERT_TRUE(p.server()->peer_certificate());
  EXPECT_TRUE(*p.server()->peer_certificate() ==
              test_credentials("client").leaf());
  EXPECT_TRUE(p.client()->stats().handshake_completed_at.has_value());

  ASSERT_EQ(p.client_events.front().type, DtlsEvent::Type::kHandshakeComplete);
  ASSERT_EQ(p.server_events.front().type, DtlsEvent::Type::kHandshakeComplete);
}

TEST(DtlsAssociation, ApplicationDataBothWaysKeepsMessageBoundaries) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  for (int i = 0; i < 5; ++i) {
    auto r = p.client()->send(bytes("c" + std::to_string(i)));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 2u);
  }
  ASSERT_TRUE(p.server()->send(bytes("from server")).ok());
  p.run_for(seconds(1));
  std::vector<std::string> got;
  for (const auto& e : p.server_events) {
    if (e.type == DtlsEvent::Type::kData)
      got.emplace_back(e.data.begin(), e.data.end());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"c0", "c1", "c2", "c3", "c4"}));
  EXPECT_EQ(p.received_by_client(), bytes("from server"));
  EXPECT_EQ(p.client()->stats().messages_sent, 5u);
  EXPECT_EQ(p.client()->stats().bytes_sent, 10u);
  EXPECT_EQ(p.server()->stats().messages_received, 5u);
  EXPECT_EQ(p.server()->stats().bytes_received, 10u);
}

TEST(DtlsAssociation, OpenSessionsHoldNoRecordBuffersBetweenCalls) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start());
  EXPECT_FALSE(p.client()->record_buffers_released());  // handshaking
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_TRUE(p.client()->record_buffers_released());
  EXPECT_TRUE(p.server()->record_buffers_released());
  // Each call takes them back and frees them again: data both ways, the
  // largest message, and close_notify all still work.
  const std::vector<std::uint8_t> big(p.client()->max_message_size(), 0x5a);
  ASSERT_TRUE(p.client()->send(big).ok());
  ASSERT_TRUE(p.server()->send(bytes("pong")).ok());
  EXPECT_TRUE(p.client()->record_buffers_released());
  p.run_for(seconds(1));
  EXPECT_TRUE(p.server()->record_buffers_released());
  EXPECT_EQ(p.received_by_client(), bytes("pong"));
  std::vector<std::uint8_t> got;
  for (const auto& e : p.server_events) {
    if (e.type == DtlsEvent::Type::kData) got = e.data;
  }
  EXPECT_EQ(got, big);
  p.client()->close();
  p.run_for(seconds(1));
  EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kClosed);
  ASSERT_FALSE(p.server_events.empty());
  EXPECT_EQ(p.server_events.back().type, DtlsEvent::Type::kClosed);
}

// A server waiting for the client's second flight (a half-open handshake,
// perhaps a peer gone silent after the cookie) holds no record buffers; its
// retransmissions still go out, and the handshake completes when the client's
// flight finally comes.
TEST(DtlsAssociation, AHalfOpenServerHoldsNoRecordBuffers) {
  PairConfig c = webrtc_config();
  // Client datagrams 0 and 1 are the two ClientHellos; its second flight is
  // lost twice.
  int lost = 0;
  c.client_filter = [&](const std::vector<std::uint8_t>&,
                        int n) -> std::optional<Duration> {
    if (n >= 2 && lost < 2) {
      lost++;
      return std::nullopt;
    }
    return Duration::zero();
  };
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_for(milliseconds(100));
  ASSERT_NE(p.server(), nullptr);
  EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kHandshaking);
  EXPECT_FALSE(p.server()->peer_progressed());
  EXPECT_TRUE(p.server()->record_buffers_released());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_EQ(lost, 2);
  EXPECT_GE(p.server()->stats().retransmit_count, 1u);
  EXPECT_TRUE(p.server()->peer_progressed());
  EXPECT_TRUE(p.server()->record_buffers_released());
  ASSERT_TRUE(p.client()->send(bytes("after")).ok());
  p.run_for(seconds(1));
  EXPECT_EQ(p.received_by_server(), bytes("after"));
}

// RFC 6347 §4.2.4: the handshake survives 30 % loss with reordering and
// duplication both ways. 200 seeds; a failure names its seed so it can be
// replayed.
TEST(DtlsAssociation, HandshakeCompletesAcrossSeedsAtThirtyPercentLoss) {
  int total_retransmits = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    PairConfig c = webrtc_config();
    c.seed = seed;
    for (auto* l : {&c.client_to_server, &c.server_to_client}) {
      l->loss = 0.3;
      l->reorder = 0.2;
      l->duplicate = 0.1;
    }
    c.client.initial_retransmit_timeout = milliseconds(100);
    c.server.initial_retransmit_timeout = milliseconds(100);
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << "seed " << seed << describe(p);
    auto ck = p.client()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
    auto sk = p.server()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
    ASSERT_TRUE(ck.ok() && sk.ok() && *ck == *sk) << "seed " << seed;
    total_retransmits += static_cast<int>(p.client()->stats().retransmit_count +
                                          p.server()->stats().retransmit_count);
  }
  EXPECT_GT(total_retransmits, 200);  // the loss really forced retransmissions
}

struct SendTimes {
  std::vector<TimePoint> sent;
  std::uint64_t retransmit_count = 0;
};

// Runs a pair for `span` with every client datagram dropped: when did the
// client send?
SendTimes client_send_times(PairConfig c, Duration span) {
  SendTimes out;
  DtlsPair* pair = nullptr;
  c.client_filter = [&](const std::vector<std::uint8_t>&,
                        int) -> std::optional<Duration> {
    out.sent.push_back(pair->now);
    return std::nullopt;
  };
  DtlsPair p(c);
  pair = &p;
  EXPECT_TRUE(p.start());
  p.run_for(span);
  out.retransmit_count = p.client()->stats().retransmit_count;
  return out;
}

// RFC 6347 §4.2.4: the server's last flight has no timer; when it is lost, the
// client's retransmitted flight makes the server send it again.
TEST(DtlsAssociation, LostFinalFlightIsResentOnTheClientsRetransmission) {
  PairConfig c = webrtc_config();
  int server_datagrams = 0;
  c.server_filter = [&](const std::vector<std::uint8_t>&,
                        int i) -> std::optional<Duration> {
    server_datagrams = i + 1;
    return i == 2 ? std::nullopt
                  : std::optional<Duration>(
                        Duration::zero());  // HVR, flight 4, *last*
  };
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_EQ(p.client()->stats().retransmit_count, 1u);
  EXPECT_EQ(p.server()->stats().retransmit_count, 0u);  // not timer-driven
  EXPECT_GT(server_datagrams, 3);  // the last flight went out again
  // ... by a server already open, whose record buffers had been released,
  // and which keeps OpenSSL until the client shows it has that flight (RFC
  // 6347 §4.2.4).
  EXPECT_TRUE(p.server()->record_buffers_released());
  EXPECT_FALSE(p.server()->released());
}

// RFC 6347 §4.2.4.1: initial timeout, then doubling. With every client datagram
// dropped, the ClientHello goes out at 0, 0.4, 1.2, 2.8, 6, 12.4 s with the
// DTLS-SRTP default (RFC 9147 §5.8.2: 400 ms), and at 0, 1, 3, 7, 15 s from a
// 1 s initial timeout.
TEST(DtlsAssociation, RetransmitsOnTheDoublingSchedule) {
  for (long initial : {0L, 1000L}) {
    SCOPED_TRACE("initial " + std::to_string(initial));
    PairConfig c = webrtc_config();
    c.client.initial_retransmit_timeout = milliseconds(initial);
    const long first = initial == 0 ? 400 : initial;
    SendTimes t = client_send_times(c, seconds(20));
    const std::vector<TimePoint>& sent = t.sent;
    ASSERT_EQ(sent.size(), initial == 0 ? 6u : 5u);
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(
          std::chrono::duration_cast<milliseconds>(sent[i] - sent[0]).count(),
          ((1 << i) - 1) * first)
          << "transmission " << i;
    }
    EXPECT_EQ(t.retransmit_count, sent.size() - 1);
  }
}

TEST(DtlsAssociation, RetransmitTimeoutIsCappedAtSixtySeconds) {
  PairConfig c = webrtc_config();
  c.client.initial_retransmit_timeout = seconds(20);
  c.client.handshake_timeout = std::chrono::minutes(10);
  const std::vector<TimePoint> sent = client_send_times(c, seconds(300)).sent;
  // 0, 20, 60 (+40), 120 (+60 cap), 180, 240, 300
  ASSERT_GE(sent.size(), 5u);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(sent[1] - sent[0]).count(), 20);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(sent[2] - sent[1]).count(), 40);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(sent[3] - sent[2]).count(), 60);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(sent[4] - sent[3]).count(), 60);
}

TEST(DtlsAssociation, HandshakeTimeoutEndsWithAClearCode) {
  PairConfig c = webrtc_config();
  c.client.handshake_timeout = seconds(10);
  c.client_filter = [](const std::vector<std::uint8_t>&,
                       int) -> std::optional<Duration> {
    return std::nullopt;  // the server never hears anything
  };
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  TimePoint start = p.now;
  p.run_handshake();
  ASSERT_EQ(p.client()->state(), DtlsAssociation::State::kFailed);
  auto e = p.client_error();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "ERR_DTLS_HANDSHAKE_TIMEOUT");
  EXPECT_EQ(std::chrono::duration_cast<seconds>(p.now - start).count(), 10);
  EXPECT_FALSE(p.client()->next_deadline().has_value());
  EXPECT_EQ(p.server(), nullptr);  // no state was ever created on the server
}

// Flights larger than the MTU are fragmented; no datagram exceeds it (RFC 6347
// §4.1.1).
TEST(DtlsAssociation, NoDatagramExceedsTheMtu) {
  for (std::uint32_t mtu : {256u, 576u, 1200u}) {
    PairConfig c = ca_config();
    // RSA-4096 certificates and a chain make flights of several kilobytes.
    certs::GenerateOptions big;
    big.key_type = certs::KeyType::kRsa;
    big.rsa_bits = 4096;
    big.common_name = "sfu.example";
    big.subject_alt_names = {"DNS:sfu.example"};
    certs::GenerateOptions mid_o;
    mid_o.is_ca = true;
    mid_o.issuer = &pki().root;
    mid_o.key_type = certs::KeyType::kRsa;
    static const certs::Credentials mid =
        std::move(certs::generate_certificate(mid_o)).value();
    big.issuer = &mid;
    static const certs::Credentials server =
        std::move(certs::generate_certificate(big)).value();
    c.server_context.credentials = server;
    // OpenSSL 3.0 sends a NewSessionTicket unfragmented (one ~280-byte record
    // here): under ~300-byte MTUs tickets must be off.
    c.server_context.session_tickets = mtu >= 576;
    c.client.mtu = mtu;
    c.server.mtu = mtu;
    c.client_to_server.mtu = mtu;
    c.server_to_client.mtu = mtu;
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << "mtu " << mtu << describe(p);
    EXPECT_EQ(p.link.stats(testing::Side::kA).oversize, 0u) << "mtu " << mtu;
    EXPECT_EQ(p.link.stats(testing::Side::kB).oversize, 0u) << "mtu " << mtu;
    // The chain alone is larger than the MTU, so the flight had to be
    // fragmented to get here.
    size_t chain_bytes =
        server.leaf().to_der().size() + mid.leaf().to_der().size();
    EXPECT_GT(chain_bytes, static_cast<size_t>(mtu));
    EXPECT_LE(p.link.stats(testing::Side::kB).largest, mtu);
    EXPECT_LE(p.client()->max_message_size(), mtu);
    std::vector<std::uint8_t> max(p.client()->max_message_size(), 'x');
    ASSERT_TRUE(p.client()->send(max).ok());
    p.run_for(seconds(1));
    EXPECT_EQ(p.link.stats(testing::Side::kA).oversize, 0u);
    EXPECT_EQ(p.received_by_server(), max);
  }
}

// The default cipher list keeps a ClientHello small: with a 32-byte cookie it
// still fits one datagram at MTU 300, unfragmented (servers such as Mbed TLS
// 2.28 and wolfSSL 5.5 refuse a fragmented second ClientHello).
TEST(DtlsAssociation, ClientHelloFitsOneSmallDatagramWithACookie) {
  PairConfig webrtc = webrtc_config(
      "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80:"
      "SRTP_AES128_CM_SHA1_32");
  PairConfig node = ca_config();  // session tickets on, a server name
  for (PairConfig c : {webrtc, node}) {
    c.client.mtu = 300;
    c.server.mtu = 300;
    c.client_to_server.mtu = 300;
    c.server_to_client.mtu = 300;
    c.server_context.session_tickets = false;  // see NoDatagramExceedsTheMtu
    std::vector<std::vector<std::uint8_t>> hellos;
    c.client_filter = [&](const std::vector<std::uint8_t>& d,
                          int n) -> std::optional<Duration> {
      if (n < 2) hellos.push_back(d);
      return Duration::zero();
    };
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    ASSERT_EQ(hellos.size(), 2u);
    EXPECT_LE(hellos[0].size() + 32, 300u) << hellos[0].size();
    auto second = parse_client_hello_prefix(hellos[1]);
    ASSERT_TRUE(second.has_value());
    EXPECT_FALSE(second->cookie.empty());
    EXPECT_EQ(second->fragment_length, second->message_length);
    EXPECT_EQ(hellos[1].size(),
              kRecordHeaderSize + kHandshakeHeaderSize + second->message_length)
        << "one record, one fragment";
  }
}

TEST(DtlsAssociation, OversizeMessageIsRefused) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  std::vector<std::uint8_t> big(p.client()->max_message_size() + 1, 'x');
  auto r = p.client()->send(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_DTLS_MESSAGE_TOO_LARGE");
  auto empty = p.client()->send({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(DtlsAssociation, NothingBeforeTheHandshake) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start());
  auto r = p.client()->send(bytes("early"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  auto k = p.client()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().code, "ERR_DTLS_SESSION_NOT_OPEN");
  EXPECT_EQ(p.client()->protocol(), "");
  EXPECT_EQ(p.client()->max_message_size(), 0u);
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  auto bad_len = p.client()->export_keying_material(0, "EXTRACTOR-dtls_srtp");
  ASSERT_FALSE(bad_len.ok());
  EXPECT_EQ(bad_len.error().code, "ERR_OUT_OF_RANGE");
}

// The matrix: every SRTP profile x ALPN on/off x client auth x CA vs
// fingerprint pinning.
TEST(DtlsAssociation, Matrix) {
  const char* profiles[] = {"SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32",
                            "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM"};
  // RFC 5764 §4.2 lengths: 2 * (key + salt).
  const std::map<std::string, size_t> keying = {{"SRTP_AES128_CM_SHA1_80", 60},
                                                {"SRTP_AES128_CM_SHA1_32", 60},
                                                {"SRTP_AEAD_AES_128_GCM", 56},
                                                {"SRTP_AEAD_AES_256_GCM", 88}};
  int cases = 0;
  for (const char* profile : profiles) {
    for (bool alpn : {false, true}) {
      for (bool client_auth : {false, true}) {
        for (bool pinning : {false, true}) {
          SCOPED_TRACE(std::string(profile) + (alpn ? " alpn" : "") +
                       (client_auth ? " client-auth" : "") +
                       (pinning ? " pinning" : " ca"));
          PairConfig c;
          if (pinning) {
            c = webrtc_config(profile);
            if (!client_auth) {
              // Pinning only the server: the client still presents its
              // self-signed cert (WebRTC always does), the server checks
              // nothing.
              c.server.peer_fingerprints.clear();
            }
          } else {
            c = ca_config();
            c.client_context.srtp_profiles = profile;
            c.server_context.srtp_profiles = profile;
            if (client_auth) {
              c.client_context.credentials = pki().client;
              c.server_context.ca = {pki().root.leaf()};
              c.server.request_cert = true;
            }
          }
          // The server prefers its own order; offering all and preferring
          // `profile` must land on `profile`.
          c.client_context.srtp_profiles =
              "SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_"
              "32:"
              "SRTP_AES128_CM_SHA1_80";
          if (alpn) {
            c.client_context.alpn_protocols = {"x-other", "webrtc"};
            c.server_context.alpn_protocols = {"webrtc", "c-webrtc"};
          }
          DtlsPair p(c);
          ASSERT_TRUE(p.start()) << p.setup_error->to_string();
          p.run_handshake();
          ASSERT_TRUE(p.both_open()) << describe(p);
          EXPECT_EQ(p.client()->srtp_profile(), profile);
          EXPECT_EQ(p.server()->srtp_profile(), profile);
          EXPECT_EQ(p.client()->alpn_protocol(), alpn ? "webrtc" : "");
          EXPECT_EQ(p.server()->alpn_protocol(), alpn ? "webrtc" : "");
          // Without client auth the server asks for no certificate, pinning or
          // not.
          EXPECT_EQ(p.server()->peer_certificate().has_value(), client_auth);
          EXPECT_TRUE(p.client()->authorized());
          if (client_auth) {
            EXPECT_TRUE(p.server()->authorized());
          }
          auto ck = p.client()->export_keying_material(keying.at(profile),
                                                       "EXTRACTOR-dtls_srtp");
          auto sk = p.server()->export_keying_material(keying.at(profile),
                                                       "EXTRACTOR-dtls_srtp");
          ASSERT_TRUE(ck.ok() && sk.ok());
          EXPECT_EQ(*ck, *sk);
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 32);
}

// Both roles: the same checks hold whichever side is the DTLS client.
TEST(DtlsAssociation, PinningWorksInBothRoles) {
  for (bool swap : {false, true}) {
    PairConfig c = webrtc_config();
    if (swap) {
      std::swap(c.client_context.credentials, c.server_context.credentials);
      std::swap(c.client.peer_fingerprints, c.server.peer_fingerprints);
    }
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
  }
}

struct Mismatch {
  const char* name;
  void (*configure)(PairConfig&);
  const char* client_code;  // nullptr: the client need not fail
  const char* server_code;  // nullptr: the server need not fail
};

TEST(DtlsAssociation, EveryMismatchHasItsCode) {
  const Mismatch cases[] = {
      {"no common srtp profile, server requires",
       [](PairConfig& c) {
         c.client_context.srtp_profiles = "SRTP_AES128_CM_SHA1_32";
         c.server_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
         c.server_context.require_srtp = true;
       },
       "ERR_DTLS_ALERT_HANDSHAKE_FAILURE", "ERR_DTLS_SRTP_NO_COMMON_PROFILE"},
      {"no common srtp profile, client requires",
       [](PairConfig& c) {
         c.client_context.srtp_profiles = "SRTP_AES128_CM_SHA1_32";
         c.server_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
         c.client_context.require_srtp = true;
       },
       "ERR_DTLS_SRTP_NO_COMMON_PROFILE", "ERR_DTLS_ALERT_HANDSHAKE_FAILURE"},
      {"client offers no srtp, server requires",
       [](PairConfig& c) {
         c.client_context.srtp_profiles = "";
         c.server_context.require_srtp = true;
       },
       "ERR_DTLS_ALERT_HANDSHAKE_FAILURE", "ERR_DTLS_SRTP_NO_COMMON_PROFILE"},
      {"wrong server fingerprint",
       [](PairConfig& c) {
         c.client.peer_fingerprints = {fp(test_credentials("someone"))};
       },
       "ERR_DTLS_CERT_FINGERPRINT_MISMATCH", "ERR_DTLS_ALERT_BAD_CERTIFICATE"},
      {"wrong client fingerprint",
       [](PairConfig& c) {
         c.server.peer_fingerprints = {fp(test_credentials("someone"))};
       },
       "ERR_DTLS_ALERT_BAD_CERTIFICATE", "ERR_DTLS_CERT_FINGERPRINT_MISMATCH"},
      {"client sends no certificate to a pinning server",
       [](PairConfig& c) { c.client_context.credentials.reset(); },
       "ERR_DTLS_ALERT_HANDSHAKE_FAILURE",
       "ERR_DTLS_PEER_CERTIFICATE_REQUIRED"},
      {"alpn without overlap",
       [](PairConfig& c) {
         c.client_context.alpn_protocols = {"a"};
         c.server_context.alpn_protocols = {"b"};
       },
       "ERR_DTLS_ALERT_NO_APPLICATION_PROTOCOL", "ERR_DTLS_ALPN_NO_OVERLAP"},
      {"no shared cipher",
       [](PairConfig& c) {
         c.client_context.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
         c.server_context.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
       },
       "ERR_DTLS_ALERT_HANDSHAKE_FAILURE", "ERR_DTLS_NO_SHARED_CIPHER"},
  };
  for (const Mismatch& m : cases) {
    SCOPED_TRACE(m.name);
    PairConfig c = webrtc_config();
    m.configure(c);
    DtlsPair p(c);
    ASSERT_TRUE(p.start()) << p.setup_error->to_string();
    p.run_handshake();
    EXPECT_FALSE(p.both_open());
    if (m.client_code) {
      ASSERT_TRUE(p.client_error());
      EXPECT_EQ(p.client_error()->code, m.client_code)
          << p.client_error()->message;
    }
    if (m.server_code) {
      ASSERT_TRUE(p.server_error());
      EXPECT_EQ(p.server_error()->code, m.server_code)
          << p.server_error()->message;
    }
  }
}

// DTLS 1.0 is refused unless asked for; the version range is an option.
// (OpenSSL 3 allows DTLS 1.0 only at security level 0.)
TEST(DtlsAssociation, VersionRange) {
  {
    PairConfig c = webrtc_config();
    c.client_context.min_version = c.client_context.max_version = "DTLSv1";
    c.client_context.ciphers = "DEFAULT:@SECLEVEL=0";
    DtlsPair p(c);
    ASSERT_TRUE(p.start()) << p.setup_error->to_string();
    p.run_handshake();
    ASSERT_TRUE(p.server_error());
    EXPECT_EQ(p.server_error()->code, "ERR_DTLS_PROTOCOL_VERSION");
    ASSERT_TRUE(p.client_error());
    EXPECT_EQ(p.client_error()->code, "ERR_DTLS_ALERT_PROTOCOL_VERSION");
  }
  {
    PairConfig c = webrtc_config();
    c.client_context.min_version = c.client_context.max_version = "DTLSv1";
    c.client_context.ciphers = "DEFAULT:@SECLEVEL=0";
    c.server_context.min_version = "DTLSv1";
    c.server_context.ciphers = "DEFAULT:@SECLEVEL=0";
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    EXPECT_EQ(p.client()->protocol(), "DTLSv1");
    EXPECT_EQ(p.server()->protocol(), "DTLSv1");
  }
}

TEST(DtlsAssociation, CaModeFailures) {
  // Untrusted: the client trusts another root.
  {
    PairConfig c = ca_config();
    c.client_context.ca = {test_credentials("unrelated root").leaf()};
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.client_error());
    EXPECT_EQ(p.client_error()->code, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
    ASSERT_TRUE(p.server_error());
    EXPECT_EQ(p.server_error()->code, "ERR_DTLS_ALERT_UNKNOWN_CA");
  }
  // Self-signed server certificate in CA mode.
  {
    PairConfig c = ca_config();
    c.server_context.credentials = test_credentials("server");
    c.client.servername.clear();
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.client_error());
    EXPECT_EQ(p.client_error()->code, "DEPTH_ZERO_SELF_SIGNED_CERT");
  }
  // Bad host name.
  {
    PairConfig c = ca_config();
    c.client.servername = "other.example";
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.client_error());
    EXPECT_EQ(p.client_error()->code, "ERR_TLS_CERT_ALTNAME_INVALID");
    EXPECT_NE(p.client_error()->message.find("other.example"),
              std::string::npos);
  }
  // An IP address as the host.
  {
    PairConfig c = ca_config();
    c.client.servername = "127.0.0.1";
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    EXPECT_TRUE(p.both_open()) << describe(p);
  }
}

TEST(DtlsAssociation, RejectUnauthorizedFalseContinuesAndReports) {
  PairConfig c = ca_config();
  c.client_context.ca = {test_credentials("unrelated root").leaf()};
  c.client.servername = "wrong.example";
  c.client.reject_unauthorized = false;
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_FALSE(p.client()->authorized());
  // node checks the name only for a chain that verified: the first failure
  // is reported.
  EXPECT_EQ(p.client()->authorization_error(),
            "UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
  PairConfig name_only = ca_config();
  name_only.client.servername = "wrong.example";
  name_only.client.reject_unauthorized = false;
  DtlsPair q(name_only);
  ASSERT_TRUE(q.start());
  q.run_handshake();
  ASSERT_TRUE(q.both_open()) << describe(q);
  EXPECT_FALSE(q.client()->authorized());
  EXPECT_EQ(q.client()->authorization_error(), "ERR_TLS_CERT_ALTNAME_INVALID");
}

TEST(DtlsAssociation, CustomCheckServerIdentity) {
  PairConfig c = ca_config();
  c.client.servername = "anything";
  std::string seen;
  c.client.check_server_identity = [&](std::string_view host,
                                       const certs::PeerCertificate& cert) {
    seen = std::string(host) + "/" + cert.subject.get("CN");
    return Status();
  };
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_EQ(seen, "anything/sfu.example");
}

TEST(DtlsAssociation, ClientCertificateRequiredInCaMode) {
  PairConfig c = ca_config();
  c.server_context.ca = {pki().root.leaf()};
  c.server.request_cert = true;  // reject_unauthorized defaults to true
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.server_error());
  EXPECT_EQ(p.server_error()->code, "ERR_DTLS_PEER_CERTIFICATE_REQUIRED");
  // With reject_unauthorized false, a client without a certificate is let in.
  c.server.reject_unauthorized = false;
  DtlsPair q(c);
  ASSERT_TRUE(q.start());
  q.run_handshake();
  ASSERT_TRUE(q.both_open()) << describe(q);
  EXPECT_FALSE(q.server()->peer_certificate().has_value());
}

TEST(DtlsAssociation, KeylogLinesAreNssFormat) {
  PairConfig c = webrtc_config();
  c.client.keylog = true;
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  std::vector<std::string> lines;
  for (const auto& e : p.client_events) {
    if (e.type == DtlsEvent::Type::kKeylog)
      lines.emplace_back(e.data.begin(), e.data.end());
  }
  ASSERT_EQ(lines.size(), 1u);
  // "CLIENT_RANDOM <64 hex> <96 hex>" (TLS 1.2 master secret)
  EXPECT_EQ(lines[0].rfind("CLIENT_RANDOM ", 0), 0u);
  EXPECT_EQ(lines[0].size(), 14u + 64 + 1 + 96);
  for (const auto& e : p.server_events)
    EXPECT_NE(e.type, DtlsEvent::Type::kKeylog);
}

TEST(DtlsAssociation, GracefulCloseBothWays) {
  for (bool client_closes : {true, false}) {
    DtlsPair p(webrtc_config());
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open());
    DtlsAssociation* closer = client_closes ? p.client() : p.server();
    DtlsAssociation* other = client_closes ? p.server() : p.client();
    closer->close();
    EXPECT_EQ(closer->state(), DtlsAssociation::State::kClosed);
    p.run_for(seconds(1));
    EXPECT_EQ(other->state(), DtlsAssociation::State::kClosed);
    const auto& events = client_closes ? p.server_events : p.client_events;
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().type, DtlsEvent::Type::kClosed);
    EXPECT_TRUE(events.back().error.code.empty());
    auto r = closer->send(bytes("late"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ERR_DTLS_SESSION_NOT_OPEN");
    EXPECT_FALSE(other->send(bytes("late")).ok());
  }
}

TEST(DtlsAssociation, CloseDuringHandshakeIsSilent) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start());
  p.client()->close();
  EXPECT_EQ(p.client()->state(), DtlsAssociation::State::kClosed);
  EXPECT_FALSE(p.client()->next_deadline().has_value());
}

// A browser's ClientHello: several fragments in several datagrams (here forced
// by MTU 256 and a long ALPN list), in order, reversed, or with one lost.
TEST(DtlsAssociation, FragmentedClientHello) {
  std::vector<std::string> alpn;
  for (int i = 0; i < 40; ++i) alpn.push_back("protocol-" + std::to_string(i));
  enum Mode { kInOrder, kReversed, kFirstLost, kSecondLost };
  for (Mode mode : {kInOrder, kReversed, kFirstLost, kSecondLost}) {
    SCOPED_TRACE(mode);
    PairConfig c = webrtc_config();
    c.client_context.alpn_protocols = alpn;
    c.server_context.alpn_protocols = {"protocol-39"};
    c.client.mtu = 256;
    int fragments_of_second_hello = 0;
    bool dropped = false;
    c.client_filter = [&](const std::vector<std::uint8_t>& d,
                          int) -> std::optional<Duration> {
      // Fragments of the second ClientHello (message_seq 1): handshake type 1
      // in epoch 0.
      auto rec = parse_record_header(d);
      if (!rec || rec->epoch != 0 || d.size() < 25 ||
          d[13] != kHandshakeClientHello || d[17] != 0 || d[18] != 1) {
        return Duration::zero();
      }
      int index = fragments_of_second_hello++;
      switch (mode) {
        case kInOrder:
          return Duration::zero();
        case kReversed:  // later fragments overtake earlier ones
          return milliseconds(index == 0 ? 30 : 0);
        case kFirstLost:
          if (index == 0 && !dropped) {
            dropped = true;
            return std::nullopt;
          }
          return Duration::zero();
        case kSecondLost:
          if (index == 1 && !dropped) {
            dropped = true;
            return std::nullopt;
          }
          return Duration::zero();
      }
      return Duration::zero();
    };
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    EXPECT_GE(fragments_of_second_hello, 2);
    EXPECT_EQ(p.server()->alpn_protocol(), "protocol-39");
    if (mode == kInOrder) {
      EXPECT_EQ(p.client()->stats().retransmit_count, 0u);
    }
    if (mode == kFirstLost || mode == kSecondLost) {
      EXPECT_GE(p.client()->stats().retransmit_count, 1u);
    }
  }
}

TEST(DtlsAssociation, OptionErrors) {
  auto ctx = DtlsContext::create({});
  ASSERT_TRUE(ctx.ok());
  struct Case {
    const char* name;
    void (*mutate)(AssociationOptions&);
    const char* code;
  } cases[] = {
      {"mtu low", [](AssociationOptions& o) { o.mtu = 255; },
       "ERR_OUT_OF_RANGE"},
      {"mtu high", [](AssociationOptions& o) { o.mtu = 65536; },
       "ERR_OUT_OF_RANGE"},
      {"rto low",
       [](AssociationOptions& o) {
         o.initial_retransmit_timeout = milliseconds(19);
       },
       "ERR_OUT_OF_RANGE"},
      {"rto high",
       [](AssociationOptions& o) {
         o.initial_retransmit_timeout = seconds(61);
       },
       "ERR_OUT_OF_RANGE"},
      {"handshake timeout zero",
       [](AssociationOptions& o) { o.handshake_timeout = milliseconds(0); },
       "ERR_OUT_OF_RANGE"},
      {"idle timeout negative",
       [](AssociationOptions& o) { o.idle_timeout = milliseconds(-1); },
       "ERR_OUT_OF_RANGE"},
      {"idle timeout over a day",
       [](AssociationOptions& o) { o.idle_timeout = std::chrono::hours(25); },
       "ERR_OUT_OF_RANGE"},
      {"media idle timeout negative",
       [](AssociationOptions& o) { o.media_idle_timeout = milliseconds(-1); },
       "ERR_OUT_OF_RANGE"},
      {"media idle timeout over a day",
       [](AssociationOptions& o) {
         o.media_idle_timeout = std::chrono::hours(25);
       },
       "ERR_OUT_OF_RANGE"},
      {"last flight hold negative",
       [](AssociationOptions& o) { o.last_flight_hold = milliseconds(-1); },
       "ERR_OUT_OF_RANGE"},
      {"last flight hold over a day",
       [](AssociationOptions& o) {
         o.last_flight_hold = std::chrono::hours(25);
       },
       "ERR_OUT_OF_RANGE"},
  };
  for (const Case& c : cases) {
    AssociationOptions o;
    c.mutate(o);
    auto r = DtlsAssociation::connect(*ctx, o, TimePoint{});
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name;
  }
  // A server without a certificate.
  std::vector<std::uint8_t> hello(100, 0);
  auto s = DtlsAssociation::accept(*ctx, {}, hello, hello, TimePoint{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "ERR_INVALID_ARG_VALUE");
  auto n = DtlsAssociation::connect(nullptr, {}, TimePoint{});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, "ERR_INVALID_ARG_VALUE");
}

// Garbage after the handshake is dropped by the record layer and harms nothing.
TEST(DtlsAssociation, GarbageDatagramsAreIgnored) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  std::vector<std::uint8_t> junk = {23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0,
                                    0,  99,   0,    4, 1, 2, 3, 4};
  p.server()->handle_datagram(junk, p.now);
  p.server()->handle_datagram(std::vector<std::uint8_t>(3, 0), p.now);
  p.server()->handle_datagram({}, p.now);
  EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kOpen);
  ASSERT_TRUE(p.client()->send(bytes("still fine")).ok());
  p.run_for(seconds(1));
  EXPECT_EQ(p.received_by_server(), bytes("still fine"));
}

// Forged epoch-1 records sent to a client right after its ClientHello (anyone
// who sees it can): OpenSSL buffers them until the epoch change and then
// decrypts them with the suite chosen meanwhile, ending the handshake on an
// AEAD record shorter than that suite's nonce and tag. With the default list
// the guard's bound was ChaCha20's 16 bytes, and the server chose AES-GCM (24).
TEST(DtlsAssociation, ShortForgedRecordsBeforeTheServerHelloAreDropped) {
  DtlsPair p(webrtc_config());
  ASSERT_TRUE(p.start());
  // Epoch 1, sequence 16 and up, `size` bytes of body.
  std::uint8_t seq = 16;
  for (std::uint8_t size = 0; size < 40; ++size) {
    for (std::uint8_t type : {22, 21}) {
      std::vector<std::uint8_t> r = {type, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0};
      r.insert(r.end(), {seq++, 0, size});
      r.resize(r.size() + size, 0x5a);
      p.client()->handle_datagram(r, p.now);
    }
  }
  // Below AES-GCM's 24 bytes: dropped; of the 32 from 24 up, the early bound
  // lets some through (OpenSSL discards them) and drops the rest.
  const std::uint64_t early = RecordGuard::kMaxEarlyProtectedRecords;
  EXPECT_EQ(p.client()->stats().record_drops[RecordDrop::kTooShort], 48u);
  EXPECT_EQ(p.client()->stats().record_drops[RecordDrop::kEpochFlood],
            32u - early);
  EXPECT_EQ(p.client()->stats().record_drops.total(), 48u + 32u - early);
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_NE(p.client()->cipher()->name.find("AES128-GCM"), std::string::npos);
  ASSERT_TRUE(p.server()->send(bytes("still fine")).ok());
  p.run_for(seconds(1));
  EXPECT_EQ(p.received_by_client(), bytes("still fine"));
}

}  // namespace
// Issue 8, faults: a peer that vanishes mid-session without close_notify.
TEST(DtlsAssociation, IdleTimeoutEndsASessionWhosePeerVanished) {
  PairConfig c = webrtc_config();
  c.server.idle_timeout = seconds(30);
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  // Traffic every 20 s keeps it open well past 30 s.
  const std::uint8_t hi[] = {'h', 'i'};
  for (int i = 0; i < 4; ++i) {
    p.run_for(seconds(20));
    ASSERT_TRUE(p.client()->send(hi).ok());
  }
  p.run_for(seconds(1));
  EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kOpen);
  // Reported activity (media the association does not see) counts too.
  p.run_for(seconds(20));
  p.server()->note_activity(p.now);
  p.run_for(seconds(20));
  EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kOpen);
  // Then silence: the session ends on its own, with a clear code.
  p.run_for(seconds(31));
  EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kFailed);
  ASSERT_TRUE(p.server_error());
  EXPECT_EQ(p.server_error()->code, "ERR_DTLS_IDLE_TIMEOUT");
  // The client had no idle timeout: still open.
  EXPECT_EQ(p.client()->state(), DtlsAssociation::State::kOpen);
}

// A media session whose peer vanished ends by default (media_idle_timeout,
// 30 s), counted from its last media once media has come; before the first
// packet (a peer still finishing its handshake, or one with no media) and
// with media_idle_timeout 0, nothing ends it.
TEST(DtlsAssociation, MediaSessionsEndAfterThirtySilentSecondsByDefault) {
  {
    DtlsPair p(webrtc_config());
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    EXPECT_EQ(p.server()->idle_timeout(), milliseconds(0));
    p.run_for(seconds(120));  // no media yet: no idle deadline
    EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kOpen);
    // Only the last flight's hold (last_flight_hold), which ends nothing.
    EXPECT_EQ(
        p.server()->next_deadline(),
        *p.server()->stats().handshake_completed_at + std::chrono::minutes(4));
    EXPECT_TRUE(p.server()->note_media(p.now));  // armed: a new deadline
    EXPECT_EQ(p.server()->idle_timeout(), seconds(30));
    EXPECT_EQ(p.server()->next_deadline(), p.now + seconds(30));
    for (int i = 0; i < 4; ++i) {
      p.run_for(seconds(20));
      EXPECT_FALSE(p.server()->note_media(p.now));  // already armed
    }
    EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kOpen);
    p.run_for(seconds(31));
    ASSERT_TRUE(p.server_error());
    EXPECT_EQ(p.server_error()->code, "ERR_DTLS_IDLE_TIMEOUT");
  }
  {
    PairConfig c = webrtc_config();
    c.server.media_idle_timeout = milliseconds(0);
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    // No idle deadline, but the media let OpenSSL go, and with it went the
    // deadline of the last flight's hold (last_flight_hold).
    EXPECT_TRUE(p.server()->note_media(p.now));
    EXPECT_TRUE(p.server()->released());
    EXPECT_EQ(p.server()->next_deadline(), std::nullopt);
    EXPECT_FALSE(p.server()->tracks_activity());
    p.run_for(seconds(120));
    EXPECT_EQ(p.server()->state(), DtlsAssociation::State::kOpen);
  }
  {
    // idle_timeout, when set, is the one that counts.
    PairConfig c = webrtc_config();
    c.server.idle_timeout = seconds(5);
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    EXPECT_FALSE(p.server()->note_media(p.now));
    EXPECT_EQ(p.server()->idle_timeout(), seconds(5));
  }
}

// --- Renegotiation (RFC 5746 is TLS; DTLS 1.2 renegotiation is refused) ---

// A bare OpenSSL DTLS server over a datagram memory BIO, driven by hand: the
// peer that asks for renegotiation.
TEST(DtlsAssociation, RenegotiationIsAnsweredWithNoRenegotiation) {
  const auto& server_creds = test_credentials("raw server");
  RawServer raw(server_creds);
  DtlsContextOptions co;
  co.credentials = test_credentials("client");
  co.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
  auto ctx = std::move(DtlsContext::create(co)).value();
  AssociationOptions ao;
  ao.peer_fingerprints = {fp(server_creds)};
  TimePoint now{};
  auto client = std::move(DtlsAssociation::connect(ctx, ao, now)).value();
  std::vector<std::uint8_t> d;
  // Handshake: shuttle datagrams until both are done.
  for (int round = 0;
       round < 20 && (client->state() == DtlsAssociation::State::kHandshaking ||
                      !SSL_is_init_finished(raw.ssl));
       ++round) {
    while (client->pop_datagram(d)) raw.feed(d);
    while (raw.queue.pop(d)) client->handle_datagram(d, now);
  }
  ASSERT_EQ(client->state(), DtlsAssociation::State::kOpen);
  ASSERT_TRUE(SSL_is_init_finished(raw.ssl));
  DtlsEvent e;
  while (client->pop_event(e)) {
  }
  // The peer asks for a new handshake (a HelloRequest from a server).
  ASSERT_EQ(SSL_renegotiate(raw.ssl), 1);
  SSL_do_handshake(raw.ssl);
  ASSERT_FALSE(raw.queue.empty());
  while (raw.queue.pop(d)) client->handle_datagram(d, now);
  // We answer with an alert and stay open.
  ASSERT_TRUE(client->pop_datagram(d));
  EXPECT_EQ(d[0], 21);  // an alert record (encrypted: epoch 1)
  EXPECT_EQ(client->state(), DtlsAssociation::State::kOpen);
  while (client->pop_event(e)) EXPECT_NE(e.type, DtlsEvent::Type::kError);
  // Our side is unharmed: it still sends application data.
  const std::uint8_t msg[] = {'s', 't', 'i', 'l', 'l'};
  EXPECT_TRUE(client->send(msg).ok());
  EXPECT_EQ(client->state(), DtlsAssociation::State::kOpen);
  std::vector<std::uint8_t> still;
  ASSERT_TRUE(client->pop_datagram(still));
  // The peer reads our answer as OpenSSL's "no renegotiation" and, as
  // OpenSSL does with a refused renegotiation, gives up with a fatal
  // handshake_failure alert (a peer sending an alert mid-session).
  raw.feed(d);
  const unsigned long reason = ERR_GET_REASON(ERR_peek_last_error());
  EXPECT_EQ(reason, static_cast<unsigned long>(SSL_R_NO_RENEGOTIATION))
      << ERR_reason_error_string(ERR_peek_last_error());
  ERR_clear_error();
  ASSERT_FALSE(raw.queue.empty());
  while (raw.queue.pop(d)) client->handle_datagram(d, now);
  EXPECT_EQ(client->state(), DtlsAssociation::State::kFailed);
  std::string code;
  while (client->pop_event(e)) {
    if (e.type == DtlsEvent::Type::kError) code = e.error.code;
  }
  EXPECT_EQ(code, "ERR_DTLS_ALERT_HANDSHAKE_FAILURE");
}

namespace {

// ---- node:tls parity: resumption, PSK, SNI, context options, session extras

// The session blob of the pair's client (its kSession event).
std::vector<std::uint8_t> session_of(const DtlsPair& p) {
  for (const DtlsEvent& e : p.client_events)
    if (e.type == DtlsEvent::Type::kSession) return e.data;
  return {};
}

std::vector<std::uint8_t> fixed_ticket_keys(std::uint8_t seed) {
  std::vector<std::uint8_t> k(48);
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::uint8_t>(seed + i);
  return k;
}

// CA mode with fixed ticket keys, so that two pairs' servers share them.
PairConfig resumable_config() {
  PairConfig c = ca_config();
  c.server_context.ticket_keys = fixed_ticket_keys(7);
  return c;
}

struct Resumption {
  std::vector<std::uint8_t> session;
  bool reused = false;
  bool open = false;
  std::string error;
  std::vector<std::uint8_t> ticket;
};

// A full handshake, then a second pair offering the first one's session.
Resumption resume(PairConfig first, PairConfig second,
                  std::chrono::seconds later = std::chrono::seconds(0)) {
  Resumption r;
  DtlsPair a(std::move(first));
  if (!a.start()) return r;
  a.run_handshake();
  if (!a.both_open()) {
    r.error = "first: " + describe(a);
    return r;
  }
  r.session = session_of(a);
  r.ticket = a.client()->tls_ticket();
  if (r.session.empty()) {
    r.error = "no session event";
    return r;
  }
  auto decoded = decode_session(r.session);
  if (!decoded.ok()) {
    r.error = decoded.error().to_string();
    return r;
  }
  second.client.session = *decoded;
  testing::set_time_offset(later);
  DtlsPair b(std::move(second));
  if (b.start()) b.run_handshake();
  testing::set_time_offset(std::chrono::seconds(0));
  r.open = b.both_open();
  r.error += describe(b);
  r.reused = r.open && b.client()->is_session_reused() &&
             b.server()->is_session_reused();
  if (r.open) {
    EXPECT_EQ(b.client()->authorized(), true)
        << b.client()->authorization_error();
    // The resumed session exports its own keys: a fresh handshake's randoms.
    auto k = b.client()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
    auto ks = b.server()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
    EXPECT_TRUE(k.ok() && ks.ok() && *k == *ks);
  }
  return r;
}

TEST(DtlsResumption, TicketResumesWithTheSameKeys) {
  ASSERT_TRUE(testing::wall_clock_is_simulated());
  Resumption r = resume(resumable_config(), resumable_config());
  ASSERT_TRUE(r.open) << r.error;
  EXPECT_TRUE(r.reused);
  EXPECT_FALSE(r.ticket.empty());  // RFC 5077: the server issued one
}

TEST(DtlsResumption, ResumedHandshakeIsOneRoundTripShorter) {
  DtlsPair full(resumable_config());
  ASSERT_TRUE(full.start());
  full.run_handshake();
  ASSERT_TRUE(full.both_open());
  EXPECT_FALSE(full.client()->is_session_reused());
  EXPECT_TRUE(full.server()->tls_ticket().empty());  // server: always empty
  PairConfig c = resumable_config();
  c.client.session = *decode_session(session_of(full));
  DtlsPair resumed(std::move(c));
  ASSERT_TRUE(resumed.start());
  resumed.run_handshake();
  ASSERT_TRUE(resumed.both_open()) << describe(resumed);
  EXPECT_TRUE(resumed.client()->is_session_reused());
  // No certificates travel: far fewer bytes than the full handshake.
  EXPECT_LT(resumed.client()->stats().datagrams_received,
            full.client()->stats().datagrams_received);
  EXPECT_TRUE(resumed.client()->peer_certificate().has_value());
  EXPECT_EQ(resumed.server()->session().empty(), false);
}

// RFC 6347 §4.2.4: in a resumed handshake the client sends the last flight,
// so it keeps OpenSSL (to answer the server's repeated Finished) until the
// server shows it has it; the server lets go at once.
TEST(DtlsResumption, TheResumedClientSentTheLastFlight) {
  DtlsPair full(resumable_config());
  ASSERT_TRUE(full.start());
  full.run_handshake();
  ASSERT_TRUE(full.both_open());
  PairConfig c = resumable_config();
  c.client.session = *decode_session(session_of(full));
  DtlsPair resumed(std::move(c));
  ASSERT_TRUE(resumed.start());
  resumed.run_handshake();
  ASSERT_TRUE(resumed.both_open()) << describe(resumed);
  ASSERT_TRUE(resumed.client()->is_session_reused());
  EXPECT_TRUE(resumed.server()->released());
  EXPECT_FALSE(resumed.client()->released());
  EXPECT_TRUE(resumed.server()->is_session_reused());
  ASSERT_TRUE(resumed.server()->send(bytes("resumed")).ok());
  resumed.run_for(seconds(1));
  EXPECT_EQ(resumed.received_by_client(), bytes("resumed"));
  EXPECT_TRUE(resumed.client()->released());
  EXPECT_TRUE(resumed.client()->is_session_reused());
  EXPECT_EQ(
      *resumed.client()->export_keying_material(60, "EXTRACTOR-dtls_srtp"),
      *resumed.server()->export_keying_material(60, "EXTRACTOR-dtls_srtp"));
}

TEST(DtlsResumption, SessionTimeoutEndsResumability) {
  PairConfig server_side = resumable_config();
  server_side.server_context.session_timeout = std::chrono::seconds(100);
  Resumption within =
      resume(server_side, server_side, std::chrono::seconds(90));
  ASSERT_TRUE(within.open) << within.error;
  EXPECT_TRUE(within.reused);
  Resumption after =
      resume(server_side, server_side, std::chrono::seconds(110));
  ASSERT_TRUE(after.open) << after.error;
  EXPECT_FALSE(after.reused);  // a full handshake instead
  // The default is node's 300 s.
  Resumption dflt =
      resume(resumable_config(), resumable_config(), std::chrono::seconds(310));
  ASSERT_TRUE(dflt.open) << dflt.error;
  EXPECT_FALSE(dflt.reused);
}

TEST(DtlsResumption, OtherTicketKeysMeanAFullHandshake) {
  PairConfig other = resumable_config();
  other.server_context.ticket_keys = fixed_ticket_keys(99);
  Resumption r = resume(resumable_config(), other);
  ASSERT_TRUE(r.open) << r.error;
  EXPECT_FALSE(r.reused);
}

TEST(DtlsResumption, RotatedKeysStillResumeTicketsOfThePreviousKey) {
  auto ctx = DtlsContext::create(resumable_config().server_context);
  ASSERT_TRUE(ctx.ok());
  PairConfig c = resumable_config();
  c.shared_server_context = *ctx;
  DtlsPair a(c);
  ASSERT_TRUE(a.start());
  a.run_handshake();
  ASSERT_TRUE(a.both_open());
  // Rotate: the current key becomes the previous one.
  auto before = (*ctx)->ticket_keys().get();
  ASSERT_TRUE((*ctx)->ticket_keys().set(fixed_ticket_keys(50)).ok());
  EXPECT_NE((*ctx)->ticket_keys().get(), before);
  PairConfig again = c;
  again.client.session = *decode_session(session_of(a));
  DtlsPair b(again);
  ASSERT_TRUE(b.start());
  b.run_handshake();
  ASSERT_TRUE(b.both_open());
  EXPECT_TRUE(b.client()->is_session_reused());
  // The ticket was renewed under the current key (node's getSession() gives
  // the renewed session; the 'session' event is for new sessions only).
  EXPECT_NE(b.client()->tls_ticket(), a.client()->tls_ticket());
  std::vector<std::uint8_t> renewed = b.client()->session();
  ASSERT_FALSE(renewed.empty());
  PairConfig third = c;
  third.client.session = *decode_session(renewed);
  DtlsPair d(third);
  ASSERT_TRUE(d.start());
  d.run_handshake();
  ASSERT_TRUE(d.both_open());
  EXPECT_TRUE(d.client()->is_session_reused());
  // Two rotations on, the old key is gone: a full handshake.
  ASSERT_TRUE((*ctx)->ticket_keys().set(fixed_ticket_keys(60)).ok());
  ASSERT_TRUE((*ctx)->ticket_keys().set(fixed_ticket_keys(70)).ok());
  DtlsPair e(third);
  ASSERT_TRUE(e.start());
  e.run_handshake();
  ASSERT_TRUE(e.both_open());
  EXPECT_FALSE(e.client()->is_session_reused());
  EXPECT_EQ((*ctx)->ticket_keys().set(fixed_ticket_keys(1)).ok(), true);
  EXPECT_EQ(
      (*ctx)->ticket_keys().set(std::vector<std::uint8_t>(47)).error().code,
      "ERR_INVALID_ARG_VALUE");
}

TEST(DtlsResumption, TicketsOffMeansNoResumption) {
  PairConfig c = resumable_config();
  c.server_context.session_tickets = false;
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  // No ticket, and the server keeps no cache (so sends no session id):
  // nothing resumable is handed out.
  EXPECT_TRUE(session_of(p).empty());
  EXPECT_TRUE(p.client()->tls_ticket().empty());
}

TEST(DtlsResumption, ResumptionIsJudgedByTheNewConnectionsChecks) {
  // The session came from sfu.example; this connection wants another name.
  PairConfig other_name = resumable_config();
  other_name.client.servername = "other.example";
  Resumption r = resume(resumable_config(), other_name);
  EXPECT_FALSE(r.open);
  EXPECT_NE(r.error.find("ERR_TLS_CERT_ALTNAME_INVALID"), std::string::npos)
      << r.error;
  // The other way round: a session made under a name mismatch (accepted with
  // reject_unauthorized false) resumes authorized for the right name.
  PairConfig mismatched = resumable_config();
  mismatched.client.servername = "other.example";
  mismatched.client.reject_unauthorized = false;
  Resumption right = resume(mismatched, resumable_config());
  ASSERT_TRUE(right.open) << right.error;  // resume() expects authorized()
  EXPECT_TRUE(right.reused);
  // Pinned (WebRTC) sessions never resume: no ticket is asked for or issued
  // (nothing resumable is handed out), and a session offered anyway ends in a
  // full handshake under the new pins.
  PairConfig pinned = webrtc_config();
  pinned.server_context.ticket_keys = fixed_ticket_keys(7);
  DtlsPair w(pinned);
  ASSERT_TRUE(w.start());
  w.run_handshake();
  ASSERT_TRUE(w.both_open());
  EXPECT_TRUE(session_of(w).empty());
  EXPECT_TRUE(w.client()->tls_ticket().empty());
  pinned.server_context.credentials = pki().server;
  pinned.client.peer_fingerprints = {fp(pki().server)};
  Resumption again = resume(resumable_config(), pinned);
  ASSERT_TRUE(again.open) << again.error;
  EXPECT_FALSE(again.reused);
  PairConfig wrong = pinned;
  wrong.client.peer_fingerprints = {fp(test_credentials("stranger"))};
  Resumption p = resume(resumable_config(), wrong);
  EXPECT_FALSE(p.open);
  EXPECT_NE(p.error.find("ERR_DTLS_CERT_FINGERPRINT_MISMATCH"),
            std::string::npos)
      << p.error;
}

TEST(DtlsResumption, BadSessionBlobsAreRefused) {
  EXPECT_EQ(decode_session(std::vector<std::uint8_t>{1, 2, 3}).error().code,
            "ERR_INVALID_ARG_VALUE");
  EXPECT_FALSE(decode_session({}).ok());
  DtlsPair a(resumable_config());
  ASSERT_TRUE(a.start());
  a.run_handshake();
  std::vector<std::uint8_t> blob = session_of(a);
  ASSERT_FALSE(blob.empty());
  blob.push_back(0);  // trailing garbage
  EXPECT_FALSE(decode_session(blob).ok());
}

// ---- PSK (RFC 4279)

PairConfig psk_config(std::string server_key = "0123456789abcdef") {
  PairConfig c;
  c.client_context.ciphers = "PSK-AES128-GCM-SHA256";
  c.server_context.ciphers = "PSK-AES128-GCM-SHA256";
  c.client_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
  c.server_context.srtp_profiles = "SRTP_AEAD_AES_128_GCM";
  c.server.psk_identity_hint = "sensors";
  c.server.psk_server = [server_key](std::string_view identity)
      -> std::optional<std::vector<std::uint8_t>> {
    if (identity != "device-7") return std::nullopt;
    return std::vector<std::uint8_t>(server_key.begin(), server_key.end());
  };
  c.client.psk_client = [](std::string_view hint)
      -> std::optional<AssociationOptions::PskIdentity> {
    if (hint != "sensors") return std::nullopt;
    std::string key = "0123456789abcdef";
    return AssociationOptions::PskIdentity{
        "device-7", std::vector<std::uint8_t>(key.begin(), key.end())};
  };
  return c;
}

TEST(DtlsPsk, HandshakeWithoutCertificates) {
  DtlsPair p(psk_config());
  ASSERT_TRUE(p.start()) << p.setup_error->to_string();
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_EQ(p.client()->cipher()->name, "PSK-AES128-GCM-SHA256");
  EXPECT_TRUE(p.client()->authorized());
  EXPECT_TRUE(p.server()->authorized());
  EXPECT_FALSE(p.client()->peer_certificate().has_value());
  EXPECT_EQ(p.client()->srtp_profile(), "SRTP_AEAD_AES_128_GCM");
  // Plain PSK has no ephemeral key.
  ASSERT_TRUE(p.client()->ephemeral_key_info().has_value());
  EXPECT_EQ(p.client()->ephemeral_key_info()->type, "");
  auto ck = p.client()->export_keying_material(56, "EXTRACTOR-dtls_srtp");
  auto sk = p.server()->export_keying_material(56, "EXTRACTOR-dtls_srtp");
  ASSERT_TRUE(ck.ok() && sk.ok());
  EXPECT_EQ(*ck, *sk);
}

TEST(DtlsPsk, WrongKeyUnknownIdentityAndRefusals) {
  {
    DtlsPair p(psk_config("fedcba9876543210"));
    ASSERT_TRUE(p.start());
    p.run_handshake();
    EXPECT_FALSE(p.both_open());
    ASSERT_TRUE(p.server_error().has_value());  // the Finished MAC fails
  }
  {
    PairConfig c = psk_config();
    c.client.psk_client =
        [](std::string_view) -> std::optional<AssociationOptions::PskIdentity> {
      return AssociationOptions::PskIdentity{"intruder", {1, 2, 3}};
    };
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.server_error().has_value());
    EXPECT_EQ(p.server_error()->code, "ERR_DTLS_PSK_UNKNOWN_IDENTITY");
    ASSERT_TRUE(p.client_error().has_value());
    EXPECT_EQ(p.client_error()->code, "ERR_DTLS_ALERT_UNKNOWN_PSK_IDENTITY");
  }
  {
    PairConfig c = psk_config();
    c.server.psk_identity_hint = "other";  // the client refuses this hint
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.client_error().has_value());
    EXPECT_EQ(p.client_error()->code, "ERR_DTLS_PSK_REFUSED");
  }
  {
    PairConfig c = psk_config();
    c.client.psk_client =
        [](std::string_view) -> std::optional<AssociationOptions::PskIdentity> {
      return AssociationOptions::PskIdentity{std::string(129, 'x'), {1}};
    };
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.client_error().has_value());
    EXPECT_EQ(p.client_error()->code, "ERR_DTLS_PSK_INVALID");
  }
  {
    PairConfig c = psk_config();
    c.server.psk_identity_hint = std::string(129, 'h');
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.accept_error.has_value());
    EXPECT_EQ(p.accept_error->code, "ERR_INVALID_ARG_VALUE");
  }
}

// ---- SNI (RFC 6066 §3)

TEST(DtlsSni, CallbackChoosesTheCertificate) {
  certs::GenerateOptions g;
  g.common_name = "b.example";
  g.subject_alt_names = {"DNS:b.example"};
  g.issuer = &pki().root;
  certs::Credentials b = generate(g);
  DtlsContextOptions bo;
  bo.credentials = b;
  auto b_ctx = DtlsContext::create(bo);
  ASSERT_TRUE(b_ctx.ok());
  std::vector<std::string> asked;
  auto config = [&](std::string name) {
    PairConfig c = ca_config();
    c.client.servername = name;
    c.server.sni_callback = [&, ctx = *b_ctx](std::string_view servername)
        -> Result<std::shared_ptr<const DtlsContext>> {
      asked.emplace_back(servername);
      if (servername == "b.example") return ctx;
      if (servername == "blocked.example")
        return make_error("ERR_SNI_REFUSED", "not served here");
      return std::shared_ptr<const DtlsContext>();
    };
    return c;
  };
  DtlsPair p(config("b.example"));
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open()) << describe(p);
  EXPECT_TRUE(*p.client()->peer_certificate() == b.leaf());
  EXPECT_TRUE(*p.server()->certificate() == b.leaf());
  EXPECT_EQ(p.server()->servername(), "b.example");
  EXPECT_EQ(p.client()->servername(), "b.example");
  EXPECT_TRUE(p.client()->authorized());

  DtlsPair d(config("sfu.example"));  // null: our own context
  ASSERT_TRUE(d.start());
  d.run_handshake();
  ASSERT_TRUE(d.both_open()) << describe(d);
  EXPECT_TRUE(*d.client()->peer_certificate() == pki().server.leaf());

  DtlsPair x(config("blocked.example"));
  ASSERT_TRUE(x.start());
  x.run_handshake();
  ASSERT_TRUE(x.server_error().has_value());
  EXPECT_EQ(x.server_error()->code, "ERR_SNI_REFUSED");
  ASSERT_TRUE(x.client_error().has_value());
  EXPECT_EQ(x.client_error()->code, "ERR_DTLS_ALERT_UNRECOGNIZED_NAME");
  EXPECT_EQ(asked, (std::vector<std::string>{"b.example", "sfu.example",
                                             "blocked.example"}));
}

// ---- Context options

certs::Credentials rsa_server() {
  certs::GenerateOptions g;
  g.key_type = certs::KeyType::kRsa;
  g.common_name = "sfu.example";
  g.subject_alt_names = {"DNS:sfu.example"};
  g.issuer = &pki().root;
  return generate(g);
}

TEST(DtlsContextOptions, RsaAndEcdsaCertificatesSideBySide) {
  static const certs::Credentials rsa = rsa_server();
  for (const char* cipher :
       {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"}) {
    PairConfig c = ca_config();
    c.server_context.extra_credentials = {rsa};
    c.client_context.ciphers = cipher;
    DtlsPair p(c);
    ASSERT_TRUE(p.start()) << p.setup_error->to_string();
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << cipher << describe(p);
    EXPECT_EQ(p.client()->cipher()->name, cipher);
    const bool want_rsa =
        std::string_view(cipher).find("ECDHE-RSA") != std::string_view::npos;
    EXPECT_EQ(*p.client()->peer_certificate() == rsa.leaf(), want_rsa)
        << cipher;
  }
  PairConfig two = ca_config();
  two.server_context.extra_credentials = {test_credentials("another-ec")};
  auto r = DtlsContext::create(two.server_context);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ERR_INVALID_ARG_VALUE");
}

std::string crl_pem(const certs::Credentials& issuer,
                    const std::vector<const certs::Certificate*>& revoked) {
  ossl::Ptr<X509_CRL, X509_CRL_free> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(),
                           X509_get_subject_name(issuer.leaf().get()));
  ossl::Ptr<ASN1_TIME, ASN1_TIME_free> last(
      ASN1_TIME_adj(nullptr, time(nullptr), -1, 0));
  ossl::Ptr<ASN1_TIME, ASN1_TIME_free> next(
      ASN1_TIME_adj(nullptr, time(nullptr), 30, 0));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const certs::Certificate* c : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(c->get()));
    X509_REVOKED_set_revocationDate(r, last.get());
    X509_CRL_add0_revoked(crl.get(), r);
  }
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256());
  ossl::BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(out.get(), crl.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

TEST(DtlsContextOptions, CrlRevokesAPeer) {
  PairConfig c = ca_config();
  c.client_context.crl = {crl_pem(pki().root, {&pki().server.leaf()})};
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.client_error().has_value());
  EXPECT_EQ(p.client_error()->code, "CERT_REVOKED");
  // A CRL revoking someone else: the handshake goes through.
  PairConfig ok = ca_config();
  ok.client_context.crl = {crl_pem(pki().root, {&pki().client.leaf()})};
  DtlsPair q(ok);
  ASSERT_TRUE(q.start());
  q.run_handshake();
  ASSERT_TRUE(q.both_open()) << describe(q);
  // Not a CRL.
  DtlsContextOptions bad;
  bad.crl = {"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"};
  EXPECT_EQ(DtlsContext::create(bad).error().code, "ERR_CRL_PEM_INVALID");
  bad.crl = {pki().root.leaf().to_pem()};
  EXPECT_EQ(DtlsContext::create(bad).error().code, "ERR_CRL_PEM_INVALID");
}

TEST(DtlsContextOptions, EcdhCurveChoosesTheGroup) {
  struct Case {
    const char* curve;
    const char* name;
    int bits;
  } cases[] = {{"P-384", "secp384r1", 384},
               {"X25519", "X25519", 253},
               {"P-521", "secp521r1", 521}};
  for (const Case& k : cases) {
    PairConfig c = ca_config();
    // P-256 stays listed: the server's ECDSA certificate is on it (TLS 1.2
    // ECDSA needs the certificate's curve among the client's groups).
    c.server_context.ecdh_curve = std::string(k.curve) + ":P-256";
    c.client_context.ecdh_curve = std::string(k.curve) + ":P-256";
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << k.curve << describe(p);
    auto info = p.client()->ephemeral_key_info();
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->type, "ECDH");
    EXPECT_EQ(info->name, k.name);
    EXPECT_EQ(info->size, k.bits);
    EXPECT_FALSE(p.server()->ephemeral_key_info().has_value());  // node: null
  }
  PairConfig mismatch = ca_config();
  mismatch.server_context.ecdh_curve = "P-384";
  mismatch.client_context.ecdh_curve = "X25519";
  DtlsPair p(mismatch);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  EXPECT_FALSE(p.both_open());
  DtlsContextOptions bad;
  bad.ecdh_curve = "P-999";
  EXPECT_EQ(DtlsContext::create(bad).error().code, "ERR_INVALID_ARG_VALUE");
  bad.ecdh_curve = "";
  EXPECT_EQ(DtlsContext::create(bad).error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(DtlsContextOptions, HonorCipherOrderPicksTheServersFirstChoice) {
  for (bool honor : {false, true}) {
    PairConfig c = ca_config();
    c.client_context.ciphers =
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384";
    c.server_context.ciphers =
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";
    c.server_context.honor_cipher_order = honor;
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    EXPECT_EQ(p.client()->cipher()->name,
              honor ? "ECDHE-ECDSA-AES256-GCM-SHA384"
                    : "ECDHE-ECDSA-CHACHA20-POLY1305");
  }
}

TEST(DtlsContextOptions, SigAlgsLimitTheSharedSignatureAlgorithms) {
  PairConfig c = ca_config();
  DtlsPair all(c);
  ASSERT_TRUE(all.start());
  all.run_handshake();
  ASSERT_TRUE(all.both_open());
  auto shared = all.server()->shared_sigalgs();
  EXPECT_GT(shared.size(), 3u);
  EXPECT_NE(std::find(shared.begin(), shared.end(), "ECDSA+SHA256"),
            shared.end());
  c.server_context.sig_algs = "ECDSA+SHA256:RSA-PSS+SHA256";
  c.client_context.sig_algs = "ECDSA+SHA256:ECDSA+SHA384";
  DtlsPair few(c);
  ASSERT_TRUE(few.start());
  few.run_handshake();
  ASSERT_TRUE(few.both_open()) << describe(few);
  EXPECT_EQ(few.server()->shared_sigalgs(),
            std::vector<std::string>{"ECDSA+SHA256"});
  PairConfig none = ca_config();
  none.client_context.sig_algs = "RSA+SHA256";  // the server's key is ECDSA
  DtlsPair n(none);
  ASSERT_TRUE(n.start());
  n.run_handshake();
  EXPECT_FALSE(n.both_open());
  DtlsContextOptions bad;
  bad.sig_algs = "NOPE+SHA1";
  EXPECT_EQ(DtlsContext::create(bad).error().code, "ERR_INVALID_ARG_VALUE");
}

std::string ffdhe_pem(int bits) {
  ossl::EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY_paramgen_init(pctx.get());
  std::string group = "ffdhe" + std::to_string(bits);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("group", group.data(), 0),
      OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX_set_params(pctx.get(), params);
  EVP_PKEY* raw = nullptr;
  EVP_PKEY_paramgen(pctx.get(), &raw);
  ossl::EvpPkeyPtr key(raw);
  ossl::BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_Parameters(out.get(), key.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

TEST(DtlsContextOptions, DhparamEnablesFiniteFieldDhe) {
  static const certs::Credentials rsa = rsa_server();
  for (std::string dh : {std::string("auto"), ffdhe_pem(2048)}) {
    PairConfig c = ca_config();
    c.server_context.credentials = rsa;
    c.server_context.dhparam = dh;
    // The default list has no DHE suites: `ciphers` widens it.
    c.server_context.ciphers = "DHE-RSA-AES128-GCM-SHA256";
    c.client_context.ciphers = "DHE-RSA-AES128-GCM-SHA256";
    DtlsPair p(c);
    ASSERT_TRUE(p.start()) << p.setup_error->to_string();
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    auto info = p.client()->ephemeral_key_info();
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->type, "DH");
    EXPECT_GE(info->size, 2048);
  }
  // Without dhparam, DHE suites are unavailable (node: "DHE ciphers will not
  // be available").
  PairConfig c = ca_config();
  c.server_context.credentials = rsa;
  c.server_context.ciphers = "DHE-RSA-AES128-GCM-SHA256";
  c.client_context.ciphers = "DHE-RSA-AES128-GCM-SHA256";
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  EXPECT_FALSE(p.both_open());
  DtlsContextOptions bad;
  bad.dhparam = "not pem";
  EXPECT_EQ(DtlsContext::create(bad).error().code, "ERR_INVALID_ARG_VALUE");
  bad.dhparam = pki().root.leaf().to_pem();
  EXPECT_EQ(DtlsContext::create(bad).error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(DtlsContextOptions, VersionRange) {
  {
    PairConfig c = ca_config();
    for (auto* o : {&c.client_context, &c.server_context}) {
      o->min_version = "DTLSv1";
      o->max_version = "DTLSv1";
      o->ciphers = "DEFAULT:@SECLEVEL=0";
    }
    DtlsPair p(c);
    ASSERT_TRUE(p.start()) << p.setup_error->to_string();
    p.run_handshake();
    ASSERT_TRUE(p.both_open()) << describe(p);
    EXPECT_EQ(p.client()->protocol(), "DTLSv1");
  }
  {
    // DTLS 1.0 is refused unless asked for: the server keeps its default.
    PairConfig c = ca_config();
    c.client_context.min_version = "DTLSv1";
    c.client_context.max_version = "DTLSv1";
    c.client_context.ciphers = "DEFAULT:@SECLEVEL=0";
    DtlsPair p(c);
    ASSERT_TRUE(p.start());
    p.run_handshake();
    ASSERT_TRUE(p.server_error().has_value());
    EXPECT_EQ(p.server_error()->code, "ERR_DTLS_PROTOCOL_VERSION");
  }
}

TEST(DtlsContextOptions, DefaultsAreNodes) {
  EXPECT_EQ(kDefaultMinVersion, "DTLSv1.2");
  EXPECT_EQ(kDefaultMaxVersion, "DTLSv1.2");
  EXPECT_EQ(kDefaultEcdhCurve, "auto");
  DtlsContextOptions o;
  EXPECT_EQ(o.min_version, kDefaultMinVersion);
  EXPECT_EQ(o.max_version, kDefaultMaxVersion);
  EXPECT_EQ(o.ecdh_curve, kDefaultEcdhCurve);
  EXPECT_EQ(o.session_timeout, std::chrono::seconds(300));
  EXPECT_TRUE(o.session_tickets);
  // The default list has no PSK suites: a PSK-only peer finds none.
  PairConfig c = psk_config();
  c.server_context.ciphers.clear();
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  EXPECT_FALSE(p.both_open());
}

// ---- Session extras

TEST(DtlsSessionExtras, FinishedMessagesMatchAcrossSides) {
  DtlsPair p(ca_config());
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  // TLS 1.2 Finished: 12 bytes of verify_data (RFC 5246 §7.4.9).
  EXPECT_EQ(p.client()->finished().size(), 12u);
  EXPECT_EQ(p.client()->finished(), p.server()->peer_finished());
  EXPECT_EQ(p.server()->finished(), p.client()->peer_finished());
  EXPECT_NE(p.client()->finished(), p.server()->finished());
  EXPECT_EQ(p.client()->servername(), "sfu.example");
  EXPECT_TRUE(*p.server()->certificate() == pki().server.leaf());
  EXPECT_FALSE(p.client()->certificate().has_value());  // no client cert
}

TEST(DtlsSessionExtras, MaxSendFragmentLimitsMessages) {
  PairConfig c = ca_config();
  c.client.mtu = 1500;
  c.server.mtu = 1500;
  DtlsPair p(c);
  ASSERT_TRUE(p.start());
  p.run_handshake();
  ASSERT_TRUE(p.both_open());
  const size_t at_mtu = p.client()->max_message_size();
  EXPECT_GT(at_mtu, 1000u);
  EXPECT_FALSE(p.client()->set_max_send_fragment(511));
  EXPECT_FALSE(p.client()->set_max_send_fragment(16385));
  EXPECT_EQ(p.client()->max_message_size(), at_mtu);
  EXPECT_TRUE(p.client()->set_max_send_fragment(512));
  EXPECT_EQ(p.client()->max_message_size(), 512u);
  std::vector<std::uint8_t> big(513, 'x');
  EXPECT_EQ(p.client()->send(big).error().code, "ERR_DTLS_MESSAGE_TOO_LARGE");
  big.resize(512);
  ASSERT_TRUE(p.client()->send(big).ok());
  p.run_for(std::chrono::milliseconds(10));
  EXPECT_EQ(p.received_by_server(), big);
}

}  // namespace
}  // namespace dtls

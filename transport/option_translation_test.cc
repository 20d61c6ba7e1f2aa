#include "transport/option_translation.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/failing_random.h"

namespace dtls::detail {
namespace {

using std::chrono::milliseconds;

struct Pem {
  std::string cert, key, fingerprint;
};

const Pem& pem() {
  static const Pem p = [] {
    auto c = std::move(certs::generate_certificate()).value();
    return Pem{c.leaf().to_pem(), c.key.to_pem(),
               certs::Fingerprint::of(c.leaf(), certs::HashAlgorithm::kSha256)
                   .to_sdp()};
  }();
  return p;
}

ListenOptions listen_options() {
  ListenOptions o;
  o.cert = pem().cert;
  o.key = pem().key;
  o.fingerprints = {pem().fingerprint};
  o.host = "127.0.0.1";
  o.port = 5004;
  return o;
}

ConnectOptions connect_options() {
  ConnectOptions o;
  o.fingerprints = {pem().fingerprint};
  return o;
}

TEST(OptionTranslation, ListenOptionsReachTheEndpointAndAssociation) {
  ListenOptions o = listen_options();
  o.mtu = 1400;
  o.handshake_timeout = milliseconds(5000);
  o.retransmit_initial = milliseconds(200);
  o.retransmit_max = milliseconds(4000);
  o.adaptive_retransmit = true;
  o.initial_rtt = milliseconds(80);
  o.idle_timeout = milliseconds(30000);
  o.media_idle_timeout = milliseconds(45000);
  o.reject_unauthorized = false;
  o.request_cert = true;
  o.psk_identity_hint = "hint";
  o.srtp_replay_window = 4096;
  o.send_queue_limit = 77;
  o.always_queue_sends = true;
  o.recv_buffer_size = 1 << 20;
  o.send_buffer_size = 1 << 19;
  o.udp_offload = false;
  o.max_sessions = 12;
  o.max_half_open_per_address = 3;
  o.max_half_open = 9;
  o.half_open_timeout = milliseconds(2000);
  o.half_open_grace = milliseconds(500);
  o.reuse_port = true;
  o.cookie_secret = std::vector<std::uint8_t>(32, 7);
  o.ice_lite = true;
  auto plan = translate_listen(o);
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_EQ(plan->bind.to_string(), "127.0.0.1:5004");
  const UdpEndpointOptions& e = plan->endpoint;
  ASSERT_TRUE(e.context);
  EXPECT_TRUE(e.context->has_certificate());
  EXPECT_TRUE(e.accept_incoming);
  EXPECT_FALSE(e.connect_socket);
  EXPECT_EQ(e.max_sessions, 12u);
  EXPECT_EQ(e.half_open.per_address, 3u);
  EXPECT_EQ(e.half_open.total, 9u);
  EXPECT_EQ(e.half_open.timeout, milliseconds(2000));
  EXPECT_EQ(e.half_open.grace, milliseconds(500));
  EXPECT_EQ(e.receive_batch, 16u);
  EXPECT_TRUE(e.reuse_port);
  ASSERT_TRUE(e.cookie_master_secret);
  EXPECT_EQ((*e.cookie_master_secret)[31], 7);
  EXPECT_TRUE(e.ice_lite);
  EXPECT_EQ(e.srtp.replay_window, 4096u);
  EXPECT_EQ(e.max_queued_sends, 77u);
  EXPECT_TRUE(e.always_queue_sends);
  EXPECT_EQ(e.receive_buffer_size, size_t{1} << 20);
  EXPECT_EQ(e.send_buffer_size, size_t{1} << 19);
  EXPECT_FALSE(e.segment_sends);
  EXPECT_FALSE(e.coalesce_receives);
  const AssociationOptions& a = e.server_association;
  ASSERT_EQ(a.peer_fingerprints.size(), 1u);
  EXPECT_EQ(a.peer_fingerprints[0].to_sdp(), pem().fingerprint);
  EXPECT_FALSE(a.reject_unauthorized);
  EXPECT_TRUE(a.request_cert);
  EXPECT_EQ(a.psk_identity_hint, "hint");
  EXPECT_EQ(a.mtu, 1400u);
  EXPECT_EQ(a.handshake_timeout, milliseconds(5000));
  EXPECT_EQ(a.initial_retransmit_timeout, milliseconds(200));
  EXPECT_EQ(a.max_retransmit_timeout, milliseconds(4000));
  EXPECT_TRUE(a.adaptive_retransmit);
  EXPECT_EQ(a.initial_rtt, milliseconds(80));
  EXPECT_EQ(a.idle_timeout, milliseconds(30000));
  EXPECT_EQ(a.media_idle_timeout, milliseconds(45000));
  EXPECT_TRUE(a.keylog);
}

// The public defaults are the layers' own, stated once (dtls_options.h reads
// them from the structs below).
TEST(OptionTranslation, DefaultsAreTheLayersDefaults) {
  auto plan = translate_listen(listen_options());
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  const AssociationOptions defaults;
  const AssociationOptions& a = plan->endpoint.server_association;
  EXPECT_EQ(a.mtu, defaults.mtu);
  EXPECT_EQ(a.handshake_timeout, defaults.handshake_timeout);
  EXPECT_EQ(a.initial_retransmit_timeout, defaults.initial_retransmit_timeout);
  EXPECT_EQ(a.max_retransmit_timeout, defaults.max_retransmit_timeout);
  EXPECT_EQ(a.adaptive_retransmit, defaults.adaptive_retransmit);
  EXPECT_EQ(a.initial_rtt, defaults.initial_rtt);
  EXPECT_EQ(a.idle_timeout, defaults.idle_timeout);
  EXPECT_EQ(a.media_idle_timeout, defaults.media_idle_timeout);
  EXPECT_EQ(plan->endpoint.srtp.replay_window,
            srtp::ContextOptions{}.replay_window);
  const HalfOpenLimits limits;
  EXPECT_EQ(plan->endpoint.half_open.per_address, limits.per_address);
  EXPECT_EQ(plan->endpoint.half_open.total, limits.total);
  EXPECT_FALSE(plan->endpoint.cookie_master_secret);
  EXPECT_EQ(plan->bind.to_string(), "127.0.0.1:5004");
  ListenOptions any = listen_options();
  any.host = ListenOptions{}.host;
  any.port = 0;
  auto wildcard = translate_listen(any);
  ASSERT_TRUE(wildcard.ok());
  EXPECT_EQ(wildcard->bind.to_string(), "0.0.0.0:0");
}

// cert, key and ca take a file path as well as PEM text; a path that cannot
// be read fails with the option's PEM code, naming the option and the path.
TEST(OptionTranslation, PemOrAFilePath) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  };
  ListenOptions o = listen_options();
  o.cert = write("cert.pem", pem().cert);
  o.key = write("key.pem", pem().key);
  o.ca = {write("ca.pem", pem().cert)};
  o.fingerprints = {};
  auto plan = translate_listen(o);
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  ASSERT_TRUE(plan->endpoint.context->has_certificate());
  EXPECT_EQ(plan->endpoint.context->options().ca.size(), 1u);
  o.key = dir + "/missing.pem";
  auto missing = translate_listen(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "ERR_KEY_PEM_INVALID");
  EXPECT_NE(missing.error().message.find("key: neither PEM text nor a "
                                         "readable file"),
            std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("missing.pem"), std::string::npos);
  o.key = pem().key;
  o.ca = {dir + "/nope.pem"};
  auto bad_ca = translate_listen(o);
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_EQ(bad_ca.error().code, "ERR_CA_PEM_INVALID");
  EXPECT_NE(bad_ca.error().message.find("ca[0]"), std::string::npos)
      << bad_ca.error().message;
}

TEST(OptionTranslation, AGivenSecureContextIsUsedAsIs) {
  SecureOptions so;
  so.cert = pem().cert;
  so.key = pem().key;
  auto ctx = create_secure_context(so);
  ASSERT_TRUE(ctx.ok()) << ctx.error().to_string();
  ListenOptions o = listen_options();
  o.secure_context = *ctx;
  o.cert = "not read";  // the context supplies it
  auto plan = translate_listen(o);
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_EQ(plan->endpoint.context, SecureContextAccess::get(*ctx));
}

TEST(OptionTranslation, SniCallbackHandsOverTheContextOrTheError) {
  SecureOptions so;
  so.cert = pem().cert;
  so.key = pem().key;
  auto named = create_secure_context(so);
  ASSERT_TRUE(named.ok());
  ListenOptions o = listen_options();
  o.sni_callback = [&](std::string_view name) -> Result<SecureContext> {
    if (name == "known") return *named;
    return make_error("ERR_UNKNOWN_NAME", std::string(name));
  };
  auto plan = translate_listen(o);
  ASSERT_TRUE(plan.ok());
  const auto& sni = plan->endpoint.server_association.sni_callback;
  ASSERT_TRUE(sni);
  auto known = sni("known");
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(*known, SecureContextAccess::get(*named));
  auto unknown = sni("other");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "ERR_UNKNOWN_NAME");
}

TEST(OptionTranslation, PskServerNeedsNoCertificate) {
  ListenOptions o = listen_options();
  o.cert.clear();
  o.key.clear();
  o.fingerprints.clear();
  o.ciphers = "PSK-AES128-GCM-SHA256";
  o.psk_callback = [](std::string_view) {
    return std::optional<std::vector<std::uint8_t>>();
  };
  auto plan = translate_listen(o);
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_TRUE(plan->endpoint.server_association.psk_server);
  EXPECT_FALSE(plan->endpoint.context->has_certificate());
}

TEST(OptionTranslation, ConnectOptionsMakeAClientEndpoint) {
  ConnectOptions o = connect_options();
  o.bind_host = "127.0.0.1";
  o.bind_port = 6000;
  o.psk_callback = [](std::string_view) {
    return std::optional<AssociationOptions::PskIdentity>();
  };
  auto plan = translate_connect("example.com", 5004, o);
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_TRUE(plan->endpoint.connect_socket);
  EXPECT_FALSE(plan->endpoint.accept_incoming);
  EXPECT_EQ(plan->endpoint.receive_batch, 1u);
  EXPECT_EQ(plan->association.servername, "example.com");
  EXPECT_TRUE(plan->association.psk_client);
  EXPECT_EQ(plan->association.peer_fingerprints.size(), 1u);
  EXPECT_EQ(plan->bind_host, "127.0.0.1");
  EXPECT_EQ(plan->bind_port, 6000);
  o.servername = "media.example.com";
  auto named = translate_connect("192.0.2.1", 5004, o);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->association.servername, "media.example.com");
}

TEST(OptionTranslation, ClientBindAddressFollowsTheServersFamily) {
  auto plan = translate_connect("h", 1, connect_options());
  ASSERT_TRUE(plan.ok());
  auto v4 = PeerAddress::parse("192.0.2.1", 5004).value();
  auto v6 = PeerAddress::parse("2001:db8::1", 5004).value();
  auto bind = client_bind_address(*plan, v4);
  ASSERT_TRUE(bind.ok());
  EXPECT_EQ(bind->to_string(), "0.0.0.0:0");
  bind = client_bind_address(*plan, v6);  // the default becomes "::"
  ASSERT_TRUE(bind.ok());
  EXPECT_EQ(bind->to_string(), "[::]:0");
  plan->bind_host = "localhost";
  plan->bind_port = 7000;
  bind = client_bind_address(*plan, v6);
  ASSERT_TRUE(bind.ok());
  EXPECT_EQ(bind->to_string(), "[::1]:7000");
  plan->bind_host = "127.0.0.1";
  bind = client_bind_address(*plan, v6);
  ASSERT_FALSE(bind.ok());
  EXPECT_EQ(bind.error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(OptionTranslation, IceSessionConfig) {
  IceSessionConfig c;
  c.fingerprints = {pem().fingerprint};
  c.remote_ufrag = "peer";
  c.dtls_client = true;
  c.consent_timeout = milliseconds(9000);
  auto o = translate_ice_session(c);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_FALSE(o->local.ufrag.empty());  // generated
  EXPECT_FALSE(o->local.pwd.empty());
  EXPECT_EQ(o->remote_ufrag, "peer");
  EXPECT_TRUE(o->dtls_client);
  EXPECT_EQ(o->consent_timeout, milliseconds(9000));
  ASSERT_EQ(o->association.peer_fingerprints.size(), 1u);
  c.local = {"ufrag", "a-password-of-22-chars"};
  auto given = translate_ice_session(c);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->local.ufrag, "ufrag");
  EXPECT_EQ(given->local.pwd, "a-password-of-22-chars");
}

TEST(OptionTranslation, IceSessionErrors) {
  IceSessionConfig none;
  auto o = translate_ice_session(none);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, "ERR_INVALID_ARG_VALUE");
  IceSessionConfig bad;
  bad.fingerprints = {"sha-256 zz"};
  o = translate_ice_session(bad);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, "ERR_SDP_FINGERPRINT_INVALID");
  IceSessionConfig fine;
  fine.fingerprints = {pem().fingerprint};
  testing::FailingRandom no_random;
  o = translate_ice_session(fine);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, "ERR_RANDOM");
}

struct ListenCase {
  const char* name;
  std::function<void(ListenOptions&)> mutate;
  const char* code;
};

// Every check listen() makes before it touches a socket, with its code.
TEST(OptionTranslation, ListenErrors) {
  const ListenCase cases[] = {
      {"no port", [](ListenOptions& o) { o.port.reset(); },
       "ERR_INVALID_ARG_VALUE"},
      {"no sessions", [](ListenOptions& o) { o.max_sessions = 0; },
       "ERR_OUT_OF_RANGE"},
      {"no cert or key",
       [](ListenOptions& o) {
         o.cert.clear();
         o.key.clear();
       },
       "ERR_INVALID_ARG_VALUE"},
      {"no key", [](ListenOptions& o) { o.key.clear(); },
       "ERR_INVALID_ARG_VALUE"},
      {"cert garbage", [](ListenOptions& o) { o.cert = "nope"; },
       "ERR_CERT_PEM_INVALID"},
      {"empty secure context",
       [](ListenOptions& o) {
         SecureOptions none;
         o.secure_context = create_secure_context(none).value();
       },
       "ERR_INVALID_ARG_VALUE"},
      {"bad fingerprint",
       [](ListenOptions& o) { o.fingerprints = {"sha-256 zz"}; },
       "ERR_SDP_FINGERPRINT_INVALID"},
      {"mtu low", [](ListenOptions& o) { o.mtu = 255; }, "ERR_OUT_OF_RANGE"},
      {"mtu high", [](ListenOptions& o) { o.mtu = 65536; }, "ERR_OUT_OF_RANGE"},
      {"handshake timeout",
       [](ListenOptions& o) { o.handshake_timeout = milliseconds(0); },
       "ERR_OUT_OF_RANGE"},
      {"retransmit initial",
       [](ListenOptions& o) { o.retransmit_initial = milliseconds(19); },
       "ERR_OUT_OF_RANGE"},
      {"retransmit max below initial",
       [](ListenOptions& o) {
         o.retransmit_initial = milliseconds(1000);
         o.retransmit_max = milliseconds(999);
       },
       "ERR_OUT_OF_RANGE"},
      {"initial rtt",
       [](ListenOptions& o) { o.initial_rtt = std::chrono::seconds(61); },
       "ERR_OUT_OF_RANGE"},
      {"idle timeout",
       [](ListenOptions& o) { o.idle_timeout = std::chrono::hours(25); },
       "ERR_OUT_OF_RANGE"},
      {"media idle timeout",
       [](ListenOptions& o) { o.media_idle_timeout = milliseconds(-5); },
       "ERR_OUT_OF_RANGE"},
      {"psk hint",
       [](ListenOptions& o) { o.psk_identity_hint = std::string(129, 'h'); },
       "ERR_INVALID_ARG_VALUE"},
      {"replay window low", [](ListenOptions& o) { o.srtp_replay_window = 63; },
       "ERR_OUT_OF_RANGE"},
      // libsrtp refuses 0x8000 itself: the option stops one below.
      {"replay window high",
       [](ListenOptions& o) { o.srtp_replay_window = 32768; },
       "ERR_OUT_OF_RANGE"},
      {"no send queue", [](ListenOptions& o) { o.send_queue_limit = 0; },
       "ERR_OUT_OF_RANGE"},
      {"send queue too long",
       [](ListenOptions& o) { o.send_queue_limit = (1u << 20) + 1; },
       "ERR_OUT_OF_RANGE"},
      {"recv buffer", [](ListenOptions& o) { o.recv_buffer_size = 1u << 30; },
       "ERR_OUT_OF_RANGE"},
      {"send buffer", [](ListenOptions& o) { o.send_buffer_size = 1u << 30; },
       "ERR_OUT_OF_RANGE"},
      {"bind host is a name", [](ListenOptions& o) { o.host = "example.com"; },
       "ERR_INVALID_ARG_VALUE"},
      {"no half-open", [](ListenOptions& o) { o.max_half_open = 0; },
       "ERR_OUT_OF_RANGE"},
      {"no half-open per address",
       [](ListenOptions& o) { o.max_half_open_per_address = 0; },
       "ERR_OUT_OF_RANGE"},
      {"half-open timeout",
       [](ListenOptions& o) { o.half_open_timeout = milliseconds(99); },
       "ERR_OUT_OF_RANGE"},
      {"half-open grace",
       [](ListenOptions& o) { o.half_open_grace = milliseconds(-1); },
       "ERR_OUT_OF_RANGE"},
      {"cookie secret",
       [](ListenOptions& o) {
         o.cookie_secret = {1, 2, 3};
       },
       "ERR_INVALID_ARG_VALUE"},
  };
  for (const ListenCase& c : cases) {
    ListenOptions o = listen_options();
    c.mutate(o);
    auto plan = translate_listen(o);
    ASSERT_FALSE(plan.ok()) << c.name;
    EXPECT_EQ(plan.error().code, c.code)
        << c.name << ": " << plan.error().message;
  }
}

TEST(OptionTranslation, ConnectErrors) {
  struct Case {
    const char* name;
    std::string host;
    std::uint16_t port;
    std::function<void(ConnectOptions&)> mutate;
    const char* code;
  } cases[] = {
      {"no host", "", 5004, [](ConnectOptions&) {}, "ERR_INVALID_ARG_VALUE"},
      {"port 0", "127.0.0.1", 0, [](ConnectOptions&) {}, "ERR_OUT_OF_RANGE"},
      {"mtu", "127.0.0.1", 5004, [](ConnectOptions& o) { o.mtu = 100; },
       "ERR_OUT_OF_RANGE"},
      {"key without cert", "127.0.0.1", 5004,
       [](ConnectOptions& o) { o.key = pem().key; }, "ERR_INVALID_ARG_VALUE"},
      {"session blob", "127.0.0.1", 5004,
       [](ConnectOptions& o) {
         o.session = {1, 2, 3};
       },
       "ERR_INVALID_ARG_VALUE"},
      {"bind host is a name", "127.0.0.1", 5004,
       [](ConnectOptions& o) { o.bind_host = "example.com"; },
       "ERR_INVALID_ARG_VALUE"},
  };
  for (const Case& c : cases) {
    ConnectOptions o = connect_options();
    c.mutate(o);
    auto plan = translate_connect(c.host, c.port, o);
    ASSERT_FALSE(plan.ok()) << c.name;
    EXPECT_EQ(plan.error().code, c.code)
        << c.name << ": " << plan.error().message;
  }
}

}  // namespace
}  // namespace dtls::detail

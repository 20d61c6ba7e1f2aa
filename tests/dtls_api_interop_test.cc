// The public API (dtls::listen / dtls::connect on a libuv loop) against openssl
// and GnuTLS command-line peers over loopback, both directions: SRTP profile,
// equal EXTRACTOR-dtls_srtp keying material, application data both ways.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "srtp/srtp_context.h"
#include "srtp/srtp_keys.h"
#include "tests/testing/peer_files.h"
#include "tests/testing/process.h"
#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls_api.h"

namespace dtls {
namespace {

using testing::ChildProcess;
using testing::UvTestLoop;

using Files = testing::PeerFiles;
using testing::free_udp_port;
using testing::hex_after;

Files make_files() { return testing::make_peer_files(); }

std::string hex(const std::vector<std::uint8_t>& b) {
  return testing::upper_hex(b);
}

bool ready(const std::shared_future<Result<std::string>>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

void close_and_wait(UvTestLoop& loop, Session& session) {
  session.close();
  ASSERT_TRUE(loop.run_until([&] {
    return session.closed().wait_for(std::chrono::seconds(0)) ==
           std::future_status::ready;
  }));
}

struct Peer {
  const char* name;
  std::vector<std::string> (*argv)(const Files& theirs, std::uint16_t port);
  const char* key_label;  // what the tool prints before the keying material
};

// Our listen() server, a command-line client.
TEST(DtlsApiInterop, OurListenAgainstClients) {
  const Peer peers[] = {
      {"openssl s_client",
       [](const Files& f, std::uint16_t port) -> std::vector<std::string> {
         return {"openssl",
                 "s_client",
                 "-dtls1_2",
                 "-connect",
                 "127.0.0.1:" + std::to_string(port),
                 "-cert",
                 f.cert,
                 "-key",
                 f.key,
                 "-use_srtp",
                 "SRTP_AES128_CM_SHA1_80",
                 "-keymatexport",
                 "EXTRACTOR-dtls_srtp",
                 "-keymatexportlen",
                 "60"};
       },
       "Keying material: "},
      {"gnutls-cli",
       [](const Files& f, std::uint16_t port) -> std::vector<std::string> {
         return {"gnutls-cli",
                 "--udp",
                 "-p",
                 std::to_string(port),
                 "127.0.0.1",
                 "--insecure",
                 "--priority",
                 "NORMAL:-VERS-ALL:+VERS-DTLS1.2",
                 "--x509certfile",
                 f.cert,
                 "--x509keyfile",
                 f.key,
                 "--srtp-profiles",
                 "SRTP_AES128_CM_HMAC_SHA1_80",
                 "--keymatexport",
                 "EXTRACTOR-dtls_srtp",
                 "--keymatexportsize",
                 "60"};
       },
       "Key material: "},
  };
  for (const Peer& peer : peers) {
    SCOPED_TRACE(peer.name);
    UvTestLoop loop;
    Files ours = make_files(), theirs = make_files();
    ListenOptions o;
    o.cert = ours.cert_pem;
    o.key = ours.key_pem;
    o.port = 0;
    o.host = "127.0.0.1";
    o.srtp = "SRTP_AES128_CM_SHA1_80";
    o.require_srtp = true;
    o.fingerprints = {theirs.fingerprint};
    std::vector<Session> sessions;
    std::string got;
    auto endpoint = listen(
        loop.get(),
        [&](Session s) {
          sessions.push_back(s);
          s.on_message([&, s](std::span<const std::uint8_t> m) mutable {
            got.append(m.begin(), m.end());
            EXPECT_TRUE(s.send("pong from us\n").ok());
          });
        },
        o);
    ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
    ChildProcess child(peer.argv(theirs, endpoint->address().port));
    ASSERT_TRUE(loop.run_until([&] {
      child.read_available();
      return !sessions.empty() && ready(sessions[0].opened()) &&
             child.output().find(peer.key_label) != std::string::npos;
    })) << child.output();
    ASSERT_TRUE(sessions[0].opened().get().ok())
        << sessions[0].opened().get().error().to_string();
    EXPECT_EQ(sessions[0].srtp_profile(), "SRTP_AES128_CM_SHA1_80");
    auto keys = sessions[0].export_keying_material(60, "EXTRACTOR-dtls_srtp");
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(hex_after(child.output(), peer.key_label), hex(*keys));
    child.write_stdin("hello from the peer\n");
    EXPECT_TRUE(loop.run_until([&] {
      child.read_available();
      return got.find("hello from the peer") != std::string::npos &&
             child.output().find("pong from us") != std::string::npos;
    })) << child.output();
    endpoint->close();
    ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
    child.stop();
  }
}

// Our connect() client, a command-line server.
TEST(DtlsApiInterop, OurConnectAgainstServers) {
  struct ServerPeer {
    const char* name;
    std::vector<std::string> (*argv)(const Files& theirs, std::uint16_t port);
    const char* ready_text;
    bool echoes;  // gnutls-serv --echo; openssl s_server prints what it gets
  } peers[] = {
      {"openssl s_server",
       [](const Files& f, std::uint16_t port) -> std::vector<std::string> {
         return {"openssl",
                 "s_server",
                 "-dtls1_2",
                 "-listen",
                 "-accept",
                 "127.0.0.1:" + std::to_string(port),
                 "-naccept",
                 "1",
                 "-cert",
                 f.cert,
                 "-key",
                 f.key,
                 "-Verify",
                 "1",
                 "-use_srtp",
                 "SRTP_AEAD_AES_128_GCM",
                 "-keymatexport",
                 "EXTRACTOR-dtls_srtp",
                 "-keymatexportlen",
                 "56"};
       },
       "ACCEPT", false},
      {"gnutls-serv",
       [](const Files& f, std::uint16_t port) -> std::vector<std::string> {
         return {"gnutls-serv",
                 "--udp",
                 "--echo",
                 "-p",
                 std::to_string(port),
                 "--x509certfile",
                 f.cert,
                 "--x509keyfile",
                 f.key,
                 "--srtp-profiles",
                 "SRTP_AES128_CM_HMAC_SHA1_80"};
       },
       "istening", true},
  };
  for (const ServerPeer& peer : peers) {
    SCOPED_TRACE(peer.name);
    UvTestLoop loop;
    Files ours = make_files(), theirs = make_files();
    std::uint16_t port = free_udp_port();
    ChildProcess child(peer.argv(theirs, port));
    ASSERT_TRUE(loop.run_until([&] {
      return child.read_available().find(peer.ready_text) != std::string::npos;
    })) << child.output();
    ConnectOptions o;
    o.cert = ours.cert_pem;
    o.key = ours.key_pem;
    o.fingerprints = {theirs.fingerprint};
    o.srtp = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
    o.require_srtp = true;
    auto session = connect(loop.get(), "127.0.0.1", port, o);
    ASSERT_TRUE(session.ok()) << session.error().to_string();
    std::string got;
    session->on_message([&](std::span<const std::uint8_t> m) {
      got.append(m.begin(), m.end());
    });
    ASSERT_TRUE(loop.run_until([&] {
      child.read_available();
      return ready(session->opened());
    })) << child.output();
    ASSERT_TRUE(session->opened().get().ok())
        << session->opened().get().error().to_string();
    if (!peer.echoes) {
      EXPECT_EQ(session->srtp_profile(), "SRTP_AEAD_AES_128_GCM");
      ASSERT_TRUE(loop.run_until([&] {
        return child.read_available().find("Keying material: ") !=
               std::string::npos;
      }));
      auto keys = session->export_keying_material(56, "EXTRACTOR-dtls_srtp");
      ASSERT_TRUE(keys.ok());
      EXPECT_EQ(hex_after(child.output(), "Keying material: "), hex(*keys));
      child.write_stdin("hello from openssl\n");
    } else {
      EXPECT_EQ(session->srtp_profile(), "SRTP_AES128_CM_SHA1_80");
    }
    ASSERT_TRUE(session->send("hello from us\n").ok());
    const std::string want =
        peer.echoes ? "hello from us" : "hello from openssl";
    EXPECT_TRUE(loop.run_until([&] {
      child.read_available();
      return got.find(want) != std::string::npos &&
             (peer.echoes ||
              child.output().find("hello from us") != std::string::npos);
    })) << child.output();
    close_and_wait(loop, *session);
    child.stop();
  }
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

// openssl s_server as the DTLS peer, through a relay that keeps the SRTP our
// client sends: the keys OpenSSL prints are ours, and a separate SRTP context
// built only from OpenSSL's printed material decrypts what we sent.
TEST(DtlsApiInterop, OurSrtpDecryptsWithOpensslsKeys) {
  for (const char* profile_name :
       {"SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"}) {
    SCOPED_TRACE(profile_name);
    const srtp::Profile profile = *srtp::profile_from_name(profile_name);
    const size_t length = srtp::SrtpKeys::material_length(profile);
    UvTestLoop loop;
    Files ours = make_files(), theirs = make_files();
    std::uint16_t port = free_udp_port();
    ChildProcess child({"openssl", "s_server", "-dtls1_2", "-listen", "-accept",
                        "127.0.0.1:" + std::to_string(port), "-naccept", "1",
                        "-cert", theirs.cert, "-key", theirs.key, "-use_srtp",
                        profile_name, "-keymatexport", "EXTRACTOR-dtls_srtp",
                        "-keymatexportlen", std::to_string(length)});
    ASSERT_TRUE(loop.run_until([&] {
      return child.read_available().find("ACCEPT") != std::string::npos;
    })) << child.output();
    testing::UdpRelay relay(
        loop.get(), std::move(PeerAddress::parse("127.0.0.1", port)).value());
    std::vector<std::vector<std::uint8_t>> srtp_sent;
    relay.set_hook([&](testing::UdpRelay::Direction d,
                       std::vector<std::uint8_t>& datagram) {
      if (d == testing::UdpRelay::Direction::kToTarget && !datagram.empty() &&
          datagram[0] >= 128 && datagram[0] <= 191) {
        srtp_sent.push_back(datagram);
        return false;  // s_server would only take it for a bad record
      }
      return true;
    });
    ConnectOptions o;
    o.cert = ours.cert_pem;
    o.key = ours.key_pem;
    o.fingerprints = {theirs.fingerprint};
    o.srtp = profile_name;
    o.require_srtp = true;
    auto session = connect(loop.get(), "127.0.0.1", relay.address().port(), o);
    ASSERT_TRUE(session.ok()) << session.error().to_string();
    ASSERT_TRUE(loop.run_until([&] {
      child.read_available();
      return ready(session->opened()) &&
             child.output().find("Keying material: ") != std::string::npos;
    })) << child.output();
    ASSERT_TRUE(session->opened().get().ok());
    const std::string printed = hex_after(child.output(), "Keying material: ");
    auto ours_exported =
        session->export_keying_material(length, "EXTRACTOR-dtls_srtp");
    ASSERT_TRUE(ours_exported.ok());
    EXPECT_EQ(printed, hex(*ours_exported));

    std::vector<std::uint8_t> packet = {0x80, 0x6f, 0x00, 0x2a, 0,    0,
                                        0x30, 0x39, 0x0b, 0xad, 0xca, 0xfe};
    for (int i = 0; i < 300; ++i)
      packet.push_back(static_cast<std::uint8_t>(i * 7));
    ASSERT_TRUE(session->send_rtp(packet).ok());
    ASSERT_TRUE(loop.run_until([&] { return srtp_sent.size() == 1; }));
    EXPECT_NE(srtp_sent[0], packet);

    std::vector<std::uint8_t> material;
    for (size_t i = 0; i + 1 < printed.size(); i += 2)
      material.push_back(static_cast<std::uint8_t>(
          std::stoi(printed.substr(i, 2), nullptr, 16)));
    auto keys = srtp::SrtpKeys::split(profile, material);
    ASSERT_TRUE(keys.ok()) << keys.error().to_string();
    auto theirs_ctx = srtp::SrtpContext::create(*keys, srtp::Side::kServer);
    ASSERT_TRUE(theirs_ctx.ok());
    std::vector<std::uint8_t> wire = srtp_sent[0];
    srtp::PacketResult r = (*theirs_ctx)->unprotect_rtp(wire);
    ASSERT_TRUE(r.ok()) << srtp::packet_status_code(r.status);
    wire.resize(r.length);
    EXPECT_EQ(wire, packet);
    close_and_wait(loop, *session);
    child.stop();
  }
}

}  // namespace
}  // namespace dtls

namespace dtls {
namespace {

constexpr char kPskHex[] = "1A2B3C4D5E6F708192A3B4C5D6E7F809";

std::vector<std::uint8_t> psk_bytes() {
  std::vector<std::uint8_t> out;
  const std::string h = kPskHex;
  for (size_t i = 0; i < h.size(); i += 2)
    out.push_back(
        static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

// RFC 4279 PSK with openssl's -psk, both directions: no certificates at all,
// and the DTLS-SRTP keys still agree.
TEST(DtlsApiInterop, PskAgainstOpensslBothWays) {
  {
    SCOPED_TRACE("our listen, openssl s_client -psk");
    UvTestLoop loop;
    ListenOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.ciphers = "PSK-AES128-GCM-SHA256";
    o.srtp = "SRTP_AES128_CM_SHA1_80";
    o.psk_identity_hint = "our-hint";
    std::string identity;
    o.psk_callback =
        [&](std::string_view id) -> std::optional<std::vector<std::uint8_t>> {
      identity = id;
      return psk_bytes();
    };
    std::vector<Session> sessions;
    auto endpoint = listen(
        loop.get(), [&](Session s) { sessions.push_back(s); }, o);
    ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
    ChildProcess child({"openssl", "s_client", "-dtls1_2", "-connect",
                        "127.0.0.1:" + std::to_string(endpoint->address().port),
                        "-psk", kPskHex, "-psk_identity", "sensor-9", "-cipher",
                        "PSK-AES128-GCM-SHA256", "-use_srtp",
                        "SRTP_AES128_CM_SHA1_80", "-keymatexport",
                        "EXTRACTOR-dtls_srtp", "-keymatexportlen", "60"});
    ASSERT_TRUE(loop.run_until([&] {
      child.read_available();
      return !sessions.empty() && ready(sessions[0].opened()) &&
             child.output().find("Keying material: ") != std::string::npos;
    })) << child.output();
    ASSERT_TRUE(sessions[0].opened().get().ok())
        << sessions[0].opened().get().error().to_string();
    EXPECT_EQ(identity, "sensor-9");
    EXPECT_EQ(sessions[0].cipher()->name, "PSK-AES128-GCM-SHA256");
    EXPECT_FALSE(sessions[0].peer_certificate().has_value());
    auto keys = sessions[0].export_keying_material(60, "EXTRACTOR-dtls_srtp");
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(hex_after(child.output(), "Keying material: "), hex(*keys));
    endpoint->close();
    ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
    child.stop();
  }
  {
    SCOPED_TRACE("our connect, openssl s_server -psk -nocert");
    UvTestLoop loop;
    std::uint16_t port = free_udp_port();
    ChildProcess child({"openssl",
                        "s_server",
                        "-dtls1_2",
                        "-listen",
                        "-accept",
                        "127.0.0.1:" + std::to_string(port),
                        "-naccept",
                        "1",
                        "-nocert",
                        "-psk",
                        kPskHex,
                        "-psk_identity",
                        "sensor-9",
                        "-psk_hint",
                        "their-hint",
                        "-cipher",
                        "PSK-AES128-GCM-SHA256",
                        "-use_srtp",
                        "SRTP_AEAD_AES_128_GCM",
                        "-keymatexport",
                        "EXTRACTOR-dtls_srtp",
                        "-keymatexportlen",
                        "56"});
    ASSERT_TRUE(loop.run_until([&] {
      return child.read_available().find("ACCEPT") != std::string::npos;
    })) << child.output();
    ConnectOptions o;
    o.ciphers = "PSK-AES128-GCM-SHA256";
    o.srtp = "SRTP_AEAD_AES_128_GCM";
    std::string hint;
    o.psk_callback = [&](std::string_view h)
        -> std::optional<AssociationOptions::PskIdentity> {
      hint = h;
      return AssociationOptions::PskIdentity{"sensor-9", psk_bytes()};
    };
    auto session = connect(loop.get(), "127.0.0.1", port, o);
    ASSERT_TRUE(session.ok());
    ASSERT_TRUE(loop.run_until([&] {
      child.read_available();
      return ready(session->opened()) &&
             child.output().find("Keying material: ") != std::string::npos;
    })) << child.output();
    ASSERT_TRUE(session->opened().get().ok())
        << session->opened().get().error().to_string();
    EXPECT_EQ(hint, "their-hint");
    EXPECT_TRUE(session->authorized());
    auto keys = session->export_keying_material(56, "EXTRACTOR-dtls_srtp");
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(hex_after(child.output(), "Keying material: "), hex(*keys));
    std::string got;
    session->on_message([&](std::span<const std::uint8_t> m) {
      got.append(m.begin(), m.end());
    });
    child.write_stdin("over psk\n");
    EXPECT_TRUE(loop.run_until([&] {
      child.read_available();
      return got.find("over psk") != std::string::npos;
    }));
    close_and_wait(loop, *session);
    child.stop();
  }
}

// Session resumption against openssl, both directions.
TEST(DtlsApiInterop, ResumptionAgainstOpensslBothWays) {
  {
    SCOPED_TRACE("our connect resumes with openssl s_server");
    UvTestLoop loop;
    Files theirs = make_files();
    std::uint16_t port = free_udp_port();
    // No -naccept: it serves one connection after another.
    ChildProcess child({"openssl", "s_server", "-dtls1_2", "-listen", "-accept",
                        "127.0.0.1:" + std::to_string(port), "-cert",
                        theirs.cert, "-key", theirs.key});
    ASSERT_TRUE(loop.run_until([&] {
      return child.read_available().find("ACCEPT") != std::string::npos;
    })) << child.output();
    ConnectOptions o;
    o.reject_unauthorized = false;  // self-signed, not for 127.0.0.1
    std::vector<std::uint8_t> blob;
    std::vector<bool> reused;
    // s_server keeps its socket connected to its first client's address:
    // the second connection comes from the same port (a client reconnecting
    // after a restart would too).
    o.bind_host = "127.0.0.1";
    o.bind_port = free_udp_port();
    for (int round = 0; round < 2; ++round) {
      if (round == 1) o.session = blob;
      auto session = connect(loop.get(), "127.0.0.1", port, o);
      ASSERT_TRUE(session.ok());
      session->on_session([&](std::span<const std::uint8_t> s) {
        blob.assign(s.begin(), s.end());
      });
      ASSERT_TRUE(loop.run_until([&] {
        child.read_available();
        return ready(session->opened());
      })) << child.output();
      ASSERT_TRUE(session->opened().get().ok())
          << session->opened().get().error().to_string();
      reused.push_back(session->is_session_reused());
      ASSERT_FALSE(blob.empty());
      close_and_wait(loop, *session);
    }
    EXPECT_EQ(reused, (std::vector<bool>{false, true}));
    child.stop();
  }
  {
    SCOPED_TRACE("openssl s_client -sess_in resumes with our listen");
    UvTestLoop loop;
    Files ours = make_files();
    ListenOptions o;
    o.cert = ours.cert_pem;
    o.key = ours.key_pem;
    o.host = "127.0.0.1";
    o.port = 0;
    std::vector<Session> sessions;
    auto endpoint = listen(
        loop.get(), [&](Session s) { sessions.push_back(s); }, o);
    ASSERT_TRUE(endpoint.ok());
    const std::string sess_file = testing::temp_path(".sess");
    for (int round = 0; round < 2; ++round) {
      ChildProcess child(
          {"openssl", "s_client", "-dtls1_2", "-connect",
           "127.0.0.1:" + std::to_string(endpoint->address().port),
           round == 0 ? "-sess_out" : "-sess_in", sess_file});
      ASSERT_TRUE(loop.run_until([&] {
        child.read_available();
        return sessions.size() == static_cast<size_t>(round + 1) &&
               ready(sessions.back().opened()) &&
               child.output().find(round == 0 ? "New, " : "Reused, ") !=
                   std::string::npos;
      })) << child.output();
      ASSERT_TRUE(sessions.back().opened().get().ok());
      EXPECT_EQ(sessions.back().is_session_reused(), round == 1);
      if (round == 0) {
        ASSERT_TRUE(loop.run_until(
            [&] { return !testing::read_file(sess_file).empty(); }));
      }
      child.stop();
    }
    endpoint->close();
    ASSERT_TRUE(loop.run_until([&] { return endpoint->state().destroyed; }));
  }
}

}  // namespace
}  // namespace dtls

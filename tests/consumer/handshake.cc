// A program outside the dtls_srtp workspace, using only the public API: a
// server and a client on a loop the library runs on its own thread, over
// loopback UDP, with WebRTC-style certificate pinning; a message each way and
// the same SRTP keys exported on both sides.
#include <chrono>
#include <cstdio>
#include <future>
#include <string>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "transport/dtls_api.h"

int main() {
  using namespace dtls;
  auto server_creds = certs::generate_certificate();
  auto client_creds = certs::generate_certificate();
  if (!server_creds.ok() || !client_creds.ok()) return 1;
  auto fingerprint = [](const certs::Credentials& c) {
    return certs::Fingerprint::of(c.leaf(), certs::HashAlgorithm::kSha256)
        .to_sdp();
  };
  auto loop = EventLoop::start();
  if (!loop.ok()) return 1;

  ListenOptions lo;
  lo.cert = server_creds->leaf().to_pem();
  lo.key = server_creds->key.to_pem();
  lo.fingerprints = {fingerprint(*client_creds)};
  lo.srtp = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
  lo.host = "127.0.0.1";
  lo.port = 0;
  std::promise<std::vector<std::uint8_t>> server_keys;
  auto endpoint = listen(
      **loop,
      [&](Session s) {
        s.on_handshake([&, s](const std::string&) {
          server_keys.set_value(
              s.export_keying_material(56, "EXTRACTOR-dtls_srtp").value());
        });
        s.on_message([s](std::span<const std::uint8_t> m) mutable {
          (void)s.send(m);  // echo
        });
      },
      lo);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "%s\n", endpoint.error().to_string().c_str());
    return 1;
  }

  ConnectOptions co;
  co.cert = client_creds->leaf().to_pem();
  co.key = client_creds->key.to_pem();
  co.fingerprints = {fingerprint(*server_creds)};
  co.srtp = "SRTP_AEAD_AES_128_GCM";
  auto session = connect(**loop, "127.0.0.1", endpoint->address().port, co);
  if (!session.ok()) return 1;
  std::promise<std::string> echo;
  session->on_message([&](std::span<const std::uint8_t> m) {
    echo.set_value(std::string(m.begin(), m.end()));
  });
  auto opened = session->opened();
  if (opened.wait_for(std::chrono::seconds(10)) != std::future_status::ready ||
      !opened.get().ok()) {
    std::fprintf(stderr, "handshake did not complete\n");
    return 1;
  }
  if (!session->send("hello").ok()) return 1;
  auto reply = echo.get_future();
  if (reply.wait_for(std::chrono::seconds(10)) != std::future_status::ready ||
      reply.get() != "hello") {
    std::fprintf(stderr, "no echo\n");
    return 1;
  }
  // The loop's answers, asked for from this thread.
  auto ck = session
                ->ask([](dtls::Session& s) {
                  return s.export_keying_material(56, "EXTRACTOR-dtls_srtp");
                })
                .get();
  const std::string profile =
      session->ask([](dtls::Session& s) { return s.srtp_profile(); }).get();
  auto sk = server_keys.get_future().get();
  if (!ck.ok() || *ck != sk) return 1;
  std::printf("handshake ok: %s %s, echo ok, keys match\n",
              opened.get()->c_str(), profile.c_str());
  (*loop)->stop();
  return 0;
}

#include "tools/peer_commands.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "transport/dtls_api.h"
#include "transport/io/uv_run_until.h"

namespace dtls::tools {

const char kServeUsage[] =
    "usage: dtls-srtp serve --port N [options]\n"
    "  A DTLS echo server: prints each session and message, answers \"echo: "
    "<message>\".\n"
    "  --host H           bind address (default 0.0.0.0)\n"
    "  --port N           port (0 picks one; the address is printed)\n"
    "  --count N          exit after N messages (default: run until killed)\n";
const char kConnectUsage[] =
    "usage: dtls-srtp connect HOST PORT [options]\n"
    "  Sends each --message and prints the replies.\n"
    "  --message TEXT     a message to send (repeatable; default \"hello\")\n"
    "  --servername NAME  name to check the server certificate against "
    "(default HOST)\n"
    "  --insecure         do not verify the server (rejectUnauthorized "
    "false)\n";
namespace {

const char kCommonUsage[] =
    "common options:\n"
    "  --cert FILE --key FILE  our certificate and key (PEM); without them a "
    "fresh ECDSA\n"
    "                     certificate is made and its fingerprint printed\n"
    "  --ca FILE          trusted CA (PEM, repeatable)\n"
    "  --fingerprint FP   pin the peer: \"sha-256 AB:CD:...\" (repeatable)\n"
    "  --srtp LIST        SRTP profiles, e.g. "
    "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM\n"
    "  --alpn NAME        ALPN protocol (repeatable)\n"
    "  --mtu N            datagram size limit (default 1200)\n"
    "  --timeout MS       give up after this long (default 10000)\n";

struct Common {
  SecureOptions secure;
  std::vector<std::string> rest;  // what no common option took
  int timeout_ms = 10000;
};

std::string read_text(const std::string& path, bool& ok) {
  std::ifstream f(path, std::ios::binary);
  ok = static_cast<bool>(f);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool parse_uint(const std::string& s, unsigned long max, unsigned long& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

// Parses the options both commands share. Returns a usage error or nullopt.
std::optional<Error> parse_common(const std::vector<std::string>& args,
                                  Common& c, std::ostream& out) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&](std::string& v) -> bool {
      if (i + 1 >= args.size()) return false;
      v = args[++i];
      return true;
    };
    std::string v;
    bool ok = true;
    if (a == "--cert" || a == "--key" || a == "--ca") {
      if (!next(v))
        return make_error("ERR_INVALID_ARG_VALUE", a + " needs a file");
      std::string text = read_text(v, ok);
      if (!ok) return make_error("ERR_INVALID_ARG_VALUE", "cannot read " + v);
      if (a == "--cert") c.secure.cert = text;
      if (a == "--key") c.secure.key = text;
      if (a == "--ca") c.secure.ca.push_back(text);
    } else if (a == "--fingerprint" || a == "--srtp" || a == "--alpn") {
      if (!next(v))
        return make_error("ERR_INVALID_ARG_VALUE", a + " needs a value");
      if (a == "--fingerprint") c.secure.fingerprints.push_back(v);
      if (a == "--srtp") c.secure.srtp = v;
      if (a == "--alpn") c.secure.alpn.push_back(v);
    } else if (a == "--mtu" || a == "--timeout") {
      unsigned long n = 0;
      if (!next(v) || !parse_uint(v, 3600000, n)) {
        return make_error("ERR_INVALID_ARG_VALUE", a + " needs a number");
      }
      if (a == "--mtu") c.secure.mtu = static_cast<std::uint32_t>(n);
      if (a == "--timeout") c.timeout_ms = static_cast<int>(n);
    } else {
      c.rest.push_back(a);
    }
  }
  if (c.secure.cert.empty() && c.secure.key.empty()) {
    auto creds = certs::generate_certificate();
    if (!creds.ok()) return creds.error();
    c.secure.cert = creds->leaf().to_pem();
    c.secure.key = creds->key.to_pem();
    out << "our certificate: a=fingerprint:"
        << certs::Fingerprint::of(creds->leaf(), certs::HashAlgorithm::kSha256)
               .to_sdp()
        << "\n";
  }
  return std::nullopt;
}

int usage(std::ostream& err, const Error& e, const char* text) {
  err << e.to_string() << "\n" << text << kCommonUsage;
  return 2;
}

// Runs `loop` until `done` or the timeout, checking every 5 ms.
bool run(uv_loop_t* loop, const std::function<bool()>& done, int timeout_ms) {
  return uv_run_until(loop, done, std::chrono::milliseconds(timeout_ms),
                      std::chrono::milliseconds(5));
}

std::string text(std::span<const std::uint8_t> m) {
  return std::string(m.begin(), m.end());
}

}  // namespace

int run_serve_command(const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err) {
  Common c;
  if (auto e = parse_common(args, c, out)) return usage(err, *e, kServeUsage);
  ListenOptions o;
  static_cast<SecureOptions&>(o) = c.secure;
  unsigned long count = 0;
  for (size_t i = 0; i < c.rest.size(); ++i) {
    const std::string& a = c.rest[i];
    unsigned long n = 0;
    if (a == "--help" || a == "-h") {
      out << kServeUsage << kCommonUsage;
      return 0;
    } else if (a == "--host" && i + 1 < c.rest.size()) {
      o.host = c.rest[++i];
    } else if (a == "--port" && i + 1 < c.rest.size() &&
               parse_uint(c.rest[i + 1], 65535, n)) {
      o.port = static_cast<std::uint16_t>(n);
      ++i;
    } else if (a == "--count" && i + 1 < c.rest.size() &&
               parse_uint(c.rest[i + 1], 1u << 30, n)) {
      count = n;
      ++i;
    } else {
      return usage(
          err, make_error("ERR_INVALID_ARG_VALUE", "bad option '" + a + "'"),
          kServeUsage);
    }
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  unsigned long messages = 0;
  int status = 0;
  {
    auto endpoint = listen(
        &loop,
        [&](Session s) {
          AddressInfo a = s.remote_address();
          std::string who = a.address + ":" + std::to_string(a.port);
          out << "session from " << who << std::endl;
          s.on_handshake([&out, s, who](const std::string& protocol) {
            out << who << " handshake " << protocol
                << " srtp=" << s.srtp_profile() << " alpn=" << s.alpn_protocol()
                << std::endl;
          });
          s.on_message([&, s, who](std::span<const std::uint8_t> m) mutable {
            out << who << " says: " << text(m) << std::endl;
            if (auto r = s.send("echo: " + text(m)); !r.ok())
              err << r.error().to_string() << "\n";
            ++messages;
          });
          s.on_error([&err, who](const Error& e) {
            err << who << " " << e.to_string() << "\n";
          });
        },
        o);
    if (!endpoint.ok()) {
      err << endpoint.error().to_string() << "\n";
      uv_loop_close(&loop);
      return endpoint.error().code == "ERR_SOCKET_BIND" ? 1 : 2;
    }
    AddressInfo a = endpoint->address();
    out << "listening on " << a.address << ":" << a.port << std::endl;
    if (count > 0) {
      // Done once the count is reached (and the last echo had a loop turn to go
      // out).
      run(
          &loop, [&] { return messages >= count; }, 1 << 30);
    } else {
      uv_run(&loop, UV_RUN_DEFAULT);
    }
    endpoint->close();
    run(
        &loop, [&] { return endpoint->state().destroyed; }, 5000);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) status = 1;
  return status;
}

int run_connect_command(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err) {
  Common c;
  if (auto e = parse_common(args, c, out)) return usage(err, *e, kConnectUsage);
  ConnectOptions o;
  static_cast<SecureOptions&>(o) = c.secure;
  std::vector<std::string> positional, messages;
  std::string keylog_path;
  for (size_t i = 0; i < c.rest.size(); ++i) {
    const std::string& a = c.rest[i];
    if (a == "--help" || a == "-h") {
      out << kConnectUsage << kCommonUsage;
      return 0;
    } else if (a == "--message" && i + 1 < c.rest.size()) {
      messages.push_back(c.rest[++i]);
    } else if (a == "--servername" && i + 1 < c.rest.size()) {
      o.servername = c.rest[++i];
    } else if (a == "--insecure") {
      o.reject_unauthorized = false;
    } else if (a == "--keylog" && i + 1 < c.rest.size()) {
      keylog_path = c.rest[++i];
    } else if (!a.starts_with("--")) {
      positional.push_back(a);
    } else {
      return usage(
          err, make_error("ERR_INVALID_ARG_VALUE", "bad option '" + a + "'"),
          kConnectUsage);
    }
  }
  unsigned long port = 0;
  if (positional.size() != 2 || !parse_uint(positional[1], 65535, port) ||
      port == 0) {
    return usage(err, make_error("ERR_INVALID_ARG_VALUE", "expected HOST PORT"),
                 kConnectUsage);
  }
  if (messages.empty()) messages.push_back("hello");
  std::ofstream keylog;
  if (!keylog_path.empty()) {
    keylog.open(keylog_path, std::ios::app);
    if (!keylog) {
      err << "ERR_FS_WRITE: cannot write " << keylog_path << "\n";
      return 1;
    }
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  int status = 0;
  {
    auto session =
        connect(&loop, positional[0], static_cast<std::uint16_t>(port), o);
    if (!session.ok()) {
      err << session.error().to_string() << "\n";
      uv_loop_close(&loop);
      return 2;
    }
    if (keylog) {
      session->on_keylog(
          [&keylog](std::string_view line) { keylog << line << std::endl; });
    }
    size_t replies = 0;
    session->on_message([&](std::span<const std::uint8_t> m) {
      out << "reply: " << text(m) << std::endl;
      ++replies;
    });
    auto opened = session->opened();
    bool ready = run(
        &loop,
        [&] {
          return opened.wait_for(std::chrono::seconds(0)) ==
                 std::future_status::ready;
        },
        c.timeout_ms);
    if (!ready) {
      err << "ERR_DTLS_HANDSHAKE_TIMEOUT: no handshake within " << c.timeout_ms
          << " ms\n";
      status = 1;
    } else if (!opened.get().ok()) {
      err << opened.get().error().to_string() << "\n";
      status = 1;
    } else {
      out << "connected: " << *opened.get()
          << " srtp=" << session->srtp_profile()
          << " alpn=" << session->alpn_protocol() << std::endl;
      for (const auto& m : messages) {
        if (auto r = session->send(m); !r.ok()) {
          err << r.error().to_string() << "\n";
          status = 1;
        }
      }
      if (status == 0 && !run(
                             &loop, [&] { return replies >= messages.size(); },
                             c.timeout_ms)) {
        err << "ERR_TIMEOUT: " << replies << " of " << messages.size()
            << " replies\n";
        status = 1;
      }
    }
    session->close();
    run(
        &loop,
        [&] {
          return session->closed().wait_for(std::chrono::seconds(0)) ==
                 std::future_status::ready;
        },
        2000);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return status;
}

}  // namespace dtls::tools

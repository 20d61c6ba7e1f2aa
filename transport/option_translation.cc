#include "transport/option_translation.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "certs/credentials.h"
#include "transport/io/host_resolution.h"

namespace dtls {
namespace detail {

Error invalid_argument(std::string message) {
  return make_error("ERR_INVALID_ARG_VALUE", std::move(message));
}

namespace {

// cert, key, ca and crl take PEM text or the path of a file holding it:
// anything without a PEM header is a path, read here. A value that is
// neither fails with the option's PEM code (`invalid_code`), as PEM text
// that does not parse does.
Result<std::string> pem_or_file(const std::string& value,
                                std::string_view option,
                                std::string_view invalid_code) {
  if (value.find("-----BEGIN") != std::string::npos) return value;
  std::ifstream in(value, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return make_error(invalid_code,
                      std::string(option) +
                          ": neither PEM text nor a readable file: \"" + value +
                          "\" (" + std::strerror(errno) + ")");
  }
  return text.str();
}

Result<std::vector<std::string>> pem_or_files(
    const std::vector<std::string>& values, std::string_view option,
    std::string_view invalid_code) {
  std::vector<std::string> out;
  for (size_t i = 0; i < values.size(); ++i) {
    auto text = pem_or_file(values[i],
                            std::string(option) + "[" + std::to_string(i) + "]",
                            invalid_code);
    if (!text.ok()) return text.error();
    out.push_back(std::move(text).value());
  }
  return out;
}

// Every chain and key (cert/key, extra_certs/extra_keys, pfx), each key
// matched to its chain by public key (node allows any order).
Result<std::vector<certs::Credentials>> load_credentials(
    const SecureOptions& o) {
  std::vector<certs::Credentials> out;
  // The PEM texts, read from files where paths were given.
  std::vector<std::string> chains, key_texts;
  std::vector<std::string_view> passphrases;
  if (!o.cert.empty()) {
    auto text = pem_or_file(o.cert, "cert", "ERR_CERT_PEM_INVALID");
    if (!text.ok()) return text.error();
    chains.push_back(std::move(text).value());
  }
  auto extra =
      pem_or_files(o.extra_certs, "extra_certs", "ERR_CERT_PEM_INVALID");
  if (!extra.ok()) return extra.error();
  for (auto& c : *extra) chains.push_back(std::move(c));
  if (!o.key.empty()) {
    auto text = pem_or_file(o.key, "key", "ERR_KEY_PEM_INVALID");
    if (!text.ok()) return text.error();
    key_texts.push_back(std::move(text).value());
    passphrases.push_back(o.passphrase);
  }
  for (size_t i = 0; i < o.extra_keys.size(); ++i) {
    const KeyPem& k = o.extra_keys[i];
    auto text = pem_or_file(k.pem, "extra_keys[" + std::to_string(i) + "]",
                            "ERR_KEY_PEM_INVALID");
    if (!text.ok()) return text.error();
    key_texts.push_back(std::move(text).value());
    passphrases.push_back(k.passphrase ? std::string_view(*k.passphrase)
                                       : std::string_view(o.passphrase));
  }
  std::vector<std::pair<std::string_view, std::string_view>> keys;
  for (size_t i = 0; i < key_texts.size(); ++i)
    keys.emplace_back(key_texts[i], passphrases[i]);
  if (chains.size() != keys.size()) {
    if (chains.empty() || keys.empty()) {
      return invalid_argument(chains.empty() ? "key is given without cert"
                                             : "cert is given without key");
    }
    return invalid_argument(std::to_string(chains.size()) +
                            " certificate chains but " +
                            std::to_string(keys.size()) + " keys");
  }
  std::vector<bool> used(chains.size(), false);
  for (size_t k = 0; k < keys.size(); ++k) {
    bool matched = false;
    for (size_t c = 0; c < chains.size() && !matched; ++c) {
      if (used[c]) continue;
      certs::LoadOptions lo;
      lo.passphrase = keys[k].second;
      auto creds = certs::load_pem_credentials(chains[c], keys[k].first, lo);
      if (creds.ok()) {
        used[c] = true;
        matched = true;
        out.push_back(std::move(creds).value());
      } else if (creds.error().code != "ERR_CERT_KEY_MISMATCH") {
        return creds.error();  // unreadable PEM, wrong passphrase, expired
      }
    }
    if (!matched) {
      return make_error(
          "ERR_CERT_KEY_MISMATCH",
          "key[" + std::to_string(k) + "] belongs to none of the certificates");
    }
  }
  for (size_t i = 0; i < o.pfx.size(); ++i) {
    certs::LoadOptions lo;
    lo.passphrase = o.pfx[i].passphrase ? *o.pfx[i].passphrase
                                        : std::string_view(o.passphrase);
    auto creds = certs::load_pkcs12(o.pfx[i].data, lo);
    if (!creds.ok()) {
      Error e = creds.error();
      e.message = "pfx[" + std::to_string(i) + "]: " + std::string(e.text());
      return e;
    }
    out.push_back(std::move(creds).value());
  }
  return out;
}

Result<std::shared_ptr<const DtlsContext>> build_context(
    const SecureOptions& o, bool honor_cipher_order_default = false) {
  DtlsContextOptions co;
  auto creds = load_credentials(o);
  if (!creds.ok()) return creds.error();
  for (auto& c : *creds) {
    if (!co.credentials) {
      co.credentials = std::move(c);
    } else {
      co.extra_credentials.push_back(std::move(c));
    }
  }
  auto ca_texts = pem_or_files(o.ca, "ca", "ERR_CA_PEM_INVALID");
  if (!ca_texts.ok()) return ca_texts.error();
  auto ca = certs::load_ca_list(*ca_texts);
  if (!ca.ok()) return ca.error();
  co.ca = std::move(ca).value();
  auto crl_texts = pem_or_files(o.crl, "crl", "ERR_CRL_PEM_INVALID");
  if (!crl_texts.ok()) return crl_texts.error();
  co.crl = std::move(crl_texts).value();
  co.min_version = o.min_version;
  co.max_version = o.max_version;
  co.ciphers = o.ciphers;
  co.ecdh_curve = o.ecdh_curve;
  co.honor_cipher_order =
      o.honor_cipher_order.value_or(honor_cipher_order_default);
  co.sig_algs = o.sig_algs;
  co.dhparam = o.dhparam;
  co.session_tickets = o.session_tickets;
  co.ticket_keys = o.ticket_keys;
  co.session_timeout = o.session_timeout;
  co.alpn_protocols = o.alpn;
  co.srtp_profiles = o.srtp;
  co.require_srtp = o.require_srtp;
  return DtlsContext::create(std::move(co));
}

// The part of SecureOptions both sides share: the context, the association
// (on top of `association`, which holds the role's own fields) and the
// endpoint's socket and media options, every value checked.
Result<UdpEndpointOptions> translate_secure(const SecureOptions& o, bool server,
                                            bool psk,
                                            AssociationOptions& association) {
  std::shared_ptr<const DtlsContext> ctx =
      SecureContextAccess::get(o.secure_context);
  if (!ctx) {
    if (server && !psk && o.cert.empty() && o.key.empty() &&
        o.extra_certs.empty() && o.pfx.empty())
      return invalid_argument(
          "listen needs cert and key (or pfx, or psk_callback)");
    auto built = build_context(o, /*honor_cipher_order_default=*/server);
    if (!built.ok()) return built.error();
    ctx = std::move(built).value();
  }
  if (server && !psk && !ctx->has_certificate()) {
    return invalid_argument(
        "listen needs cert and key (the secure context has none)");
  }
  auto pins = parse_fingerprints(o.fingerprints);
  if (!pins.ok()) return pins.error();
  association.peer_fingerprints = std::move(pins).value();
  association.reject_unauthorized = o.reject_unauthorized;
  association.mtu = o.mtu;
  association.handshake_timeout = o.handshake_timeout;
  association.initial_retransmit_timeout = o.retransmit_initial;
  association.max_retransmit_timeout = o.retransmit_max;
  association.adaptive_retransmit = o.adaptive_retransmit;
  association.initial_rtt = o.initial_rtt;
  association.use_rtt_cache = o.use_rtt_cache;
  association.idle_timeout = o.idle_timeout;
  association.media_idle_timeout = o.media_idle_timeout;
  association.keylog = true;  // lines go to on_keylog when one is set
  if (Status s = validate_association_options(association); !s.ok())
    return s.error();

  UdpEndpointOptions endpoint;
  endpoint.context = std::move(ctx);
  endpoint.srtp.replay_window = o.srtp_replay_window;
  if (Status s = srtp::validate_context_options(endpoint.srtp); !s.ok())
    return s.error();
  if (Status st = validate_send_queue_limit(o.send_queue_limit); !st.ok())
    return st.error();
  endpoint.max_queued_sends = o.send_queue_limit;
  endpoint.always_queue_sends = o.always_queue_sends;
  if (Status s =
          validate_socket_buffer_sizes(o.recv_buffer_size, o.send_buffer_size);
      !s.ok()) {
    return s.error();
  }
  endpoint.receive_buffer_size = o.recv_buffer_size;
  endpoint.send_buffer_size = o.send_buffer_size;
  endpoint.segment_sends = o.udp_offload;
  endpoint.coalesce_receives = o.udp_offload;
  return endpoint;
}

}  // namespace

Result<std::vector<certs::Fingerprint>> parse_fingerprints(
    const std::vector<std::string>& sdp) {
  std::vector<certs::Fingerprint> out;
  for (const std::string& f : sdp) {
    auto fp = certs::Fingerprint::parse_sdp(f);
    if (!fp.ok()) return fp.error();
    out.push_back(std::move(fp).value());
  }
  return out;
}

Result<ListenPlan> translate_listen(const ListenOptions& options) {
  if (!options.port)
    return invalid_argument("listen needs a port (0 picks a free one)");
  if (options.max_sessions == 0)
    return make_error("ERR_OUT_OF_RANGE", "max_sessions must be >= 1");
  AssociationOptions association;
  association.request_cert = options.request_cert;
  association.psk_server = options.psk_callback;
  association.psk_identity_hint = options.psk_identity_hint;
  auto endpoint =
      translate_secure(options, /*server=*/true,
                       /*psk=*/bool(options.psk_callback), association);
  if (!endpoint.ok()) return endpoint.error();
  auto bind = bind_address(options.host, *options.port);
  if (!bind.ok()) return bind.error();
  if (options.sni_callback) {
    association.sni_callback = [cb =
                                    options.sni_callback](std::string_view name)
        -> Result<std::shared_ptr<const DtlsContext>> {
      auto chosen = cb(name);
      if (!chosen.ok()) return chosen.error();
      return SecureContextAccess::get(*chosen);
    };
  }
  ListenPlan plan{std::move(bind).value(), std::move(endpoint).value()};
  UdpEndpointOptions& uo = plan.endpoint;
  uo.server_association = std::move(association);
  uo.accept_incoming = true;
  uo.max_sessions = options.max_sessions;
  uo.half_open = {.per_address = options.max_half_open_per_address,
                  .total = options.max_half_open,
                  .timeout = options.half_open_timeout,
                  .grace = options.half_open_grace};
  if (Status st = validate_half_open_limits(uo.half_open); !st.ok())
    return st.error();
  uo.receive_batch = 16;  // one recvmmsg for up to 16 datagrams
  uo.reuse_port = options.reuse_port;
  uo.port_group = options.port_group;
  if (!options.cookie_secret.empty()) {
    if (options.cookie_secret.size() != CookieGate::kSecretSize) {
      return invalid_argument("cookie_secret must be 32 bytes, got " +
                              std::to_string(options.cookie_secret.size()));
    }
    std::array<std::uint8_t, CookieGate::kSecretSize> master{};
    std::copy(options.cookie_secret.begin(), options.cookie_secret.end(),
              master.begin());
    uo.cookie_master_secret = master;
  }
  uo.ice_lite = options.ice_lite;
  return plan;
}

Result<ConnectPlan> translate_connect(std::string_view host, std::uint16_t port,
                                      const ConnectOptions& options) {
  if (host.empty()) return invalid_argument("connect needs a host");
  if (port == 0) return make_error("ERR_OUT_OF_RANGE", "port must be 1..65535");
  ConnectPlan plan;
  auto endpoint = translate_secure(options, /*server=*/false, /*psk=*/false,
                                   plan.association);
  if (!endpoint.ok()) return endpoint.error();
  plan.endpoint = std::move(endpoint).value();
  plan.endpoint.connect_socket = true;  // ICMP errors fail the handshake
  if (!options.session.empty()) {
    auto session = decode_session(options.session);
    if (!session.ok()) return session.error();
    plan.association.session = std::move(session).value();
  }
  plan.association.psk_client = options.psk_callback;
  // Checked here so that a bad bind_host fails at the call, names too.
  if (auto b = bind_address(options.bind_host, 0); !b.ok()) return b.error();
  plan.bind_host = options.bind_host;
  plan.bind_port = options.bind_port;
  plan.association.servername =
      options.servername.empty() ? std::string(host) : options.servername;
  plan.association.check_server_identity = options.check_server_identity;
  return plan;
}

Result<PeerAddress> client_bind_address(const ConnectPlan& plan,
                                        const PeerAddress& remote) {
  const bool v6 = remote.family() == "IPv6";
  std::string bind_host = plan.bind_host;
  if (v6 && bind_host == "0.0.0.0") bind_host = "::";
  auto bind = bind_address(bind_host, plan.bind_port, v6);
  if (!bind.ok()) return bind.error();
  if (bind->family() != remote.family()) {
    return invalid_argument("bind_host " + bind_host + " and " + remote.ip() +
                            " are of different address families");
  }
  return bind;
}

Result<PeerAddress> client_bind_address(const ConnectPlan& plan) {
  return bind_address(plan.bind_host, plan.bind_port);
}

Result<IceSessionOptions> translate_ice_session(IceSessionConfig config) {
  IceSessionOptions o;
  if (config.local.ufrag.empty()) {
    auto generated = generate_ice_credentials();
    if (!generated.ok()) return generated.error();
    o.local = std::move(generated).value();
  } else {
    o.local = std::move(config.local);
  }
  o.remote_ufrag = std::move(config.remote_ufrag);
  o.dtls_client = config.dtls_client;
  o.consent_timeout = config.consent_timeout;
  if (config.fingerprints.empty()) {
    return invalid_argument("an ICE session needs the peer's a=fingerprint");
  }
  auto pins = parse_fingerprints(config.fingerprints);
  if (!pins.ok()) return pins.error();
  o.association.peer_fingerprints = std::move(pins).value();
  return o;
}

}  // namespace detail

Result<SecureContext> create_secure_context(const SecureOptions& options) {
  auto ctx = detail::build_context(options);
  if (!ctx.ok()) return ctx.error();
  SecureContext out;
  out.context_ = std::move(ctx).value();
  return out;
}

}  // namespace dtls

#include "certs/server_identity.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace dtls::certs {
namespace {

std::string_view unfqdn(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

std::vector<std::string> split_host(std::string_view host) {
  std::string lower(unfqdn(host));
  std::transform(
      lower.begin(), lower.end(), lower.begin(),
      [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = lower.find('.', start);
    parts.push_back(lower.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// node's check(hostParts, pattern, wildcards=true).
bool matches_pattern(const std::vector<std::string>& host,
                     std::string_view pattern) {
  if (pattern.empty()) return false;
  std::vector<std::string> pat = split_host(pattern);
  if (host.size() != pat.size()) return false;
  if (std::find(pat.begin(), pat.end(), "") != pat.end()) return false;
  // RFC 6125 allows IDNA U-labels, but their encoding cannot be normalised
  // here: reject them, and blanks and control characters with them.
  for (const auto& p : pat) {
    for (unsigned char c : p) {
      if (c < 0x21 || c > 0x7f) return false;
    }
  }
  for (size_t i = host.size() - 1; i > 0; --i) {
    if (host[i] != pat[i]) return false;
  }
  const std::string& sub = host[0];
  const std::string& psub = pat[0];
  size_t stars = std::count(psub.begin(), psub.end(), '*');
  // RFC 6125 §6.4.3: no wildcard matching inside A-labels (punycode).
  if (stars == 0 || psub.find("xn--") != std::string::npos) return sub == psub;
  if (stars > 1) return false;        // more than one wildcard is always wrong
  if (pat.size() <= 2) return false;  // "*.tld" is not allowed
  size_t star = psub.find('*');
  std::string_view prefix(psub.data(), star);
  std::string_view suffix(psub.data() + star + 1, psub.size() - star - 1);
  if (prefix.size() + suffix.size() > sub.size()) return false;
  return std::string_view(sub).starts_with(prefix) &&
         std::string_view(sub).ends_with(suffix);
}

std::optional<std::vector<std::uint8_t>> parse_ip(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1)
    return std::vector<std::uint8_t>(buf, buf + 4);
  if (inet_pton(AF_INET6, h.c_str(), buf) == 1)
    return std::vector<std::uint8_t>(buf, buf + 16);
  return std::nullopt;
}

std::string canonical_ip(const std::vector<std::uint8_t>& b) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(b.size() == 4 ? AF_INET : AF_INET6, b.data(), buf, sizeof(buf));
  return buf;
}

}  // namespace

Status check_server_identity(std::string_view hostname_in,
                             const PeerCertificate& cert) {
  std::string hostname(unfqdn(hostname_in));
  std::string reason;
  bool valid = false;
  if (auto ip = parse_ip(hostname)) {
    valid = std::find(cert.ip_addresses.begin(), cert.ip_addresses.end(),
                      *ip) != cert.ip_addresses.end();
    if (!valid) {
      reason = "IP: " + hostname + " is not in the cert's list: ";
      for (size_t i = 0; i < cert.ip_addresses.size(); ++i) {
        reason += (i ? ", " : "") + canonical_ip(cert.ip_addresses[i]);
      }
    }
  } else if (!cert.dns_names.empty() || !cert.subject.get("CN").empty()) {
    std::vector<std::string> host_parts = split_host(hostname);
    if (!cert.dns_names.empty()) {
      valid = std::any_of(
          cert.dns_names.begin(), cert.dns_names.end(),
          [&](const std::string& n) { return matches_pattern(host_parts, n); });
      if (!valid) {
        reason = "Host: " + hostname +
                 ". is not in the cert's altnames: " + cert.subjectaltname;
      }
    } else {
      // Match against the Common Name only when no supported identifier exists.
      std::vector<std::string> cns = cert.subject.get_all("CN");
      valid = std::any_of(cns.begin(), cns.end(), [&](const std::string& n) {
        return matches_pattern(host_parts, n);
      });
      if (!valid)
        reason = "Host: " + hostname +
                 ". is not cert's CN: " + cert.subject.get("CN");
    }
  } else {
    reason = "Cert does not contain a DNS name";
  }
  if (valid) return {};
  return make_error(
      "ERR_TLS_CERT_ALTNAME_INVALID",
      "Hostname/IP does not match certificate's altnames: " + reason);
}

}  // namespace dtls::certs

#include "certs/server_identity.h"

#include <gtest/gtest.h>

#include "certs/generate.h"

namespace dtls::certs {
namespace {

PeerCertificate cert(std::vector<std::string> cns, std::vector<std::string> dns,
                     std::vector<std::vector<std::uint8_t>> ips = {},
                     std::vector<std::string> uris = {}) {
  PeerCertificate c;
  for (auto& cn : cns) c.subject.entries.emplace_back("CN", cn);
  for (auto& d : dns)
    c.subjectaltname += (c.subjectaltname.empty() ? "DNS:" : ", DNS:") + d;
  c.dns_names = std::move(dns);
  c.ip_addresses = std::move(ips);
  c.uris = std::move(uris);
  return c;
}

struct Case {
  const char* host;
  PeerCertificate cert;
  bool ok;
};

// Mirrors node's test-tls-check-server-identity.js cases that apply to our
// structures.
TEST(CheckServerIdentity, NodeCases) {
  std::vector<std::uint8_t> ip8888 = {8, 8, 8, 8};
  std::vector<std::uint8_t> ip6_1(16, 0);
  ip6_1[15] = 1;
  const Case cases[] = {
      // IP addresses only match IP SANs, never CN or DNS names.
      {"8.8.8.8", cert({"8.8.8.8"}, {}), false},
      {"8.8.8.8", cert({}, {}, {ip8888}), true},
      {"8.8.4.4", cert({}, {}, {ip8888}), false},
      {"8.8.8.8", cert({}, {"8.8.8.8"}), false},
      {"::1", cert({}, {}, {ip6_1}), true},
      {"0:0::1", cert({}, {}, {ip6_1}), true},
      {"::2", cert({}, {}, {ip6_1}), false},
      // CN when there are no DNS SANs; case and a trailing dot do not matter.
      {"a.com", cert({"a.com"}, {}), true},
      {"a.com", cert({"A.COM"}, {}), true},
      {"a.com.", cert({"a.com"}, {}), true},
      {"a.com", cert({"b.com"}, {}), false},
      {"a.com", cert({"b.com", "a.com"}, {}), true},
      {"a.com", cert({"a.com"}, {}, {ip8888}), true},
      // A DNS SAN disables the CN.
      {"a.com", cert({"a.com"}, {"b.com"}), false},
      {"b.com", cert({"a.com"}, {"b.com"}), true},
      // Wildcards: one, left-most label only, not across labels, never *.tld.
      {"b.a.com", cert({}, {"*.a.com"}), true},
      {"a.com", cert({}, {"*.a.com"}), false},
      {"c.b.a.com", cert({}, {"*.a.com"}), false},
      {"a.com", cert({}, {"*.com"}), false},
      {"a.com", cert({"*.com"}, {}), false},
      {"b.a.com", cert({}, {"*b.a.com"}), true},
      {"ba.a.com", cert({}, {"b*.a.com"}), true},
      {"bxa.a.com", cert({}, {"b*a.a.com"}), true},
      {"ba.a.com", cert({}, {"b*a.a.com"}),
       true},  // the star may match nothing
      {"bb.a.com", cert({}, {"b*a.a.com"}), false},
      {"a.a.com", cert({}, {"a*a.a.com"}), false},
      {"b.a.com", cert({}, {"**.a.com"}), false},
      {"b.a.com", cert({}, {"b.*.com"}), false},
      {"a.com", cert({}, {"*.*.com"}), false},
      {"xn--bcher-kva.example.com", cert({}, {"*.example.com"}), true},
      {"xn--bcher-kva.example.com", cert({}, {"xn--*.example.com"}), false},
      {"xn--bcher-kva.example.com", cert({}, {"xn--bcher-kva.example.com"}),
       true},
      // Malformed patterns never match.
      {"a.b.com", cert({}, {"a..com"}), false},
      {"a.com", cert({}, {""}), false},
      {"x.b\xc3\xa9.com", cert({}, {"*.b\xc3\xa9.com"}), false},
      {"a com", cert({}, {"a com"}), false},
      // URI SANs are never used (CVE-2021-44531).
      {"a.b.a.com", cert({}, {}, {}, {"http://a.b.a.com/"}), false},
      // Nothing to match against.
      {"a.com", cert({}, {}), false},
  };
  for (const Case& c : cases) {
    Status s = check_server_identity(c.host, c.cert);
    EXPECT_EQ(s.ok(), c.ok) << c.host << " vs " << c.cert.subjectaltname
                            << " CN=" << c.cert.subject.get("CN");
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, "ERR_TLS_CERT_ALTNAME_INVALID");
    }
  }
}

TEST(CheckServerIdentity, ReasonsReadLikeNodes) {
  Status s = check_server_identity("a.com", cert({"b.com"}, {}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "Hostname/IP does not match certificate's altnames: Host: a.com. "
            "is not cert's CN: "
            "b.com");
  s = check_server_identity("a.com", cert({}, {"b.com"}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "Hostname/IP does not match certificate's altnames: Host: a.com. "
            "is not in the "
            "cert's altnames: DNS:b.com");
  s = check_server_identity("a.com", cert({}, {}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "Hostname/IP does not match certificate's altnames: Cert does not "
            "contain a DNS "
            "name");
  s = check_server_identity("1.2.3.4", cert({}, {}, {{8, 8, 8, 8}}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "Hostname/IP does not match certificate's altnames: IP: 1.2.3.4 is "
            "not in the "
            "cert's list: 8.8.8.8");
}

TEST(CheckServerIdentity, OnAGeneratedCertificate) {
  GenerateOptions o;
  o.common_name = "ignored.example";
  o.subject_alt_names = {"DNS:*.sfu.example", "IP:127.0.0.1",
                         "URI:https://evil.example/"};
  auto c = generate_certificate(o);
  ASSERT_TRUE(c.ok());
  PeerCertificate d = describe(c->leaf());
  EXPECT_TRUE(check_server_identity("eu1.sfu.example", d).ok());
  EXPECT_TRUE(check_server_identity("127.0.0.1", d).ok());
  EXPECT_FALSE(check_server_identity("ignored.example", d).ok());
  EXPECT_FALSE(check_server_identity("evil.example", d).ok());
  EXPECT_FALSE(check_server_identity("127.0.0.2", d).ok());
}

}  // namespace
}  // namespace dtls::certs

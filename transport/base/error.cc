#include "transport/base/error.h"

#include <openssl/err.h>

#include <iterator>
#include <mutex>
#include <string>
#include <unordered_set>

namespace dtls {

namespace {

struct CodeInfo {
  std::string_view name, message;
};

constexpr CodeInfo kCodes[] = {{"", "an error"},
#define DTLS_SRTP_ERRC_INFO(e, name, message) {name, message},
                               DTLS_SRTP_ERROR_CODES(DTLS_SRTP_ERRC_INFO)
#undef DTLS_SRTP_ERRC_INFO
};

const CodeInfo& info(Errc errc) {
  const auto i = static_cast<size_t>(errc);
  return i < std::size(kCodes) ? kCodes[i] : kCodes[0];
}

// Names made at run time, kept for the process's life so that Error::code
// can point at them (a bounded set: alert names, OpenSSL verify codes).
std::string_view intern(std::string_view name) {
  static std::mutex mu;
  static std::unordered_set<std::string> names;
  std::lock_guard lock(mu);
  return *names.emplace(name).first;
}

class DtlsCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "dtls"; }
  std::string message(int value) const override {
    return std::string(info(static_cast<Errc>(value)).message);
  }
};

}  // namespace

std::string_view errc_name(Errc errc) { return info(errc).name; }
std::string_view errc_message(Errc errc) { return info(errc).message; }

Errc errc_from_name(std::string_view name) {
  for (size_t i = 1; i < std::size(kCodes); ++i) {
    if (kCodes[i].name == name) return static_cast<Errc>(i);
  }
  return Errc::kOther;
}

const std::error_category& dtls_category() {
  static const DtlsCategory category;
  return category;
}

std::error_code make_error_code(Errc errc) {
  return {static_cast<int>(errc), dtls_category()};
}

Error make_error(Errc errc, std::string message) {
  return Error{errc, errc_name(errc), std::move(message)};
}

Error make_error(std::string_view code, std::string message) {
  const Errc errc = errc_from_name(code);
  return Error{errc, errc == Errc::kOther ? intern(code) : errc_name(errc),
               std::move(message)};
}

Error random_failure(std::string_view what) {
  std::string reason = drain_openssl_errors();
  return make_error("ERR_RANDOM", "the system random generator failed (" +
                                      std::string(what) + ")" +
                                      (reason.empty() ? "" : ": " + reason));
}

std::string drain_openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace dtls

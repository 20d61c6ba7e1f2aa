#include "transport/base/error.h"

#include <openssl/err.h>

namespace dtls {

Error make_error(std::string_view code, std::string message) {
  return Error{std::string(code), std::move(message)};
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

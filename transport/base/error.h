// Errors with stable codes, shared by every layer.
//
// A code is a node-style string ("ERR_INVALID_ARG_VALUE") that programs may
// compare; the message is for a person and may change. The README lists every
// code.
#ifndef DTLS_SRTP_TRANSPORT_BASE_ERROR_H_
#define DTLS_SRTP_TRANSPORT_BASE_ERROR_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dtls {

struct Error {
  std::string code;
  std::string message;

  // "CODE: message", for logs and test failure output.
  std::string to_string() const { return code + ": " + message; }
};

Error make_error(std::string_view code, std::string message);

// ERR_RANDOM: OpenSSL's random generator failed while making `what` (a
// secret, a credential). Nothing goes on with bytes that are not random.
Error random_failure(std::string_view what);

// The OpenSSL error queue drained into one line ("lib::reason; ..."), empty
// when the queue is. Always clears the queue so one failure never leaks into
// the next call's report.
std::string drain_openssl_errors();

// A value or an Error. Deliberately small: no monadic helpers beyond what
// callers use.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error)
      : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(!ok());
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_BASE_ERROR_H_

// Errors with stable codes, shared by every layer.
//
// A code is a node-style string ("ERR_INVALID_ARG_VALUE") that programs may
// compare; the message is for a person and may change. The README lists every
// code.
#ifndef DTLS_SRTP_TRANSPORT_BASE_ERROR_H_
#define DTLS_SRTP_TRANSPORT_BASE_ERROR_H_

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "transport/base/error_codes.h"

namespace dtls {

// The codes, typed (transport/base/error_codes.h lists them with their
// names). kOther: a code made at run time (a peer's alert, an OpenSSL
// certificate verification code), whose name the Error keeps.
enum class Errc : std::uint16_t {
  kOther = 0,
#define DTLS_SRTP_ERRC_ENUMERATOR(e, name, message) e,
  DTLS_SRTP_ERROR_CODES(DTLS_SRTP_ERRC_ENUMERATOR)
#undef DTLS_SRTP_ERRC_ENUMERATOR
};

// "ERR_SEND_QUEUE_FULL"; "" for kOther.
std::string_view errc_name(Errc errc);
// The message an Error of this code carries when it has none of its own.
std::string_view errc_message(Errc errc);
// kOther when `name` is not one of the listed codes.
Errc errc_from_name(std::string_view name);
// std::error_code for these codes: category "dtls", value the enumerator,
// message() the default message.
const std::error_category& dtls_category();
std::error_code make_error_code(Errc errc);

struct Error {
  Errc errc = Errc::kOther;
  // The stable name ("ERR_SEND_QUEUE_FULL"), static storage: copying an
  // Error or making one for a listed code allocates nothing.
  std::string_view code;
  // Details for a person; empty when the code's default message says it all
  // (what errors on the media path do, so that a dropped packet allocates
  // nothing).
  std::string message;

  // message, or the code's default one.
  std::string_view text() const {
    return message.empty() ? errc_message(errc) : std::string_view(message);
  }
  std::error_code error_code() const { return make_error_code(errc); }
  // "CODE: message", for logs and test failure output.
  std::string to_string() const {
    return std::string(code) + ": " + std::string(text());
  }
};

// A listed code, allocation-free when `message` is empty.
Error make_error(Errc errc, std::string message = {});
// By name: a listed one gets its Errc; any other (made at run time) is kept
// (interned once) as kOther.
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

template <>
struct std::is_error_code_enum<dtls::Errc> : std::true_type {};

#endif  // DTLS_SRTP_TRANSPORT_BASE_ERROR_H_

// Result<T> and Error: the vocabulary for expected failures across every room.
// An Error carries a protocol-neutral code plus the kind of resource it concerns; the api
// room maps (code, subject) to SES wire codes once, from a table (api/errors.cpp).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sesame::base {

enum class ErrorCode {
  kInvalidParameter,  // a value SES would refuse (InvalidParameterValue / BadRequestException)
  kValidation,        // a model constraint failed (ValidationError / BadRequestException)
  kNotFound,
  kAlreadyExists,
  kLimitExceeded,
  kCannotDelete,
  kConflict,
  kNotImplemented,
  kRejected,     // SES refused to send (MessageRejected and its kin; subject says which)
  kThrottled,    // a sending quota or rate was exceeded
  kPaused,       // sending is paused for the account or configuration set
  kInternal,     // a bug or an environment failure; never turned into success
  kUnavailable,  // could not tell (DNS timeout, database busy): temporary
};

/// An expected failure. `subject` names the resource kind ("template", "configuration-set",
/// ...) so that the wire code can be chosen per protocol; `message` is shown to the client.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string subject;
};

inline Error make_error(ErrorCode code, std::string message, std::string subject = {}) {
  return Error{code, std::move(message), std::move(subject)};
}

/// A value or an Error. Deliberately small: ok(), value(), error().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace sesame::base

/// Propagate an Error from an expression yielding Result<T>/Status.
#define SESAME_CHECK(expr)                                   \
  do {                                                       \
    auto sesame_check_r_ = (expr);                           \
    if (!sesame_check_r_.ok()) return sesame_check_r_.error(); \
  } while (0)

#define SESAME_CONCAT_INNER(a, b) a##b
#define SESAME_CONCAT(a, b) SESAME_CONCAT_INNER(a, b)
/// `SESAME_ASSIGN(auto x, expr);` declares x from a Result, or returns its Error.
#define SESAME_ASSIGN(decl, expr) SESAME_ASSIGN_IMPL(SESAME_CONCAT(sesame_r_, __LINE__), decl, expr)
#define SESAME_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                        \
  if (!tmp.ok()) return tmp.error();        \
  decl = std::move(tmp).value()

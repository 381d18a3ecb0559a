#pragma once
// The result type for expected failures: a value, or an Error that says what failed and where.

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace bulwark {

// What failed and where. `where` is "file:line:column" for rules and configs, "file:line" for
// log lines, "byte N" for datagrams; empty when the location is unknown.
struct Error {
  std::string message;
  std::string where;

  // "where: message", or just the message when there is no location.
  std::string ToString() const { return where.empty() ? message : where + ": " + message; }
};

template <typename T>
using Result = tl::expected<T, Error>;

// Builds the unexpected half of a Result.
inline tl::unexpected<Error> Fail(std::string message, std::string where = {}) {
  return tl::unexpected<Error>(Error{std::move(message), std::move(where)});
}

}  // namespace bulwark

#pragma once

/// Test support: comparing book event sequences with readable failures.

#include "market/types.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace Catch {
template <>
struct StringMaker<marketsim::market::book_event> {
  static std::string convert(const marketsim::market::book_event& e) {
    return marketsim::market::to_string(e);
  }
};
} // namespace Catch

namespace marketsim::market::testing {

using events = std::vector<book_event>;

/// One event per line, for failure messages.
inline std::string describe(const events& xs) {
  std::ostringstream os;
  for (const auto& x : xs)
    os << "  " << to_string(x) << "\n";
  if (xs.empty())
    os << "  (none)\n";
  return os.str();
}

/// Requires `actual` to equal `expected`, printing both sequences one event
/// per line when they differ.
inline void require_events(const events& actual, const events& expected) {
  INFO("expected:\n" << describe(expected) << "actual:\n" << describe(actual));
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("event " << i);
    REQUIRE(actual[i] == expected[i]);
  }
}

} // namespace marketsim::market::testing

#pragma once

/// The result of decoding a state machine command from log entry bytes.

#include <optional>
#include <string>

namespace marketsim::consensus::raft {

/// A decoded value, or why the bytes were refused.
template <class T>
struct decoded {
  std::optional<T> value;
  std::string reason; ///< empty when `value` is set

  explicit operator bool() const { return value.has_value(); }
};

} // namespace marketsim::consensus::raft

#pragma once

/// The instruments an exchange lists: name, tick size, lot size.

#include "market/types.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketsim::market {

class symbol_table {
public:
  /// Adds a symbol and returns its id (ids are dense, in order of addition).
  /// Throws std::invalid_argument on an empty or duplicate name or a
  /// non-positive tick, lot or maximum quantity (start-up only).
  symbol_id add(symbol_spec spec);

  const symbol_spec* find(symbol_id id) const;
  std::optional<symbol_id> lookup(std::string_view name) const;
  std::size_t size() const { return specs_.size(); }
  const std::vector<symbol_spec>& all() const { return specs_; }

private:
  std::vector<symbol_spec> specs_;
};

} // namespace marketsim::market

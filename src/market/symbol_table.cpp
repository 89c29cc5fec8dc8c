#include "market/symbol_table.hpp"

#include <stdexcept>
#include <utility>

namespace marketsim::market {

symbol_id symbol_table::add(symbol_spec spec) {
  if (spec.name.empty())
    throw std::invalid_argument("symbol_table: empty symbol name");
  if (lookup(spec.name))
    throw std::invalid_argument("symbol_table: duplicate symbol '" + spec.name + "'");
  if (spec.tick_size <= 0)
    throw std::invalid_argument("symbol_table: symbol '" + spec.name +
                                "' needs a positive tick size");
  if (spec.lot_size <= 0)
    throw std::invalid_argument("symbol_table: symbol '" + spec.name +
                                "' needs a positive lot size");
  if (spec.max_order_qty <= 0)
    throw std::invalid_argument("symbol_table: symbol '" + spec.name +
                                "' needs a positive maximum order quantity");
  auto id = static_cast<symbol_id>(specs_.size());
  specs_.push_back(std::move(spec));
  return id;
}

const symbol_spec* symbol_table::find(symbol_id id) const {
  return id < specs_.size() ? &specs_[id] : nullptr;
}

std::optional<symbol_id> symbol_table::lookup(std::string_view name) const {
  // A linear scan: a shard lists a handful of symbols and lookups by name
  // happen at start-up, when scenarios are resolved, not per order.
  for (std::size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].name == name)
      return static_cast<symbol_id>(i);
  return std::nullopt;
}

} // namespace marketsim::market

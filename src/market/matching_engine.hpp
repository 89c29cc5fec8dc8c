#pragma once

/// The books of a set of symbols (one exchange shard's worth), dispatching
/// each request to its symbol's book. Pure: no CAF, no clock, no I/O.

#include "market/order_book.hpp"
#include "market/symbol_table.hpp"

#include <memory>
#include <vector>

namespace marketsim::market {

class matching_engine {
public:
  /// Owns books for the listed symbols of `table`; other symbols are rejected
  /// with reject_reason::unknown_symbol.
  matching_engine(const symbol_table& table, const std::vector<symbol_id>& symbols,
                  std::size_t expected_orders_per_book = 1024);

  void submit(const order_request& req, std::vector<book_event>& out);
  void cancel(const cancel_request& req, owner_id requester, std::vector<book_event>& out);
  void modify(const modify_request& req, owner_id requester, std::vector<book_event>& out);
  void end_of_day(std::vector<book_event>& out);

  /// nullptr when the symbol is not traded here.
  order_book* book(symbol_id s);
  const order_book* book(symbol_id s) const;
  const std::vector<symbol_id>& symbols() const { return symbols_; }

  /// check_invariants() of every book; empty when all hold.
  std::string check_invariants() const;

private:
  std::vector<symbol_id> symbols_;
  // Indexed by symbol id; null where the symbol is not traded here.
  std::vector<std::unique_ptr<order_book>> books_;
};

} // namespace marketsim::market

#include "market/matching_engine.hpp"

#include <stdexcept>
#include <string>

namespace marketsim::market {

matching_engine::matching_engine(const symbol_table& table,
                                 const std::vector<symbol_id>& symbols,
                                 std::size_t expected_orders_per_book) {
  symbols_.reserve(symbols.size());
  for (symbol_id s : symbols) {
    const symbol_spec* spec = table.find(s);
    if (spec == nullptr)
      throw std::invalid_argument("matching_engine: symbol id " + std::to_string(s) +
                                  " is not in the symbol table");
    if (s < books_.size() && books_[s])
      continue; // listed twice: one book is enough
    if (s >= books_.size())
      books_.resize(static_cast<std::size_t>(s) + 1);
    books_[s] = std::make_unique<order_book>(s, *spec, expected_orders_per_book);
    symbols_.push_back(s);
  }
}

order_book* matching_engine::book(symbol_id s) {
  return s < books_.size() ? books_[s].get() : nullptr;
}

const order_book* matching_engine::book(symbol_id s) const {
  return s < books_.size() ? books_[s].get() : nullptr;
}

namespace {

book_event unknown_symbol(symbol_id s, order_id id, owner_id owner, side sd) {
  book_event e;
  e.kind = event_kind::rejected;
  e.reject = reject_reason::unknown_symbol;
  e.symbol = s;
  e.id = id;
  e.owner = owner;
  e.side = sd;
  return e;
}

} // namespace

void matching_engine::submit(const order_request& req, std::vector<book_event>& out) {
  if (order_book* b = book(req.symbol))
    b->submit(req, out);
  else
    out.push_back(unknown_symbol(req.symbol, req.id, req.owner, req.side));
}

void matching_engine::cancel(const cancel_request& req, owner_id requester,
                             std::vector<book_event>& out) {
  if (order_book* b = book(req.symbol))
    b->cancel(req.id, requester, out);
  else
    out.push_back(unknown_symbol(req.symbol, req.id, requester, side::buy));
}

void matching_engine::modify(const modify_request& req, owner_id requester,
                             std::vector<book_event>& out) {
  if (order_book* b = book(req.symbol))
    b->modify(req, requester, out);
  else
    out.push_back(unknown_symbol(req.symbol, req.id, requester, side::buy));
}

void matching_engine::end_of_day(std::vector<book_event>& out) {
  // In the order the symbols were listed, so the event stream is
  // deterministic for a given configuration.
  for (symbol_id s : symbols_)
    books_[s]->end_of_day(out);
}

std::string matching_engine::check_invariants() const {
  for (symbol_id s : symbols_)
    if (std::string err = books_[s]->check_invariants(); !err.empty())
      return "symbol " + std::to_string(s) + ": " + err;
  return {};
}

} // namespace marketsim::market

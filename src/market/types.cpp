#include "market/types.hpp"

namespace marketsim::market {

// -- enum names ----------------------------------------------------------------

std::string_view to_string(side x) {
  switch (x) {
  case side::buy:
    return "buy";
  case side::sell:
    return "sell";
  }
  return "side?";
}

std::string_view to_string(order_type x) {
  switch (x) {
  case order_type::limit:
    return "limit";
  case order_type::market:
    return "market";
  case order_type::stop:
    return "stop";
  case order_type::stop_limit:
    return "stop_limit";
  }
  return "order_type?";
}

std::string_view to_string(time_in_force x) {
  switch (x) {
  case time_in_force::gtc:
    return "gtc";
  case time_in_force::day:
    return "day";
  case time_in_force::ioc:
    return "ioc";
  case time_in_force::fok:
    return "fok";
  }
  return "time_in_force?";
}

std::string_view to_string(reject_reason x) {
  switch (x) {
  case reject_reason::none:
    return "none";
  case reject_reason::unknown_symbol:
    return "unknown_symbol";
  case reject_reason::bad_price:
    return "bad_price";
  case reject_reason::off_tick_price:
    return "off_tick_price";
  case reject_reason::bad_stop_price:
    return "bad_stop_price";
  case reject_reason::bad_quantity:
    return "bad_quantity";
  case reject_reason::off_lot_quantity:
    return "off_lot_quantity";
  case reject_reason::duplicate_order_id:
    return "duplicate_order_id";
  case reject_reason::unknown_order_id:
    return "unknown_order_id";
  case reject_reason::not_owner:
    return "not_owner";
  case reject_reason::post_only_would_cross:
    return "post_only_would_cross";
  case reject_reason::fok_not_fillable:
    return "fok_not_fillable";
  case reject_reason::no_liquidity:
    return "no_liquidity";
  case reject_reason::bad_order_combination:
    return "bad_order_combination";
  case reject_reason::not_modifiable:
    return "not_modifiable";
  case reject_reason::unchanged:
    return "unchanged";
  case reject_reason::insufficient_cash:
    return "insufficient_cash";
  case reject_reason::insufficient_position:
    return "insufficient_position";
  case reject_reason::short_limit:
    return "short_limit";
  case reject_reason::margin_limit:
    return "margin_limit";
  case reject_reason::no_reference_price:
    return "no_reference_price";
  case reject_reason::malformed_request:
    return "malformed_request";
  case reject_reason::outside_price_band:
    return "outside_price_band";
  case reject_reason::trading_halted:
    return "trading_halted";
  case reject_reason::venue_unreachable:
    return "venue_unreachable";
  }
  return "reject_reason?";
}

std::string_view to_string(cancel_reason x) {
  switch (x) {
  case cancel_reason::none:
    return "none";
  case cancel_reason::user:
    return "user";
  case cancel_reason::ioc_remainder:
    return "ioc_remainder";
  case cancel_reason::self_trade:
    return "self_trade";
  case cancel_reason::expired:
    return "expired";
  case cancel_reason::outside_price_band:
    return "outside_price_band";
  }
  return "cancel_reason?";
}

std::string_view to_string(event_kind x) {
  switch (x) {
  case event_kind::accepted:
    return "accepted";
  case event_kind::rejected:
    return "rejected";
  case event_kind::trade:
    return "trade";
  case event_kind::cancelled:
    return "cancelled";
  case event_kind::stop_triggered:
    return "stop_triggered";
  case event_kind::modified:
    return "modified";
  case event_kind::done:
    return "done";
  }
  return "event_kind?";
}

// -- events ----------------------------------------------------------------------

namespace {

void append_field(std::string& s, std::string_view name, std::string_view value) {
  s += ' ';
  s += name;
  s += '=';
  s += value;
}

template <class Integer>
void append_number(std::string& s, std::string_view name, Integer value) {
  append_field(s, name, std::to_string(value));
}

} // namespace

std::string to_string(const book_event& x) {
  // Every field, always in the same order, so that two lines of a test
  // failure message can be compared by eye column by column.
  std::string s{to_string(x.kind)};
  append_number(s, "symbol", x.symbol);
  append_number(s, "id", x.id);
  append_number(s, "owner", x.owner);
  append_field(s, "side", to_string(x.side));
  append_number(s, "price", x.price);
  append_number(s, "qty", x.qty);
  append_number(s, "leaves", x.leaves);
  append_number(s, "maker", x.maker);
  append_number(s, "maker_owner", x.maker_owner);
  append_number(s, "maker_leaves", x.maker_leaves);
  append_field(s, "reject", to_string(x.reject));
  append_field(s, "cancel", to_string(x.cancel));
  return s;
}

} // namespace marketsim::market

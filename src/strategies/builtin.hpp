#pragma once

/// The built-in strategies, one file each under src/strategies/builtin/. Each
/// file defines its strategy class and its register function; registry.cpp's
/// builtin_strategies() calls every function listed here.

namespace marketsim::strategies {

class strategy_registry;

/// Gode-Sunder zero intelligence, budget constrained (ZI-C).
void register_zero_intelligence(strategy_registry& r);
/// Noise trader: occasional random orders at or near the touch.
void register_noise(strategy_registry& r);
/// Value (fundamental) trader: trades toward a private noisy view of a
/// mean-reverting fundamental.
void register_value(strategy_registry& r);
/// Market maker: inventory-skewed quotes with a volatility-scaled spread
/// (Avellaneda-Stoikov).
void register_market_maker(strategy_registry& r);
/// Momentum: follows the recent trend of prices.
void register_momentum(strategy_registry& r);
/// Mean reversion: trades against deviations from a moving average.
void register_mean_reversion(strategy_registry& r);
/// Breakout: buys new highs and sells new lows of a price channel (the worked
/// example of docs/writing-a-strategy.md).
void register_breakout(strategy_registry& r);
/// Latency arbitrage: buys one venue's ask and sells another's bid of the
/// same instrument when they cross (IOC).
void register_arbitrage(strategy_registry& r);
/// Venue router: sends parent orders to the venue with the best expected
/// price after latency (or the nearest, or the best quote).
void register_venue_router(strategy_registry& r);
/// Shock: one large market order at a set time.
void register_shock(strategy_registry& r);
/// Sentinel: records when it first sees a price move and reacts once.
void register_sentinel(strategy_registry& r);

} // namespace marketsim::strategies

#pragma once

/// Internal to the crypto module: libsodium is initialised once per process,
/// thread-safely, before the first call that needs it.

namespace marketsim::consensus::crypto::detail {

/// Calls sodium_init() exactly once (a function-local static: the C++ runtime
/// serialises the first call). Aborts with a message if libsodium cannot
/// initialise: nothing in this module is safe to run without it.
void ensure_sodium();

} // namespace marketsim::consensus::crypto::detail

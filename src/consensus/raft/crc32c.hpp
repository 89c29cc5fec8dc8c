#pragma once

/// CRC-32C (Castagnoli), the checksum of every record raft_storage writes.
/// Pure: a table-driven software implementation, no I/O.
///
/// Why CRC-32C and not a cryptographic hash: the records guard against torn
/// writes and bit rot on our own disk, not against an adversary, and CRC-32C
/// detects every burst error up to 32 bits and all odd numbers of bit flips
/// at a cost of 4 bytes per record (LevelDB, RocksDB and etcd's WAL use it
/// for the same purpose). Anything signed or compared across validators uses
/// BLAKE2b instead (see the state machines' state_hash()).

#include <cstdint>
#include <string_view>

namespace marketsim::consensus::raft {

/// Extends `crc` (the value returned for the bytes before, 0 to start) over
/// `bytes`. crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0);

} // namespace marketsim::consensus::raft

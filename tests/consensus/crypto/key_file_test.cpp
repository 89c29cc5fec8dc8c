#include "consensus/crypto/key_file.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include <unistd.h>

using namespace marketsim::consensus::crypto;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() /
           ("marketsim-keys-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) +
            "-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

} // namespace

TEST_CASE("a saved key pair loads back with the same keys and owner-only mode",
          "[crypto][key_file]") {
  temp_dir dir;
  auto keys = key_pair::derive(5, 2);
  auto file = dir.path / "v2.key";
  REQUIRE(save_key_pair(file, keys));
  auto perms = fs::status(file).permissions();
  CHECK((perms & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  auto loaded = load_key_pair(file);
  REQUIRE(loaded);
  CHECK(loaded.value->public_part() == keys.public_part());
  CHECK(loaded.value->sign("m") == keys.sign("m"));

  auto pub = dir.path / "v2.pub";
  REQUIRE(save_public_key(pub, keys.public_part()));
  CHECK(load_public_key(pub).value == keys.public_part());
  CHECK(load_public_key(file).value == keys.public_part());
  auto no_secret = load_key_pair(pub);
  CHECK(no_secret.code == key_file_errc::missing_seed);
}

TEST_CASE("bad key files give a clear error naming the file and line",
          "[crypto][key_file]") {
  temp_dir dir;
  auto missing = load_key_pair(dir.path / "nope.key");
  CHECK(missing.code == key_file_errc::not_found);
  CHECK_THAT(missing.message, Catch::Contains("nope.key"));

  auto f = dir.path / "bad.key";
  write_text(f, "ssh-ed25519 AAAA\n");
  CHECK(load_key_pair(f).code == key_file_errc::bad_header);

  write_text(f, "marketsim-ed25519-v1\nseed 1234\n");
  auto short_seed = load_key_pair(f);
  CHECK(short_seed.code == key_file_errc::bad_field);
  CHECK_THAT(short_seed.message, Catch::Contains("line 2"));

  write_text(f, "marketsim-ed25519-v1\ncolour blue\n");
  CHECK(load_key_pair(f).code == key_file_errc::bad_field);

  auto a = key_pair::derive(1, 0);
  auto b = key_pair::derive(1, 1);
  write_text(f, "marketsim-ed25519-v1\nseed " + to_hex(a.seed()) + "\npublic " +
                    b.public_part().hex() + "\n");
  CHECK(load_key_pair(f).code == key_file_errc::key_mismatch);
  CHECK(to_string(key_file_errc::key_mismatch) == "key_mismatch");
}

#include "distributed/transport.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <CLI/CLI.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <utility>

namespace marketsim::distributed {

namespace {

// -- errors -------------------------------------------------------------------

caf::error fail(caf::sec code, std::string what) {
  return caf::make_error(code, "transport: " + std::move(what));
}

std::string endpoint(const std::string& host, std::uint16_t port) {
  return (host.empty() ? std::string{"*"} : host) + ":" + std::to_string(port);
}

/// Drains OpenSSL's thread-local error queue into one line.
std::string ssl_errors() {
  std::string msg;
  while (auto err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!msg.empty())
      msg += "; ";
    msg += buf;
  }
  return msg.empty() ? std::string{"no OpenSSL detail"} : msg;
}

// -- credential checks -------------------------------------------------------

bool has_credentials(const transport_security& s) {
  return !s.certificate.empty() || !s.key.empty() || !s.passphrase.empty() ||
         !s.cafile.empty() || !s.capath.empty();
}

/// Hands the configured passphrase to OpenSSL. Always installed, so that an
/// encrypted key without a passphrase fails here instead of prompting on a
/// terminal (OpenSSL's default).
int passphrase_cb(char* buf, int size, int, void* user) {
  if (size <= 0)
    return 0;
  const auto& pass = *static_cast<const std::string*>(user);
  auto n = std::min(pass.size(), static_cast<std::size_t>(size - 1));
  std::memcpy(buf, pass.data(), n);
  buf[n] = '\0';
  return static_cast<int>(n);
}

/// Loads every file the way CAF's OpenSSL session will (caf/openssl/session.cpp
/// in 0.17.6: certificate chain, key, verify locations) and checks the key
/// matches the certificate.
caf::error check_tls_files(const transport_security& s) {
  using ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
  ERR_clear_error();
  ctx_ptr ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    return fail(caf::sec::runtime_error,
                "cannot create an OpenSSL context: " + ssl_errors());
  auto pass = s.passphrase;
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_cb);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &pass);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), s.certificate.c_str()) != 1)
    return fail(caf::sec::invalid_argument,
                "cannot load certificate '" + s.certificate + "': " + ssl_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), s.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(caf::sec::invalid_argument,
                "cannot load private key '" + s.key +
                    "' (wrong or missing passphrase?): " + ssl_errors());
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return fail(caf::sec::invalid_argument, "private key '" + s.key +
                                                "' does not match certificate '" +
                                                s.certificate + "': " + ssl_errors());
  auto cafile = s.cafile.empty() ? nullptr : s.cafile.c_str();
  auto capath = s.capath.empty() ? nullptr : s.capath.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), cafile, capath) != 1)
    return fail(caf::sec::invalid_argument, "cannot load CA certificates from '" +
                                                s.cafile + s.capath +
                                                "': " + ssl_errors());
  return caf::none;
}

/// The system must run TLS with exactly the credentials in `s`: publish and
/// connect read them from the system's config, not from `s`.
caf::error check_system(caf::actor_system& sys, const transport_security& s) {
  if (auto err = check(s))
    return err;
  bool secure =
      sys.has_openssl_manager() && sys.openssl_manager().authentication_enabled();
  if (!s.tls) {
    if (secure)
      return fail(caf::sec::invalid_argument,
                  "this node is configured for TLS; a plain link is refused");
    if (!sys.has_middleman())
      return fail(caf::sec::invalid_argument,
                  "the middleman is not loaded: call configure() first");
    return caf::none;
  }
  const auto& cfg = sys.config();
  if (!secure || cfg.openssl_certificate != s.certificate || cfg.openssl_key != s.key ||
      cfg.openssl_passphrase != s.passphrase || cfg.openssl_cafile != s.cafile ||
      cfg.openssl_capath != s.capath)
    return fail(caf::sec::invalid_argument,
                "the actor system was not configured with this TLS security: "
                "call configure() with it before creating the system");
  return caf::none;
}

caf::io::middleman_actor middleman_of(caf::actor_system& sys,
                                      const transport_security& s) {
  return s.tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

// -- reading the configuration -----------------------------------------------

caf::expected<std::string> first_line(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return fail(caf::sec::cannot_open_file, "cannot read '" + path + "'");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

std::string resolve(const std::filesystem::path& dir, const std::string& file) {
  std::filesystem::path p{file};
  return p.is_absolute() ? file : (dir / p).string();
}

// -- rejecting unexpected input ---------------------------------------------

/// Longest excerpt of a rejected message in a log line: a peer must not be
/// able to flood the log with one message.
constexpr std::size_t max_excerpt = 160;

std::string describe_rejected(caf::scheduled_actor* self, caf::message_view& msg) {
  auto excerpt = caf::to_string(msg.content());
  if (excerpt.size() > max_excerpt)
    excerpt = excerpt.substr(0, max_excerpt) + "...";
  return std::string{"rejected unexpected message at "} + self->name() + "#" +
         std::to_string(self->id()) + " from " + caf::to_string(self->current_sender()) +
         ": " + excerpt;
}

} // namespace

// -- public interface ---------------------------------------------------------

caf::error check(const transport_security& s) {
  if (!s.tls) {
    if (has_credentials(s))
      return fail(caf::sec::invalid_argument,
                  "TLS credentials given but tls is off: refusing to run "
                  "plain links on a node meant to be secured");
    return caf::none;
  }
  if (s.certificate.empty() || s.key.empty() || (s.cafile.empty() && s.capath.empty()))
    return fail(caf::sec::invalid_argument,
                "TLS needs a certificate, its key and a CA (cafile or capath); "
                "without them CAF's OpenSSL module would use anonymous, "
                "unauthenticated cipher suites");
  return check_tls_files(s);
}

caf::error configure(caf::actor_system_config& cfg, const transport_security& s) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{connection_timeout});
  if (!s.tls)
    return check(s);
  if (auto err = check(s))
    return err;
  cfg.load<caf::openssl::manager>();
  cfg.openssl_certificate = s.certificate;
  cfg.openssl_key = s.key;
  cfg.openssl_passphrase = s.passphrase;
  cfg.openssl_cafile = s.cafile;
  cfg.openssl_capath = s.capath;
  return caf::none;
}

caf::expected<std::uint16_t> publish(caf::actor_system& sys, const caf::actor& a,
                                     std::uint16_t port, const std::string& addr,
                                     const transport_security& s, bool reuse_address) {
  if (!a)
    return fail(caf::sec::cannot_publish_invalid_actor,
                "cannot publish an invalid actor on " + endpoint(addr, port));
  if (auto err = check_system(sys, s))
    return err;
  auto in = addr.empty() ? nullptr : addr.c_str();
  auto res =
      s.tls ? caf::openssl::publish(a, port, in, reuse_address)
            : sys.middleman().publish(a, port, in, reuse_address);
  if (!res)
    return fail(res.error() == caf::sec::cannot_open_port ? caf::sec::cannot_open_port
                                                          : caf::sec::runtime_error,
                "cannot publish on " + endpoint(addr, port) + ": " +
                    sys.render(res.error()));
  return *res;
}

caf::expected<caf::actor> connect(caf::actor_system& sys, const std::string& host,
                                  std::uint16_t port, const transport_security& s,
                                  std::chrono::milliseconds timeout) {
  if (auto err = check_system(sys, s))
    return err;
  auto where = endpoint(host, port);
  caf::expected<caf::actor> result{
      fail(caf::sec::runtime_error, "no reply connecting to " + where)};
  caf::scoped_actor self{sys};
  // Not middleman().remote_actor(): that waits forever, and a peer that
  // rejects our TLS handshake may never answer.
  self->request(middleman_of(sys, s), timeout, caf::connect_atom::value, host, port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
              const std::set<std::string>&) {
            if (ptr)
              result = caf::actor_cast<caf::actor>(std::move(ptr));
            else
              result = fail(caf::sec::no_actor_published_at_port,
                            "no actor published at " + where);
          },
          [&](caf::error& err) {
            if (err == caf::sec::request_timeout)
              result = fail(caf::sec::connection_timeout,
                            "connecting to " + where + " timed out after " +
                                std::to_string(timeout.count()) +
                                " ms (peer down, or it refused our credentials)");
            else if (err == caf::sec::disconnect_during_handshake)
              result = fail(caf::sec::cannot_connect_to_node,
                            "cannot connect to " + where +
                                ": the connection closed during the handshake "
                                "(one side rejected the other's certificate, "
                                "or one side runs TLS and the other plain)");
            else
              result = fail(caf::sec::cannot_connect_to_node,
                            "cannot connect to " + where + ": " + sys.render(err));
          });
  return result;
}

void reject_unexpected(caf::scheduled_actor* self, reject_log log) {
  self->set_default_handler(
      [log = std::move(log)](caf::scheduled_actor* ptr,
                             caf::message_view& msg) -> caf::result<caf::message> {
        auto line = describe_rejected(ptr, msg);
        if (log)
          log(line);
        else
          spdlog::warn("{}", line);
        return caf::make_error(caf::sec::unexpected_message);
      });
}

caf::expected<transport_security> read_security_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return fail(caf::sec::cannot_open_file, "cannot read '" + path + "': " + e.what());
  }
  if (!root.IsMap())
    return fail(caf::sec::invalid_argument,
                "'" + path + "' must be a map of tls settings");
  auto dir = std::filesystem::path{path}.parent_path();
  transport_security s;
  try {
    for (const auto& kv : root) {
      auto key = kv.first.as<std::string>();
      if (key == "tls") {
        s.tls = kv.second.as<bool>();
        continue;
      }
      auto value = kv.second.as<std::string>();
      if (key == "certificate")
        s.certificate = resolve(dir, value);
      else if (key == "key")
        s.key = resolve(dir, value);
      else if (key == "passphrase")
        s.passphrase = value;
      else if (key == "passphrase_file") {
        auto line = first_line(resolve(dir, value));
        if (!line)
          return line.error();
        s.passphrase = std::move(*line);
      } else if (key == "cafile")
        s.cafile = resolve(dir, value);
      else if (key == "capath")
        s.capath = resolve(dir, value);
      else
        return fail(caf::sec::invalid_argument,
                    "'" + path + "': unknown key '" + key +
                        "' (known: tls, certificate, key, passphrase, "
                        "passphrase_file, cafile, capath)");
    }
  } catch (const YAML::Exception& e) {
    return fail(caf::sec::invalid_argument, "'" + path + "': " + std::string{e.what()});
  }
  return s;
}

void add_security_options(CLI::App& app, transport_security& s) {
  // CLI11 runs option callbacks in the order the options were added: the file
  // first, so that the individual flags override it.
  app.add_option_function<std::string>(
         "--tls-config",
         [&s](const std::string& file) {
           auto read = read_security_file(file);
           if (!read)
             throw CLI::ValidationError("--tls-config", caf::to_string(read.error()));
           s = std::move(*read);
         },
         "YAML file with tls, certificate, key, passphrase_file, cafile, capath")
      ->check(CLI::ExistingFile);
  auto file_flag = [&app, &s](const char* name, std::string transport_security::*field,
                              const char* help) {
    app.add_option_function<std::string>(
           name,
           [&s, field](const std::string& file) {
             s.*field = file;
             s.tls = true;
           },
           help)
        ->check(CLI::ExistingFile);
  };
  file_flag("--tls-cert", &transport_security::certificate,
            "PEM certificate of this node (turns TLS on)");
  file_flag("--tls-key", &transport_security::key,
            "PEM private key of this node (turns TLS on)");
  file_flag("--tls-ca", &transport_security::cafile,
            "PEM file of the CA that signs the peers (turns TLS on)");
  app.add_option_function<std::string>(
         "--tls-ca-path",
         [&s](const std::string& dir) {
           s.capath = dir;
           s.tls = true;
         },
         "directory of hashed CA certificates (turns TLS on)")
      ->check(CLI::ExistingDirectory);
  app.add_option_function<std::string>(
         "--tls-key-pass-file",
         [&s](const std::string& file) {
           auto line = first_line(file);
           if (!line)
             throw CLI::ValidationError("--tls-key-pass-file",
                                        caf::to_string(line.error()));
           s.passphrase = std::move(*line);
           s.tls = true;
         },
         "file whose first line is the key's passphrase")
      ->check(CLI::ExistingFile);
}

} // namespace marketsim::distributed

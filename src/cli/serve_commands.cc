// bulwark serve, bulwark tokens create|list|revoke

#include <fmt/format.h>

#include <memory>

#include "bulwark/config/config.h"
#include "bulwark/core/json_writer.h"
#include "bulwark/data/builtin_env.h"
#include "bulwark/server/service.h"
#include "bulwark/server/tokens.h"
#include "commands.h"

namespace bulwark::cli {

namespace {

struct ServeOptions {
  std::string config;
  std::string data_dir;
  std::string listen;
  std::string role;
  std::string customer;
  std::string description;
  std::string token_id;
};

int RunServe(const ServeOptions& options, bool data_dir_given) {
  auto loaded = LoadConfig(options.config, options.data_dir, data_dir_given);
  if (!loaded) return kExitFindings;
  config::Config config = std::move(*loaded);
  if (!options.listen.empty()) config.listen = options.listen;
  server::Service::BlockSignals();
  auto service = server::Service::Start(config, options.config, data::BuiltinEnv::Default());
  if (!service) {
    fmt::print(stderr, "bulwark: cannot start: {}\n", service.error().ToString());
    return kExitFindings;
  }
  (*service)->RunUntilSignalled();
  return kExitOk;
}

int RunTokens(const ServeOptions& options, const std::string& action) {
  auto store = store::OpenSqliteStore(options.data_dir);
  if (!store) {
    fmt::print(stderr, "bulwark: {}\n", store.error().ToString());
    return kExitFindings;
  }
  if (action == "create") {
    auto role = model::ParseRole(options.role);
    if (!role) {
      fmt::print(stderr, "bulwark: --role must be analyst, responder, admin or customer\n");
      return kExitUsage;
    }
    auto token = server::CreateToken(**store, *role, options.customer, options.description,
                                     Env::Default().Now());
    if (!token) {
      fmt::print(stderr, "bulwark: {}\n", token.error().ToString());
      return kExitFindings;
    }
    fmt::print("{}\n", *token);
    fmt::print(stderr, "Keep this token: it is shown only now (the store keeps its hash).\n");
    return kExitOk;
  }
  if (action == "list") {
    auto tokens = (*store)->ListTokens();
    if (!tokens) {
      fmt::print(stderr, "bulwark: {}\n", tokens.error().ToString());
      return kExitFindings;
    }
    for (const auto& t : *tokens) {
      std::string out;
      JsonWriter json(out);
      json.BeginObject();
      json.Member("id", t.id);
      json.Member("role", model::RoleName(t.role));
      json.Member("customer", t.customer_id);
      json.Member("description", t.description);
      json.Member("created_at", FormatTimestamp(t.created_at));
      json.Member("revoked", t.revoked);
      json.EndObject();
      fmt::print("{}\n", out);
    }
    return kExitOk;
  }
  auto revoked = (*store)->RevokeToken(options.token_id);
  if (!revoked) {
    fmt::print(stderr, "bulwark: {}\n", revoked.error().ToString());
    return kExitFindings;
  }
  if (!*revoked) {
    fmt::print(stderr, "bulwark: no token {}\n", options.token_id);
    return kExitFindings;
  }
  return kExitOk;
}

}  // namespace

Runner AddServeCommands(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* serve = app.add_subcommand(
      "serve", "Run the service: REST API, timers, mail (SIGHUP reloads, SIGTERM drains)");
  AddDataDirOption(*serve, o->data_dir);
  serve->add_option("--config", o->config, "Configuration file (docs/configuration.md)")
      ->type_name("FILE");
  serve->add_option("--listen", o->listen, "HOST:PORT of the API (overrides the file)");

  auto* tokens = app.add_subcommand("tokens", "API bearer tokens");
  tokens->require_subcommand(1);
  auto* create = tokens->add_subcommand("create", "Create a token and print it (once)");
  AddDataDirOption(*create, o->data_dir);
  create->add_option("--role", o->role, "analyst, responder, admin or customer")->required();
  create->add_option("--customer", o->customer, "The customer a customer token belongs to");
  create->add_option("--description", o->description, "What the token is for");
  auto* list = tokens->add_subcommand("list", "Print the tokens (JSON lines, no secrets)");
  AddDataDirOption(*list, o->data_dir);
  auto* revoke = tokens->add_subcommand("revoke", "Revoke a token by its id");
  AddDataDirOption(*revoke, o->data_dir);
  revoke->add_option("id", o->token_id, "Token id (the part after bwk_)")->required();

  return [=]() -> std::optional<int> {
    if (*serve) return RunServe(*o, serve->count("--data-dir") > 0);
    if (*create) return RunTokens(*o, "create");
    if (*list) return RunTokens(*o, "list");
    if (*revoke) return RunTokens(*o, "revoke");
    return std::nullopt;
  };
}

}  // namespace bulwark::cli

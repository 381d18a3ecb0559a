// bulwark serve, bulwark tokens create | list | revoke

#include <fmt/format.h>

#include <memory>

#include "bulwark/core/json_writer.h"
#include "bulwark/server/service.h"
#include "bulwark/server/tokens.h"
#include "bulwark/store/store.h"
#include "commands.h"

namespace bulwark::cli {

namespace {
struct ServeOptions {
  StoreOptions store;
  std::string listen;
};
}  // namespace

Handler SetupServe(CLI::App& command) {
  auto o = std::make_shared<ServeOptions>();
  AddStoreOptions(command, o->store);
  command.add_option("--listen", o->listen, "HOST:PORT of the API (overrides the file)");
  return [o]() -> Outcome {
    auto config = LoadConfig(o->store);
    if (!config) return tl::unexpected(config.error());
    if (!o->listen.empty()) config->listen = o->listen;
    server::Service::BlockSignals();
    auto service = server::Service::Start(*config, o->store.config, ProgramEnv());
    if (!service) return RuntimeError("cannot start: " + service.error().ToString());
    (*service)->RunUntilSignalled();
    return kExitOk;
  };
}

namespace {

struct TokenOptions {
  StoreOptions store;
  std::string role;
  std::string customer;
  std::string description;
  std::string id;
};

// The store of `options`, for token commands (they need no configuration).
tl::expected<std::unique_ptr<store::Store>, Failure> OpenStore(const StoreOptions& options) {
  auto store = store::OpenSqliteStore(options.data_dir);
  if (!store) return RuntimeError(store.error());
  return std::move(*store);
}

}  // namespace

Handler SetupTokensCreate(CLI::App& command) {
  auto o = std::make_shared<TokenOptions>();
  AddStoreOptions(command, o->store, false);
  command.add_option("--role", o->role, "analyst, responder, admin or customer")->required();
  command.add_option("--customer", o->customer, "The customer a customer token belongs to");
  command.add_option("--description", o->description, "What the token is for");
  return [o]() -> Outcome {
    auto role = model::ParseRole(o->role);
    if (!role) return UsageError("--role must be analyst, responder, admin or customer");
    auto store = OpenStore(o->store);
    if (!store) return tl::unexpected(store.error());
    auto token =
        server::CreateToken(**store, *role, o->customer, o->description, ProgramEnv().Now());
    if (!token) return RuntimeError(token.error());
    fmt::print("{}\n", *token);
    fmt::print(stderr, "Keep this token: it is shown only now (the store keeps its hash).\n");
    return kExitOk;
  };
}

Handler SetupTokensList(CLI::App& command) {
  auto o = std::make_shared<TokenOptions>();
  AddStoreOptions(command, o->store, false);
  return [o]() -> Outcome {
    auto store = OpenStore(o->store);
    if (!store) return tl::unexpected(store.error());
    auto tokens = (*store)->ListTokens();
    if (!tokens) return RuntimeError(tokens.error());
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
  };
}

Handler SetupTokensRevoke(CLI::App& command) {
  auto o = std::make_shared<TokenOptions>();
  AddStoreOptions(command, o->store, false);
  command.add_option("id", o->id, "Token id (the part after bwk_)")->required();
  return [o]() -> Outcome {
    auto store = OpenStore(o->store);
    if (!store) return tl::unexpected(store.error());
    auto revoked = (*store)->RevokeToken(o->id);
    if (!revoked) return RuntimeError(revoked.error());
    if (!*revoked) return RuntimeError("no token " + o->id);
    return kExitOk;
  };
}

}  // namespace bulwark::cli

#include "bulwark/cloud/stackit_forensics.h"

#include "iaas_session.h"

namespace bulwark::cloud {

namespace {

Result<iaas::IaasSession> Open(const StackitEnforcerSettings& settings) {
  auto token =
      settings.token ? settings.token() : Result<std::string>(Fail("stackit: no credentials"));
  if (!token) return tl::unexpected(token.error());
  return iaas::IaasSession(settings, *token);
}

}  // namespace

Result<CloudEvidence> StackitConsoleLog(const StackitEnforcerSettings& settings,
                                        const std::string& project, const std::string& server,
                                        int lines) {
  auto api = Open(settings);
  if (!api) return tl::unexpected(api.error());
  std::string url = fmt::format("{}/servers/{}/log", api->Base(project), server);
  if (lines > 0) url += fmt::format("?length={}", lines);
  auto body = api->Call("GET", url);
  if (!body) return tl::unexpected(body.error());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(*body).get(root) != simdjson::SUCCESS) {
    return Fail(fmt::format("server {}: the console log is not JSON", server));
  }
  CloudEvidence evidence;
  evidence.name = fmt::format("console-{}.log", server);
  evidence.kind = "console";
  evidence.method = "STACKIT IaaS v2 GetServerLog";
  evidence.content = iaas::Text(root, "output");
  return evidence;
}

Result<CloudEvidence> StackitSnapshot(const StackitEnforcerSettings& settings,
                                      const std::string& project, const std::string& server,
                                      const std::string& name) {
  auto api = Open(settings);
  if (!api) return tl::unexpected(api.error());
  auto described =
      api->Call("GET", fmt::format("{}/servers/{}?details=true", api->Base(project), server));
  if (!described) return tl::unexpected(described.error());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(*described).get(root) != simdjson::SUCCESS) {
    return Fail(fmt::format("server {}: not JSON", server));
  }
  std::string volume;
  simdjson::dom::element boot;
  if (root["bootVolume"].get(boot) == simdjson::SUCCESS) volume = iaas::Text(boot, "id");
  if (volume.empty()) {
    auto volumes = iaas::Strings(root, "volumes");
    if (!volumes.empty()) volume = volumes.front();
  }
  if (volume.empty()) return Fail(fmt::format("server {} has no volume to snapshot", server));
  std::string request;
  JsonWriter json(request);
  json.BeginObject();
  json.Member("volumeId", volume);
  json.Member("name", name);
  json.Key("labels");
  json.BeginObject();
  json.Member("managed-by", "bulwark");
  json.EndObject();
  json.EndObject();
  auto created = api->Call("POST", fmt::format("{}/snapshots", api->Base(project)), request);
  if (!created) return tl::unexpected(created.error());
  simdjson::dom::element snapshot;
  if (parser.parse(*created).get(snapshot) != simdjson::SUCCESS ||
      iaas::Text(snapshot, "id").empty()) {
    return Fail("the created snapshot has no id");
  }
  std::string id = iaas::Text(snapshot, "id");
  std::string record = *created;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::nanoseconds(settings.operation_timeout);
  while (true) {
    auto state = api->Call("GET", fmt::format("{}/snapshots/{}", api->Base(project), id));
    if (!state) return tl::unexpected(state.error());
    simdjson::dom::element current;
    if (parser.parse(*state).get(current) != simdjson::SUCCESS) return Fail("snapshot: not JSON");
    std::string status = iaas::Text(current, "status");
    record = *state;
    if (status == "AVAILABLE") break;
    if (status == "ERROR") return Fail(fmt::format("snapshot {} of volume {} failed", id, volume));
    if (std::chrono::steady_clock::now() >= deadline) {
      return Fail(fmt::format("snapshot {} still {} after {} s", id, status,
                              settings.operation_timeout / kNsPerSecond));
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(settings.poll_interval));
  }
  CloudEvidence evidence;
  evidence.name = fmt::format("snapshot-{}.json", id);
  evidence.kind = "snapshot";
  evidence.method = fmt::format("STACKIT IaaS v2 CreateSnapshot of volume {}", volume);
  evidence.content = record;
  return evidence;
}

const std::vector<VolatileStep>& VolatileOrder() {
  static const std::vector<VolatileStep> steps = {
      {"network", "date -u +%FT%T.%NZ; ip route show table all; ip neigh show; ss -tunap"},
      {"processes", "date -u +%FT%T.%NZ; ps auxwwf"},
      {"users", "date -u +%FT%T.%NZ; who -a; last -n 50"},
      {"system", "date -u +%FT%T.%NZ; lsmod; ls -la /tmp /var/tmp /dev/shm"},
  };
  return steps;
}

Result<CloudEvidence> StackitRunCommand(const StackitEnforcerSettings& settings,
                                        const std::string& run_command_url,
                                        const std::string& project, const std::string& server,
                                        const VolatileStep& step) {
  auto api = Open(settings);
  if (!api) return tl::unexpected(api.error());
  std::string base = fmt::format("{}/v2/projects/{}/regions/{}/servers/{}/commands",
                                 run_command_url, project, settings.region, server);
  std::string request;
  JsonWriter json(request);
  json.BeginObject();
  json.Member("commandTemplateName", "RunShellScript");
  json.Key("parameters");
  json.BeginObject();
  json.Member("script", step.script);
  json.EndObject();
  json.EndObject();
  auto created = api->Call("POST", base, request);
  if (!created) return tl::unexpected(created.error());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  int64_t id = 0;
  if (parser.parse(*created).get(root) != simdjson::SUCCESS ||
      root["id"].get_int64().get(id) != simdjson::SUCCESS) {
    return Fail("Run Command: the answer has no command id");
  }
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::nanoseconds(settings.operation_timeout);
  while (true) {
    auto state = api->Call("GET", fmt::format("{}/{}", base, id));
    if (!state) return tl::unexpected(state.error());
    simdjson::dom::element command;
    if (parser.parse(*state).get(command) != simdjson::SUCCESS) {
      return Fail("Run Command: not JSON");
    }
    std::string status = iaas::Text(command, "status");
    if (status == "completed" || status == "failed") {
      int64_t exit_code = -1;
      if (command["exitCode"].get_int64().get(exit_code) != simdjson::SUCCESS) exit_code = -1;
      CloudEvidence evidence;
      evidence.name = fmt::format("volatile-{}-{}.txt", step.name, id);
      evidence.kind = "volatile";
      evidence.method = fmt::format("STACKIT Run Command RunShellScript ({}), {}, exit {}: {}",
                                    step.name, status, exit_code, step.script);
      evidence.content = iaas::Text(command, "output");
      return evidence;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Fail(fmt::format("Run Command {} still {} after {} s", id, status,
                              settings.operation_timeout / kNsPerSecond));
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(settings.poll_interval));
  }
}

}  // namespace bulwark::cloud

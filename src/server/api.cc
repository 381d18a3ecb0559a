#include "api.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "bulwark/core/json_writer.h"
#include "bulwark/core/strings.h"
#include "bulwark/countermeasure/countermeasures.h"
#include "bulwark/data/embedded.h"
#include "bulwark/finding/intelmq.h"
#include "bulwark/incident/json.h"
#include "bulwark/mail/message.h"
#include "bulwark/server/tokens.h"
#include "responses.h"

namespace bulwark::server {

namespace {

// Longest path with query this server reads, and the most header bytes (414 and 431 above).
constexpr size_t kMaxTargetBytes = 8 * 1024;
constexpr size_t kMaxHeaderBytes = 16 * 1024;

// Lists page by 100 unless asked for fewer or more (at most 1,000).
constexpr size_t kDefaultPage = 100;
constexpr size_t kMaxPage = 1000;

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  for (std::string_view part : Split(path, '/')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

bool Staff(const model::Token& t) {
  return t.role != model::Role::kCustomer;
}

std::string Query(const HttpRequest& r, const char* key) {
  auto it = r.query.find(key);
  return it == r.query.end() ? std::string() : it->second;
}

// ?limit= (1 to kMaxPage; kDefaultPage when absent). nullopt when it is not such a number.
std::optional<size_t> Limit(const HttpRequest& r) {
  std::string text = Query(r, "limit");
  if (text.empty()) return kDefaultPage;
  auto n = ParseInt(text);
  if (!n || *n < 1 || *n > static_cast<int64_t>(kMaxPage)) return std::nullopt;
  return static_cast<size_t>(*n);
}

// ?after= (an id, 0 when absent). nullopt when it is not a number.
std::optional<int64_t> After(const HttpRequest& r) {
  std::string text = Query(r, "after");
  if (text.empty()) return 0;
  auto n = ParseInt(text);
  if (!n || *n < 0) return std::nullopt;
  return *n;
}

HttpResponse BadPaging() {
  return Problem(400, "Bad Request",
                 fmt::format("'limit' is a number from 1 to {}; 'after' an id from a "
                             "previous page's next_after",
                             kMaxPage));
}

// The media type of the request body, lower case, without parameters.
std::string MediaType(const HttpRequest& r) {
  auto it = r.headers.find("content-type");
  if (it == r.headers.end()) return {};
  std::string_view type = it->second;
  return AsciiLower(Trim(type.substr(0, type.find(';'))));
}

// 415 unless the body is declared as one of `types`.
std::optional<HttpResponse> RequireMediaType(const HttpRequest& r,
                                             std::initializer_list<std::string_view> types) {
  std::string type = MediaType(r);
  for (std::string_view allowed : types) {
    if (type == allowed) return std::nullopt;
  }
  std::string list;
  for (std::string_view allowed : types) list += (list.empty() ? "" : ", ") + std::string(allowed);
  HttpResponse response = Problem(
      415, "Unsupported Media Type",
      fmt::format("the body is {}; send it as {} (curl: --data-binary @FILE -H 'Content-Type: {}')",
                  type.empty() ? "undeclared" : "'" + type + "'", list, *types.begin()));
  response.headers["Accept-Post"] = list;
  return response;
}

// Reads a JSON object body with the members `allowed` into `body`; the problem (415, 400) when the
// body is not such an object.
std::optional<HttpResponse> ReadJsonBody(const HttpRequest& r,
                                         std::initializer_list<std::string_view> allowed,
                                         input::FlatFields& body) {
  if (auto refused = RequireMediaType(r, {"application/json"})) return refused;
  input::JsonFlattener flattener;
  if (!flattener.Flatten(r.body, body)) {
    return Problem(400, "Bad Request", "the body must be one JSON object");
  }
  for (const auto& [key, value] : body.fields) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string names;
      for (std::string_view name : allowed)
        names += (names.empty() ? "" : ", ") + std::string(name);
      return Problem(400, "Bad Request", fmt::format("unknown field '{}' ({})", key, names));
    }
  }
  return std::nullopt;
}

// Times a client may name: from 1990 to a year ahead.
bool SaneTime(TimeNs t, TimeNs now) {
  static const TimeNs kEarliest = ToUnixNs(CivilTime{1990, 1, 1, 0, 0, 0, 0});
  return t >= kEarliest && t <= now + 366 * 86400 * kNsPerSecond;
}

// The answer to a store that failed: 503 (try again) when it was busy with another writer past
// its timeout, else 500.
HttpResponse StoreFailure(const Error& error) {
  std::string text = error.ToString();
  if (text.find("database is locked") != std::string::npos ||
      text.find("database is busy") != std::string::npos) {
    HttpResponse busy = Problem(503, "Service Unavailable", "the store is busy: " + text);
    busy.headers["Retry-After"] = "5";
    return busy;
  }
  return Problem(500, "Internal Server Error", text);
}

// "next_after": the last id of a page that was cut, else null.
void NextAfter(JsonWriter& json, const char* key, bool more, int64_t last) {
  json.Key(key);
  if (more) {
    json.Int(last);
  } else {
    json.Null();
  }
}

// A page of a list, {"<key>": [...], "next_after": ...}: `items` was read with one more than
// `limit`, which shows that there is a next page; `write` writes one item.
template <typename T, typename Write>
HttpResponse ListPage(std::vector<T> items, size_t limit, const char* key, Write&& write) {
  bool more = items.size() > limit;
  if (more) items.resize(limit);
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Key(key);
  json.BeginArray();
  for (const auto& item : items) write(json, item);
  json.EndArray();
  NextAfter(json, "next_after", more, items.empty() ? 0 : items.back().id);
  json.EndObject();
  return Json(out);
}

}  // namespace

Api::Api(spine::Spine& spine, intake::Intake& intake, std::function<std::string()> metrics)
    : spine_(spine), intake_(intake), metrics_(std::move(metrics)) {}

HttpResponse Api::Handle(const HttpRequest& request) {
  return Route(request);
}

HttpResponse Api::Route(const HttpRequest& request) {
  // A NUL byte in a path is no name of anything; two Authorization headers leave it open which
  // one counts; Content-Length beside Transfer-Encoding is how requests are smuggled.
  if (request.path.find('\0') != std::string::npos ||
      request.path.find("%00") != std::string::npos) {
    return Problem(400, "Bad Request", "the path holds a NUL byte");
  }
  if (request.repeated.count("authorization")) {
    return Problem(400, "Bad Request", "more than one Authorization header");
  }
  if (request.target_bytes > kMaxTargetBytes) {
    return Problem(414, "URI Too Long",
                   fmt::format("the request target exceeds {} bytes", kMaxTargetBytes));
  }
  if (request.header_bytes > kMaxHeaderBytes) {
    return Problem(431, "Request Header Fields Too Large",
                   fmt::format("the header fields exceed {} bytes", kMaxHeaderBytes));
  }
  // HEAD is GET without the body (the HTTP server leaves the body out).
  HttpRequest as_get;
  if (request.method == "HEAD") {
    as_get = request;
    as_get.method = "GET";
  }
  const HttpRequest& r = request.method == "HEAD" ? as_get : request;
  bool fixed_resource =
      r.path == "/healthz" || r.path == "/metrics" || r.path == "/api/v1/openapi.json";
  if (fixed_resource && r.method != "GET") return NotAllowed("GET, HEAD");
  if (r.path == "/healthz") {
    HttpResponse ok;
    ok.content_type = "text/plain";
    ok.body = "ok\n";
    return ok;
  }
  if (r.path == "/metrics") {
    HttpResponse metrics;
    metrics.content_type = "text/plain; version=0.0.4";
    metrics.body = metrics_();
    return metrics;
  }
  if (r.path == "/api/v1/openapi.json") {
    return Json(std::string(data::EmbeddedFileContent("openapi.json")));
  }
  auto segments = SplitPath(r.path);
  if (segments.size() < 2 || segments[0] != "api" || segments[1] != "v1") {
    return Problem(404, "Not Found", fmt::format("no resource at {}", r.path));
  }
  auto header = r.headers.find("authorization");
  std::optional<model::Token> token;
  auto authenticated = spine_.Read([&](store::Store& store) -> Result<void> {
    auto found = Authenticate(store, header == r.headers.end() ? "" : header->second);
    if (!found) return tl::unexpected(found.error());
    token = std::move(*found);
    return {};
  });
  if (!authenticated) {
    return StoreFailure(authenticated.error());
  }
  if (!token) return Problem(401, "Unauthorized", "a valid bearer token is required");
  const model::Token& who = *token;
  Segments rest(segments.begin() + 2, segments.end());
  if (rest.empty()) return Problem(404, "Not Found", "see /api/v1/openapi.json");
  if (rest[0] == "findings") return Findings(r, who, rest);
  if (rest[0] == "reports") return Reports(r, who, rest);
  if (rest[0] == "incidents") return Incidents(r, who, rest);
  if (rest[0] == "attribution") return Attribution(r, who);
  if (rest[0] == "countermeasures") return Countermeasures(r, who, rest);
  if (rest[0] == "inventory") return Inventory(r, who, rest);
  return Problem(404, "Not Found", fmt::format("no resource at {}", r.path));
}

HttpResponse Api::Findings(const HttpRequest& r, const model::Token& who, const Segments& rest) {
  if (!Staff(who)) return Problem(403, "Forbidden", "customer tokens cannot use findings");
  if (rest.size() == 1 && r.method == "POST") {
    if (auto refused = RequireMediaType(
            r, {"application/x-ndjson", "application/jsonl", "application/json"})) {
      return *refused;
    }
    if (Trim(r.body).empty()) return Problem(400, "Bad Request", "the body holds no finding");
    // Each line is read first; the readable ones are taken together (in bounded batches).
    struct Line {
      size_t number = 0;
      std::string error;
      size_t finding = 0;  // index into `findings`
    };
    std::vector<Line> lines;
    std::vector<model::Finding> findings;
    input::JsonFlattener flattener;
    TimeNs now = spine_.env().Now();
    size_t number = 0;
    for (std::string_view text : Split(r.body, '\n')) {
      ++number;
      if (Trim(text).empty()) continue;
      Line line{number, "", 0};
      auto finding = finding::ParseHarmonized(text, now, flattener);
      if (!finding) {
        line.error = finding.error().message;
      } else if (!SaneTime(finding->time_source, now)) {
        line.error = fmt::format("time.source {} is not between 1990 and a year from now",
                                 FormatTimestamp(finding->time_source));
      } else {
        line.finding = findings.size();
        findings.push_back(std::move(*finding));
      }
      lines.push_back(std::move(line));
    }
    auto taken = intake_.TakeFindings(findings);
    if (!taken) return StoreFailure(taken.error());
    std::string out;
    JsonWriter json(out);
    json.BeginObject();
    json.Key("results");
    json.BeginArray();
    bool any_rejected = false;
    for (const Line& line : lines) {
      json.BeginObject();
      json.Member("line", static_cast<int64_t>(line.number));
      if (!line.error.empty()) {
        any_rejected = true;
        json.Member("error", line.error);
      } else {
        const incident::TakeResult& result = (*taken)[line.finding];
        json.Member("outcome", incident::OutcomeName(result.outcome));
        json.Member("finding", result.finding_id);
        json.Key("incident");
        if (result.incident_id) {
          json.Int(result.incident_id);
        } else {
          json.Null();
        }
      }
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    return Json(out, any_rejected ? 422 : 200);
  }
  if (rest.size() == 2 && rest[1] != "unattributed" && r.method == "GET") {
    auto id = ParseInt(rest[1]);
    std::optional<store::StoredFinding> found;
    auto read = spine_.Read([&](store::Store& store) -> Result<void> {
      if (!id) return {};
      auto got = store.GetFinding(*id);
      if (!got) return tl::unexpected(got.error());
      found = std::move(*got);
      return {};
    });
    if (!read) return StoreFailure(read.error());
    if (!found) return Problem(404, "Not Found", fmt::format("no finding {}", rest[1]));
    std::string out;
    JsonWriter json(out);
    incident::WriteStoredFinding(json, *found);
    return Json(out);
  }
  if (rest.size() == 2 && rest[1] == "unattributed" && r.method == "GET") {
    auto limit = Limit(r);
    auto after = After(r);
    if (!limit || !after) return BadPaging();
    std::vector<store::StoredFinding> queue;
    auto read = spine_.Read([&](store::Store& store) -> Result<void> {
      auto page = store.Unattributed({*after, *limit + 1});
      if (!page) return tl::unexpected(page.error());
      queue = std::move(*page);
      return {};
    });
    if (!read) return StoreFailure(read.error());
    return ListPage(std::move(queue), *limit, "findings", incident::WriteStoredFinding);
  }
  return NotAllowed(rest.size() == 1 ? "POST" : "GET, HEAD");
}

// POST /api/v1/reports: the raw mail or file as the body (?type=, ?name=); GET
// /api/v1/reports/{sha256}: the original as received.
HttpResponse Api::Reports(const HttpRequest& r, const model::Token& who, const Segments& rest) {
  if (!Staff(who)) return Problem(403, "Forbidden", "customer tokens cannot use reports");
  if (rest.size() == 1 && r.method == "POST") {
    // A form encoding would have mangled the report (curl -d drops its line ends).
    std::string type = MediaType(r);
    if (type == "application/x-www-form-urlencoded" || type == "multipart/form-data") {
      return *RequireMediaType(
          r, {"message/rfc822", "text/csv", "application/json", "application/octet-stream"});
    }
    if (r.body.empty()) return Problem(400, "Bad Request", "the body holds no report");
    std::string name = Query(r, "name").empty() ? "api" : "api:" + Query(r, "name");
    auto taken = intake_.TakeReport(r.body, {name, Query(r, "type"), spine_.env().Now()}, "api");
    if (!taken) {
      return Problem(422, "Unprocessable Content",
                     fmt::format("the report was rejected: {}", taken.error().ToString()));
    }
    const abuse::ReportSummary& summary = taken->summary;
    std::string out;
    JsonWriter json(out);
    json.BeginObject();
    json.Member("sha256", summary.sha256);
    json.Member("duplicate", taken->duplicate);
    json.Member("format", summary.format);
    json.Member("detail", summary.detail);
    json.Member("items", static_cast<int64_t>(summary.items));
    json.Member("findings", static_cast<int64_t>(summary.findings));
    json.Member("rejected", static_cast<int64_t>(summary.rejected));
    json.Member("signature", mail::VerdictName(summary.signature.verdict));
    json.Key("notes");
    json.BeginArray();
    for (const auto& note : summary.notes) json.String(note);
    json.EndArray();
    json.Key("outcomes");
    json.BeginObject();
    for (const auto& [outcome, count] : taken->outcomes) {
      json.Member(outcome, static_cast<int64_t>(count));
    }
    json.EndObject();
    json.Key("incidents");
    json.BeginArray();
    for (int64_t id : taken->incidents) json.Int(id);
    json.EndArray();
    json.Member("incidents_total", static_cast<int64_t>(taken->incidents_total));
    json.Key("rejected_rows");
    json.BeginArray();
    for (const auto& error : taken->rejected_rows) {
      json.BeginObject();
      json.Member("where", error.where);
      json.Member("reason", error.message);
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    return Json(out, 200);
  }
  if (rest.size() == 2 && r.method == "GET") {
    std::optional<store::StoredReport> report;
    auto read = spine_.Read([&](store::Store& store) -> Result<void> {
      auto got = store.GetReport(std::string(rest[1]));
      if (!got) return tl::unexpected(got.error());
      report = std::move(*got);
      return {};
    });
    if (!read) return StoreFailure(read.error());
    if (!report) return Problem(404, "Not Found", fmt::format("no report {}", rest[1]));
    HttpResponse response;
    response.content_type =
        mail::LooksLikeMail(report->content) ? "message/rfc822" : "application/octet-stream";
    response.headers["X-Bulwark-Report-Format"] = report->format;
    response.headers["X-Bulwark-Report-Name"] = report->name;
    response.body = std::move(report->content);
    return response;
  }
  return NotAllowed(rest.size() == 1 ? "POST" : "GET, HEAD");
}

HttpResponse Api::Incidents(const HttpRequest& r, const model::Token& who, const Segments& rest) {
  if (rest.size() == 1 && r.method == "GET") {
    store::IncidentFilter filter;
    auto limit = Limit(r);
    auto after = After(r);
    if (!limit || !after) return BadPaging();
    filter.limit = *limit + 1;
    filter.after_id = *after;
    if (auto state = Query(r, "state"); !state.empty()) {
      filter.state = model::ParseState(state);
      if (!filter.state) return Problem(400, "Bad Request", "unknown state " + state);
    }
    filter.customer_id = Staff(who) ? Query(r, "customer") : who.customer_id;
    std::vector<model::Incident> list;
    auto read = spine_.Read([&](store::Store& store) -> Result<void> {
      auto page = store.ListIncidents(filter);
      if (!page) return tl::unexpected(page.error());
      list = std::move(*page);
      return {};
    });
    if (!read) return StoreFailure(read.error());
    return ListPage(std::move(list), *limit, "incidents",
                    [](JsonWriter& json, const model::Incident& incident) {
                      json.BeginObject();
                      incident::WriteIncident(json, incident);
                      json.EndObject();
                    });
  }
  if (rest.size() < 2) return NotAllowed("GET, HEAD");
  // The incident, when `who` may see it (customers: their own only; others look like 404).
  std::optional<model::Incident> incident;
  auto number = ParseInt(rest[1]);
  auto read = spine_.Read([&](store::Store& store) -> Result<void> {
    if (!number) return {};
    auto got = store.GetIncident(*number);
    if (!got) return tl::unexpected(got.error());
    incident = std::move(*got);
    return {};
  });
  if (!read) return StoreFailure(read.error());
  if (incident && !Staff(who) && incident->customer_id != who.customer_id) incident.reset();
  if (!incident) return Problem(404, "Not Found", fmt::format("no incident {}", rest[1]));
  if (rest.size() == 2 && r.method == "GET") return IncidentDetail(r, who, *incident, "");
  if (rest.size() == 3 && r.method == "GET" && (rest[2] == "findings" || rest[2] == "history")) {
    return IncidentDetail(r, who, *incident, rest[2]);
  }
  if (rest.size() == 3 && r.method == "POST" && rest[2] == "comments") {
    return Comment(r, who, *incident);
  }
  if (rest.size() == 3 && r.method == "POST" && rest[2] == "transition") {
    return Transition(r, who, *incident);
  }
  if (rest.size() == 3 && (rest[2] == "findings" || rest[2] == "history")) {
    return NotAllowed("GET, HEAD");
  }
  if (rest.size() == 3 && (rest[2] == "comments" || rest[2] == "transition")) {
    return NotAllowed("POST");
  }
  if (rest.size() == 2) return NotAllowed("GET, HEAD");
  return Problem(404, "Not Found", fmt::format("no resource at {}", r.path));
}

// GET /incidents/{id} (the incident with the first page of findings and of history), or one
// list of it (`part`: "findings" or "history") from ?after= on.
HttpResponse Api::IncidentDetail(const HttpRequest& r, const model::Token& who,
                                 const model::Incident& incident, std::string_view part) {
  auto limit = Limit(r);
  auto after = After(r);
  if (!limit || !after) return BadPaging();
  bool want_findings = part.empty() || part == "findings";
  bool want_history = part.empty() || part == "history";
  store::Page page{part.empty() ? 0 : *after, *limit + 1};
  std::vector<store::StoredFinding> findings;
  std::vector<model::AuditEntry> history;
  auto read = spine_.Read([&](store::Store& store) -> Result<void> {
    if (want_findings) {
      auto got = store.FindingsOfIncident(incident.id, page);
      if (!got) return tl::unexpected(got.error());
      findings = std::move(*got);
    }
    if (want_history) {
      auto got = store.ReadAudit(incident.id, page);
      if (!got) return tl::unexpected(got.error());
      history = std::move(*got);
    }
    return {};
  });
  if (!read) return StoreFailure(read.error());
  incident::DetailPaging paging;
  if (findings.size() > *limit) {
    findings.resize(*limit);
    paging.findings_next_after = findings.back().id;
  }
  if (history.size() > *limit) {
    history.resize(*limit);
    paging.history_next_after = history.back().seq;
  }
  if (!Staff(who)) {
    input::JsonFlattener flattener;
    for (auto& finding : findings) {
      finding = incident::CustomerFinding(std::move(finding), flattener);
    }
    history = incident::CustomerHistory(std::move(history));
  }
  std::string out;
  JsonWriter json(out);
  if (part.empty()) {
    incident::WriteIncidentDetail(json, incident, findings, history, &paging);
    return Json(out);
  }
  json.BeginObject();
  if (want_findings) {
    json.Key("findings");
    json.BeginArray();
    for (const auto& finding : findings) incident::WriteStoredFinding(json, finding);
    json.EndArray();
    NextAfter(json, "next_after", paging.findings_next_after.has_value(),
              paging.findings_next_after.value_or(0));
  } else {
    json.Key("history");
    json.BeginArray();
    for (const auto& entry : history) incident::WriteAuditEntry(json, entry);
    json.EndArray();
    NextAfter(json, "next_after", paging.history_next_after.has_value(),
              paging.history_next_after.value_or(0));
  }
  json.EndObject();
  return Json(out);
}

bool Api::CommentAllowed(const std::string& token, size_t per_minute) {
  TimeNs now = spine_.env().Now();
  std::lock_guard lock(rate_mutex_);
  std::vector<TimeNs>& times = comment_times_[token];
  std::erase_if(times, [&](TimeNs t) { return now - t >= 60 * kNsPerSecond; });
  if (times.size() >= per_minute) return false;
  times.push_back(now);
  return true;
}

HttpResponse Api::Comment(const HttpRequest& r, const model::Token& who,
                          const model::Incident& incident) {
  input::FlatFields body;
  if (auto refused = ReadJsonBody(r, {"text", "internal"}, body)) return *refused;
  const std::string& text = body.fields["text"];
  std::string internal = body.fields.count("internal") ? body.fields["internal"] : "false";
  if (internal != "true" && internal != "false") {
    return Problem(400, "Bad Request", "'internal' is true or false");
  }
  if (internal == "true" && !Staff(who)) {
    return Problem(403, "Forbidden", "internal notes are the provider's staff's");
  }
  if (text.empty()) return Problem(400, "Bad Request", "'text' is required");
  auto limits = spine_.config()->api;
  if (text.size() > limits.max_comment_bytes) {
    return Problem(413, "Content Too Large",
                   fmt::format("a comment holds at most {} bytes (api.max_comment_bytes)",
                               limits.max_comment_bytes));
  }
  if (!CommentAllowed(who.id, limits.comments_per_minute)) {
    HttpResponse slow =
        Problem(429, "Too Many Requests",
                fmt::format("at most {} comments a minute per token (api.comments_per_minute)",
                            limits.comments_per_minute));
    slow.headers["Retry-After"] = "60";
    return slow;
  }
  std::string actor = fmt::format("token:{}({})", who.id, model::RoleName(who.role));
  std::optional<std::string> refused;
  auto done = spine_.Write([&](spine::Spine::Writer& w) -> Result<void> {
    if (internal != "true") {
      auto comments = w.store.CountAudit(incident.id, "comment");
      if (!comments) return tl::unexpected(comments.error());
      if (static_cast<size_t>(*comments) >= limits.max_comments_per_incident) {
        refused = fmt::format("incident {} has its {} comments (api.max_comments_per_incident)",
                              incident.id, limits.max_comments_per_incident);
        return {};
      }
    }
    return w.incidents.Comment(incident.id, actor, text, internal == "true");
  });
  if (!done) return StoreFailure(done.error());
  if (refused) return Problem(409, "Conflict", *refused);
  return Json(R"({"ok":true})", 201);
}

HttpResponse Api::Transition(const HttpRequest& r, const model::Token& who,
                             const model::Incident& incident) {
  input::FlatFields body;
  if (auto refused = ReadJsonBody(r, {"state", "reason"}, body)) return *refused;
  auto to = model::ParseState(body.fields["state"]);
  if (!to) return Problem(400, "Bad Request", "'state' must name an incident state");
  const std::string& reason = body.fields["reason"];
  if (reason.empty()) return Problem(400, "Bad Request", "'reason' is required");
  size_t max_reason = spine_.config()->api.max_comment_bytes;
  if (reason.size() > max_reason) {
    return Problem(
        413, "Content Too Large",
        fmt::format("a reason holds at most {} bytes (api.max_comment_bytes)", max_reason));
  }
  if (!Staff(who) && *to != model::IncidentState::kVerifying) {
    return Problem(403, "Forbidden", "customers can report a fix (state verifying) only");
  }
  std::string actor = fmt::format("token:{}({})", who.id, model::RoleName(who.role));
  std::optional<model::Incident> moved;
  std::optional<Error> refused;
  auto done = spine_.Write([&](spine::Spine::Writer& w) -> Result<void> {
    auto result = w.incidents.Transition(incident.id, *to, actor, reason);
    if (!result) {
      refused = result.error();  // the lifecycle said no: nothing to roll back
      return {};
    }
    moved = std::move(*result);
    return {};
  });
  if (!done) return StoreFailure(done.error());
  if (refused) return Problem(409, "Conflict", refused->message);
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  incident::WriteIncident(json, *moved);
  json.EndObject();
  return Json(out);
}

HttpResponse Api::Countermeasures(const HttpRequest& r, const model::Token& who,
                                  const Segments& rest) {
  bool responder = who.role == model::Role::kResponder || who.role == model::Role::kAdmin;
  std::string actor = fmt::format("token:{}({})", who.id, model::RoleName(who.role));
  auto answer = [](const Result<model::Countermeasure>& c) {
    if (!c) return Problem(409, "Conflict", c.error().message);
    return Json(countermeasure::CountermeasureJson(*c),
                c->state == model::CountermeasureState::kFailed ? 502 : 200);
  };
  if (rest.size() == 1 && r.method == "GET") {
    store::CountermeasureFilter filter;
    auto limit = Limit(r);
    auto after = After(r);
    if (!limit || !after) return BadPaging();
    filter.limit = *limit + 1;
    filter.after_id = *after;
    if (std::string state = Query(r, "state"); !state.empty()) {
      filter.state = model::ParseCountermeasureState(state);
      if (!filter.state)
        return Problem(400, "Bad Request", "'state' must name a countermeasure state");
    }
    filter.system_id = Query(r, "system");
    filter.customer_id = Staff(who) ? Query(r, "customer") : who.customer_id;
    std::vector<model::Countermeasure> listed;
    auto read = spine_.Read([&](store::Store& store) -> Result<void> {
      auto got = store.ListCountermeasures(filter);
      if (!got) return tl::unexpected(got.error());
      listed = std::move(*got);
      return {};
    });
    if (!read) return StoreFailure(read.error());
    return ListPage(std::move(listed), *limit, "countermeasures",
                    [](JsonWriter& json, const model::Countermeasure& c) {
                      json.Raw(countermeasure::CountermeasureJson(c));
                    });
  }
  if (rest.size() == 1 && r.method == "POST") {
    if (!responder) return Problem(403, "Forbidden", "only responders propose countermeasures");
    input::FlatFields body;
    if (auto refused = ReadJsonBody(r,
                                    {"incident_id", "system_id", "kind", "ports", "rate_pps",
                                     "expires_in", "enforcer", "reason"},
                                    body)) {
      return *refused;
    }
    countermeasure::ProposeRequest request;
    auto kind = model::ParseKind(body.fields["kind"].empty() ? "quarantine" : body.fields["kind"]);
    if (!kind) return Problem(400, "Bad Request", "'kind' must name a countermeasure kind");
    request.kind = *kind;
    if (!body.fields["incident_id"].empty()) {
      auto id = ParseInt(body.fields["incident_id"]);
      if (!id) return Problem(400, "Bad Request", "'incident_id' must be a number");
      request.incident_id = *id;
    }
    request.system_id = body.fields["system_id"];
    if (request.incident_id == 0 && request.system_id.empty()) {
      return Problem(400, "Bad Request", "name 'incident_id' or 'system_id'");
    }
    for (std::string_view port : Split(body.fields["ports"], ',')) {
      if (!Trim(port).empty()) request.ports.emplace_back(Trim(port));
    }
    if (!body.fields["rate_pps"].empty()) {
      auto rate = ParseInt(body.fields["rate_pps"]);
      if (!rate || *rate <= 0)
        return Problem(400, "Bad Request", "'rate_pps' must be a positive number");
      request.rate_pps = *rate;
    }
    if (!body.fields["expires_in"].empty()) {
      request.expires_in = ParseTimespan(body.fields["expires_in"]);
      if (!request.expires_in)
        return Problem(400, "Bad Request", "'expires_in' must be a duration such as 2h");
    }
    request.enforcer = body.fields["enforcer"];
    request.reason = body.fields["reason"];
    if (request.reason.empty()) return Problem(400, "Bad Request", "'reason' is required");
    auto controller = spine_.Countermeasures();
    if (!controller) return Problem(503, "Service Unavailable", controller.error().ToString());
    auto proposed = (*controller)->Propose(request, actor);
    if (!proposed) return Problem(422, "Unprocessable Content", proposed.error().message);
    return Json(countermeasure::CountermeasureJson(*proposed), 201);
  }
  if (rest.size() < 2) return NotAllowed("GET, HEAD, POST");
  auto id = ParseInt(rest[1]);
  std::optional<model::Countermeasure> found;
  auto read = spine_.Read([&](store::Store& store) -> Result<void> {
    if (!id) return {};
    auto got = store.GetCountermeasure(*id);
    if (!got) return tl::unexpected(got.error());
    found = std::move(*got);
    return {};
  });
  if (!read) return StoreFailure(read.error());
  // A customer's token does not learn that another customer's countermeasure exists.
  if (!found || (!Staff(who) && found->customer_id != who.customer_id)) {
    return Problem(404, "Not Found", fmt::format("no countermeasure {}", rest[1]));
  }
  if (rest.size() == 2) {
    if (r.method != "GET") return NotAllowed("GET, HEAD");
    return Json(countermeasure::CountermeasureJson(*found));
  }
  if (rest.size() != 3) return Problem(404, "Not Found", fmt::format("no resource at {}", r.path));
  if (r.method != "POST") return NotAllowed("POST");
  if (!responder) return Problem(403, "Forbidden", "only responders act on countermeasures");
  input::FlatFields body;
  if (auto refused = ReadJsonBody(r, {"reason"}, body)) return *refused;
  const std::string& reason = body.fields["reason"];
  auto controller = spine_.Countermeasures();
  if (!controller) return Problem(503, "Service Unavailable", controller.error().ToString());
  auto& cms = **controller;
  if (rest[2] == "approve") return answer(cms.Approve(*id, actor, reason));
  if (rest[2] == "reject") return answer(cms.Reject(*id, actor, reason));
  if (rest[2] == "apply") return answer(cms.Apply(*id, actor, reason));
  if (rest[2] == "lift") return answer(cms.Lift(*id, actor, reason));
  return Problem(404, "Not Found", fmt::format("no resource at {}", r.path));
}

HttpResponse Api::Attribution(const HttpRequest& r, const model::Token& who) {
  if (!Staff(who)) return Problem(403, "Forbidden", "customer tokens cannot look up addresses");
  if (r.method != "GET") return NotAllowed("GET, HEAD");
  auto ip = event::IpAddress::Parse(Query(r, "ip"));
  if (!ip) return Problem(400, "Bad Request", "'ip' must be an IP address");
  TimeNs now = spine_.env().Now();
  TimeNs at = now;
  if (auto text = Query(r, "at"); !text.empty()) {
    auto parsed = ParseTimestamp(text);
    if (!parsed) return Problem(400, "Bad Request", "'at' must be an RFC 3339 time");
    if (!SaneTime(*parsed, now)) {
      return Problem(400, "Bad Request", "'at' must lie between 1990 and a year from now");
    }
    at = *parsed;
  }
  auto index = spine_.index();
  auto found = index->Lookup(*ip, at);
  std::string out;
  JsonWriter json(out);
  incident::WriteWho(json, ip->ToString(), at, found);
  return Json(out);
}

HttpResponse Api::Inventory(const HttpRequest& r, const model::Token& who, const Segments& rest) {
  if (r.method != "GET") return NotAllowed("GET, HEAD");
  auto index = spine_.index();
  const auto& inv = index->inventory();
  std::string out;
  JsonWriter json(out);
  if (rest.size() == 2 && rest[1] == "customers") {
    json.BeginObject();
    json.Key("customers");
    json.BeginArray();
    for (const auto& c : inv.customers) {
      if (Staff(who) || c.id == who.customer_id) incident::WriteCustomer(json, c);
    }
    json.EndArray();
    json.EndObject();
    return Json(out);
  }
  if (rest.size() == 3 && rest[1] == "customers") {
    for (const auto& c : inv.customers) {
      if (c.id != rest[2] || (!Staff(who) && c.id != who.customer_id)) continue;
      incident::WriteCustomer(json, c);
      return Json(out);
    }
    return Problem(404, "Not Found", fmt::format("no customer {}", rest[2]));
  }
  if (rest.size() == 3 && rest[1] == "systems") {
    auto system = index->OfSystem(rest[2]);
    if (!system ||
        (!Staff(who) && (!system->customer || system->customer->id != who.customer_id))) {
      return Problem(404, "Not Found", fmt::format("no system {}", rest[2]));
    }
    json.BeginObject();
    incident::WriteAttribution(json, *system);
    json.Key("addresses");
    json.BeginArray();
    for (const auto& a : inv.assignments) {
      if (a.system_id != rest[2]) continue;
      json.BeginObject();
      json.Member("prefix", a.prefix.ToString());
      json.Key("from");
      if (a.from == model::kBeginningOfTime) {
        json.Null();
      } else {
        json.String(FormatTimestamp(a.from));
      }
      json.Key("until");
      if (a.until == model::kEndOfTime) {
        json.Null();
      } else {
        json.String(FormatTimestamp(a.until));
      }
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
    return Json(out);
  }
  return Problem(404, "Not Found", "see /api/v1/openapi.json");
}

}  // namespace bulwark::server

#pragma once
// The REST API's routes (private to the server module): requests to the spine and the intake.
// Reads run on read connections of their own and never wait behind writes; writes go through
// the spine's writer. docs/api.md and data/openapi.json describe it.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/config/config.h"
#include "bulwark/intake/intake.h"
#include "bulwark/model/access.h"
#include "bulwark/server/http.h"
#include "bulwark/spine/spine.h"

namespace bulwark::server {

class Api {
 public:
  // `metrics` renders /metrics. The spine and the intake outlive the Api.
  Api(spine::Spine& spine, intake::Intake& intake, std::function<std::string()> metrics);

  // Answers one request. Thread-safe.
  HttpResponse Handle(const HttpRequest& request);

 private:
  using Segments = std::vector<std::string_view>;
  HttpResponse Route(const HttpRequest& r);
  HttpResponse Findings(const HttpRequest& r, const model::Token& who, const Segments& rest);
  HttpResponse Reports(const HttpRequest& r, const model::Token& who, const Segments& rest);
  HttpResponse Incidents(const HttpRequest& r, const model::Token& who, const Segments& rest);
  HttpResponse IncidentDetail(const HttpRequest& r, const model::Token& who,
                              const model::Incident& incident, std::string_view part);
  HttpResponse Comment(const HttpRequest& r, const model::Token& who,
                       const model::Incident& incident);
  HttpResponse Transition(const HttpRequest& r, const model::Token& who,
                          const model::Incident& incident);
  HttpResponse Attribution(const HttpRequest& r, const model::Token& who);
  // /api/v1/countermeasures: staff read all, customers their own; responders and admins
  // propose, approve, reject, apply and lift.
  HttpResponse Countermeasures(const HttpRequest& r, const model::Token& who, const Segments& rest);
  HttpResponse Inventory(const HttpRequest& r, const model::Token& who, const Segments& rest);

  // False (and counts one) when `token` has used up its comments of the last minute.
  bool CommentAllowed(const std::string& token, size_t per_minute);

  spine::Spine& spine_;
  intake::Intake& intake_;
  std::function<std::string()> metrics_;

  std::mutex rate_mutex_;
  std::map<std::string, std::vector<TimeNs>> comment_times_;  // by token id, the last minute's
};

}  // namespace bulwark::server

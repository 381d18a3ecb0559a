#pragma once
// Responses of the REST API (private to the server module): problem details (RFC 9457) and JSON.

#include <string>
#include <string_view>

#include "bulwark/server/http.h"

namespace bulwark::server {

// An application/problem+json response; 401 adds WWW-Authenticate, 405 needs Allow (NotAllowed).
HttpResponse Problem(int status, std::string_view title, std::string_view detail);
// 405 with the methods the resource takes (RFC 9110 requires Allow).
HttpResponse NotAllowed(std::string_view allow);
HttpResponse Json(std::string body, int status = 200);
// The reason phrase of a status this server answers ("Not Found").
std::string_view StatusTitle(int status);

}  // namespace bulwark::server

#include "responses.h"

#include <fmt/format.h>

#include "bulwark/core/json_writer.h"

namespace bulwark::server {

std::string_view StatusTitle(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

HttpResponse Problem(int status, std::string_view title, std::string_view detail) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/problem+json";
  JsonWriter json(response.body);
  json.BeginObject();
  json.Key("type");
  json.String("about:blank");
  json.Key("title");
  json.String(title);
  json.Key("status");
  json.Int(status);
  json.Key("detail");
  json.String(detail);
  json.EndObject();
  if (status == 401) response.headers["WWW-Authenticate"] = "Bearer realm=\"bulwark\"";
  return response;
}

HttpResponse NotAllowed(std::string_view allow) {
  HttpResponse response =
      Problem(405, "Method Not Allowed", fmt::format("this resource takes {}", allow));
  response.headers["Allow"] = std::string(allow);
  return response;
}

HttpResponse Json(std::string body, int status) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace bulwark::server

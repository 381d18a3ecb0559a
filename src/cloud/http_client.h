#pragma once
// One HTTP request over libcurl, private to the cloud module. Thread-safe.

#include <string>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::cloud {

// Sends `method` (GET, POST, PUT, PATCH, DELETE) to `url` with `headers` ("Name: value") and
// `body` (sent when not empty, and always with POST). Returns the body
// of a 2xx answer; an Error naming the request, the status and the start of the answer otherwise.
Result<std::string> HttpCall(const std::string& method, const std::string& url,
                             const std::vector<std::string>& headers, const std::string& body,
                             long timeout_seconds);

}  // namespace bulwark::cloud

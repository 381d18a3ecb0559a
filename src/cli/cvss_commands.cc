// bulwark cvss VECTOR... | -

#include <fmt/format.h>

#include <iostream>

#include "bulwark/vuln/cvss.h"
#include "commands.h"

namespace bulwark::cli {

Handler SetupCvss(CLI::App& command) {
  auto vectors = std::make_shared<std::vector<std::string>>();
  command
      .add_option("vectors", *vectors,
                  "CVSS v4.0, v3.1 or v3.0 vectors; - reads one a line from stdin")
      ->required();
  return [vectors]() -> Outcome {
    bool all_valid = true;
    auto score = [&](std::string_view vector) {
      auto result = vuln::ScoreCvss(vector);
      all_valid = all_valid && result.has_value();
      fmt::print("{}\n", vuln::CvssJson(vector, result));
    };
    for (const auto& vector : *vectors) {
      if (vector != "-") {
        score(vector);
        continue;
      }
      std::string line;
      while (std::getline(std::cin, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) score(line);
      }
    }
    return all_valid ? kExitOk : kExitFindings;
  };
}

}  // namespace bulwark::cli

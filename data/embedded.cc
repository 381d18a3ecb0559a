#include "bulwark/data/embedded.h"

namespace bulwark::data {

std::vector<EmbeddedFile> EmbeddedUnder(std::string_view prefix) {
  std::vector<EmbeddedFile> out;
  for (const EmbeddedFile& file : Embedded()) {
    if (file.path.starts_with(prefix)) out.push_back(file);
  }
  return out;
}

std::string_view EmbeddedFileContent(std::string_view path) {
  for (const EmbeddedFile& file : Embedded()) {
    if (file.path == path) return file.content;
  }
  return {};
}

}  // namespace bulwark::data

// ZIP archives in memory, read with libzip, entries as streams (message.h).

#include <zip.h>

#include <algorithm>

#include "bulwark/mail/message.h"

namespace bulwark::mail {

namespace {
constexpr size_t kRatioFloor = size_t{1} << 20;  // small archives may pack tighter

// libzip's file of one entry, closed when the last source reading it is gone.
using ZipFile = std::shared_ptr<zip_file_t>;
}  // namespace

struct ZipArchive::Handle {
  zip_t* archive = nullptr;
  ~Handle() {
    if (archive) zip_discard(archive);
  }
};

ZipArchive::ZipArchive(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {}
ZipArchive::~ZipArchive() = default;

Result<std::unique_ptr<ZipArchive>> ZipArchive::Open(std::string_view bytes, size_t max_bytes,
                                                     size_t max_ratio) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (!source) {
    std::string reason = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Fail("ZIP: " + reason);
  }
  zip_t* opened = zip_open_from_source(source, ZIP_RDONLY, &error);
  if (!opened) {
    zip_source_free(source);
    std::string reason = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Fail("not a ZIP archive: " + reason);
  }
  zip_error_fini(&error);
  auto handle = std::make_unique<Handle>();
  handle->archive = opened;
  std::unique_ptr<ZipArchive> archive(new ZipArchive(std::move(handle)));
  // Unpack every entry once, a chunk at a time, counting against the bounds.
  size_t total = 0;
  std::vector<char> buffer(65536);
  zip_int64_t count = zip_get_num_entries(opened, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(opened, i, 0, &stat) != 0) return Fail("ZIP: entry " + std::to_string(i));
    std::string name = stat.valid & ZIP_STAT_NAME && stat.name ? stat.name : "";
    if (name.ends_with('/')) continue;
    zip_file_t* file = zip_fopen_index(opened, i, 0);
    if (!file) return Fail("ZIP: cannot open entry '" + name + "': " + zip_strerror(opened));
    size_t size = 0;
    zip_int64_t got;
    while ((got = zip_fread(file, buffer.data(), buffer.size())) > 0) {
      size += static_cast<size_t>(got);
      total += static_cast<size_t>(got);
      if (total > max_bytes) {
        zip_fclose(file);
        return Fail("ZIP: unpacks to more than " + std::to_string(max_bytes) + " bytes");
      }
      if (total > kRatioFloor && total / std::max<size_t>(bytes.size(), 1) >= max_ratio) {
        zip_fclose(file);
        return Fail("ZIP: unpacks to more than " + std::to_string(max_ratio) +
                    " times its size of " + std::to_string(bytes.size()) + " bytes");
      }
    }
    zip_fclose(file);
    if (got < 0) return Fail("ZIP: entry '" + name + "' is damaged");
    archive->entries_.push_back({std::move(name), size, i});
  }
  return archive;
}

ChunkSource ZipArchive::Read(size_t i) const {
  const Entry entry = entries_.at(i);
  zip_t* archive = handle_->archive;
  ZipFile file;
  size_t left = entry.size;
  return [archive, entry, file, left](char* buffer, size_t capacity) mutable -> Result<size_t> {
    if (!file) {
      zip_file_t* opened = zip_fopen_index(archive, entry.index, 0);
      if (!opened) {
        return Fail("ZIP: cannot open entry '" + entry.name + "': " + zip_strerror(archive));
      }
      file = ZipFile(opened, [](zip_file_t* f) { zip_fclose(f); });
    }
    // One byte more than is left shows an entry that unpacks to more than it did in Open().
    zip_int64_t got = zip_fread(file.get(), buffer, std::min(capacity, left + 1));
    if (got < 0) return Fail("ZIP: entry '" + entry.name + "' is damaged");
    if (static_cast<size_t>(got) > left) {
      return Fail("ZIP: entry '" + entry.name + "' unpacks to more than it did before");
    }
    left -= static_cast<size_t>(got);
    return static_cast<size_t>(got);
  };
}

Result<std::vector<ArchiveEntry>> Unzip(std::string_view bytes, size_t max_bytes,
                                        size_t max_ratio) {
  auto archive = ZipArchive::Open(bytes, max_bytes, max_ratio);
  if (!archive) return tl::unexpected(archive.error());
  std::vector<ArchiveEntry> entries;
  for (size_t i = 0; i < (*archive)->entries().size(); ++i) {
    ArchiveEntry entry{(*archive)->entries()[i].name, {}};
    entry.data.resize((*archive)->entries()[i].size);
    ChunkSource read = (*archive)->Read(i);
    size_t at = 0;
    while (at < entry.data.size()) {
      auto got = read(entry.data.data() + at, entry.data.size() - at);
      if (!got) return tl::unexpected(got.error());
      if (*got == 0) break;
      at += *got;
    }
    entry.data.resize(at);
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace bulwark::mail

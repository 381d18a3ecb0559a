#pragma once
// Internet mail (RFC 5322 + MIME) as plain data: decoded headers and a flat list of leaf parts
// with their transfer encoding undone and text converted to UTF-8. Parsing is lenient, as real
// abuse mails need: a broken or truncated structure yields what could be read plus a problem
// note, never a failure, unless the input holds no header at all. GMime does the parsing; no
// GMime type leaks out of this header. Thread-safe (GMime is initialised once per process).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/csv.h"
#include "bulwark/core/result.h"
#include "bulwark/core/time.h"

namespace bulwark::mail {

struct Header {
  std::string name;   // as written, e.g. "X-ARF"
  std::string value;  // unfolded, RFC 2047 words decoded to UTF-8
};

// One leaf of the MIME tree.
struct Part {
  std::string content_type;  // lower case "type/subtype"; "text/plain" when none was given
  std::string filename;      // Content-Disposition filename or Content-Type name; may be empty
  std::string charset;       // declared charset, lower case; empty when none
  std::string data;          // body with the transfer encoding undone (bytes as sent)
  std::string text;          // for text/* and message/* leaves: data converted to UTF-8
  int depth = 0;             // 0 = the message body itself
  bool in_attached_message = false;  // inside a message/rfc822 part (e.g. ARF's third part)
  std::vector<Header> headers;       // the part's own headers
};

// The result of an OpenPGP signature check on a multipart/signed mail.
struct SignatureCheck {
  enum class Verdict { kUnsigned, kNotChecked, kGood, kBad, kUnknownKey, kError };
  Verdict verdict = Verdict::kUnsigned;
  std::string fingerprint;  // signer's key fingerprint when known
  std::string detail;       // human-readable reason
};

const char* VerdictName(SignatureCheck::Verdict verdict);  // "unsigned", "good", ...

struct Message {
  std::vector<Header> headers;
  std::string subject;     // decoded
  std::string from;        // address part of From, lower case
  std::string message_id;  // without angle brackets
  std::optional<TimeNs> date;
  std::vector<Part> parts;  // leaves in document order
  // For message/rfc822 parts (ARF's original message): the attached message's raw headers.
  std::vector<std::string> attached_headers;
  SignatureCheck signature;
  // What was odd: truncated multipart, undecodable charset, missing boundary, ...
  std::vector<std::string> problems;
};

struct ParseOptions {
  // When set, multipart/signed mails are verified with the OpenPGP keys in this GnuPG home
  // directory (public keys of the senders). Empty: signatures are noted but not checked.
  std::string gnupg_home;
};

// Whether `bytes` look like a mail: an mbox "From " line, or a header block of fields among
// which is one that only mails carry (From, Received, Subject, Message-ID, ...).
bool LooksLikeMail(std::string_view bytes);

// Parses a mail. Errors: no header could be read. Otherwise always a Message, with `problems`
// describing anything that had to be guessed or skipped.
Result<Message> Parse(std::string_view bytes, const ParseOptions& options = {});

// An RFC 5322 date ("Fri, 31 Jan 2014 07:19:02 +0100", obsolete forms included); nullopt when
// it cannot be read.
std::optional<TimeNs> ParseDate(std::string_view text);

// A ZIP archive in memory (Shadowserver mails attach their CSV zipped) whose file entries are
// read as streams, within bounds on what they unpack to: `max_bytes` together, and `max_ratio`
// times the archive's size once past 1 MiB (a ZIP bomb). Open() unpacks every entry once, holding
// one chunk at a time, so that an archive beyond the bounds is refused before anything of it is
// used; afterwards each entry can be read again, as often as needed. Errors of Open(): not a ZIP
// archive, an entry that cannot be read, "unpacks to more than ..." (a bound was reached). Not
// thread-safe; the archive's bytes must outlive it.
class ZipArchive {
 public:
  struct Entry {
    std::string name;
    size_t size = 0;  // unpacked bytes, as measured by Open()
    int64_t index = 0;
  };
  static Result<std::unique_ptr<ZipArchive>> Open(std::string_view bytes, size_t max_bytes,
                                                  size_t max_ratio);
  ~ZipArchive();
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // The file entries (folders left out), in archive order.
  const std::vector<Entry>& entries() const { return entries_; }
  // Entry `i` from its start, in chunks; the archive must outlive the source. An entry that
  // unpacks to more than Open() measured is an error.
  ChunkSource Read(size_t i) const;

 private:
  struct Handle;
  explicit ZipArchive(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> handle_;
  std::vector<Entry> entries_;
};

// Every file entry of a ZIP archive in memory, unpacked: name and contents (bounds as above).
struct ArchiveEntry {
  std::string name;
  std::string data;
};
Result<std::vector<ArchiveEntry>> Unzip(std::string_view bytes, size_t max_bytes = 512u << 20,
                                        size_t max_ratio = 1000);

}  // namespace bulwark::mail

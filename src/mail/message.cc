#include "bulwark/mail/message.h"

#include <gmime/gmime.h>
#include <gpgme.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "bulwark/core/strings.h"

namespace bulwark::mail {
namespace {

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_mime_init();
    gpgme_check_version(nullptr);
  });
}

// Owns one GObject reference.
struct ObjectUnref {
  void operator()(void* object) const {
    if (object) g_object_unref(object);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, ObjectUnref>;

// Owns a g_malloc'ed string.
struct GFree {
  void operator()(char* text) const { g_free(text); }
};
using OwnedText = std::unique_ptr<char, GFree>;

std::string Str(const char* text) {
  return text ? std::string(text) : std::string();
}

// The bytes a stream-writing callback produced.
template <typename Write>
std::string Collect(Write&& write) {
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  write(out.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return bytes ? std::string(reinterpret_cast<const char*>(bytes->data), bytes->len)
               : std::string();
}

std::vector<Header> HeadersOf(GMimeObject* object) {
  std::vector<Header> headers;
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  if (!list) return headers;
  int count = g_mime_header_list_get_count(list);
  for (int i = 0; i < count; ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
    headers.push_back({Str(g_mime_header_get_name(header)),
                       SanitizeUtf8(Trim(Str(g_mime_header_get_value(header))))});
  }
  return headers;
}

bool IsUtf8Alias(std::string_view charset) {
  return charset.empty() || charset == "utf-8" || charset == "utf8" || charset == "us-ascii" ||
         charset == "ascii";
}

// `data` in `charset` as UTF-8. An unknown charset or bytes that do not convert are read as
// Latin-1 (every byte is a character there), with a problem note.
std::string ToUtf8(const std::string& data, const std::string& charset,
                   std::vector<std::string>& problems) {
  if (IsUtf8Alias(charset) && IsValidUtf8(data)) return data;
  if (!IsUtf8Alias(charset)) {
    gsize written = 0;
    GError* error = nullptr;
    OwnedText converted(g_convert(data.data(), static_cast<gssize>(data.size()), "UTF-8",
                                  charset.c_str(), nullptr, &written, &error));
    if (converted) return SanitizeUtf8(std::string_view(converted.get(), written));
    problems.push_back("charset '" + charset + "' could not be read (" +
                       Str(error ? error->message : nullptr) + "); read as Latin-1");
    if (error) g_error_free(error);
  } else {
    problems.push_back("text declared " +
                       (charset.empty() ? std::string("without charset") : "as " + charset) +
                       " is not UTF-8; read as Latin-1");
  }
  gsize written = 0;
  OwnedText converted(g_convert(data.data(), static_cast<gssize>(data.size()), "UTF-8",
                                "ISO-8859-1", nullptr, &written, nullptr));
  return converted ? std::string(converted.get(), written) : SanitizeUtf8(data);
}

struct GpgmeContext {
  gpgme_ctx_t ctx = nullptr;
  ~GpgmeContext() {
    if (ctx) gpgme_release(ctx);
  }
};
struct GpgmeData {
  gpgme_data_t data = nullptr;
  ~GpgmeData() {
    if (data) gpgme_data_release(data);
  }
};

// Verifies a detached signature over `signed_bytes` (or, with empty `signed_bytes`, a
// clear-signed text in `signature`) with the keys in `home`.
SignatureCheck VerifyOpenPgp(const std::string& home, const std::string& signed_bytes,
                             const std::string& signature) {
  using Verdict = SignatureCheck::Verdict;
  GpgmeContext context;
  if (gpgme_new(&context.ctx) != GPG_ERR_NO_ERROR ||
      gpgme_ctx_set_engine_info(context.ctx, GPGME_PROTOCOL_OpenPGP, nullptr, home.c_str()) !=
          GPG_ERR_NO_ERROR) {
    return {Verdict::kError, "", "GnuPG could not be started with home " + home};
  }
  GpgmeData sig, text, plain;
  gpgme_data_new_from_mem(&sig.data, signature.data(), signature.size(), 0);
  gpgme_error_t error;
  if (signed_bytes.empty()) {
    gpgme_data_new(&plain.data);
    error = gpgme_op_verify(context.ctx, sig.data, nullptr, plain.data);
  } else {
    gpgme_data_new_from_mem(&text.data, signed_bytes.data(), signed_bytes.size(), 0);
    error = gpgme_op_verify(context.ctx, sig.data, text.data, nullptr);
  }
  if (error != GPG_ERR_NO_ERROR) {
    return {Verdict::kError, "", std::string("verification failed: ") + gpgme_strerror(error)};
  }
  gpgme_verify_result_t result = gpgme_op_verify_result(context.ctx);
  if (!result || !result->signatures) return {Verdict::kError, "", "no signature found"};
  gpgme_signature_t first = result->signatures;
  std::string fingerprint = Str(first->fpr);
  switch (gpg_err_code(first->status)) {
    case GPG_ERR_NO_ERROR:
      return {Verdict::kGood, fingerprint, "good signature"};
    case GPG_ERR_NO_PUBKEY:
      return {Verdict::kUnknownKey, fingerprint, "signed by a key not in the keyring"};
    case GPG_ERR_BAD_SIGNATURE:
      return {Verdict::kBad, fingerprint, "BAD signature: the mail was changed after signing"};
    default:
      return {Verdict::kError, fingerprint, gpgme_strerror(first->status)};
  }
}

class Walker {
 public:
  Walker(std::string_view raw, const ParseOptions& options, Message& message)
      : raw_(raw), options_(options), message_(message) {}

  void Walk(GMimeObject* object, int depth, bool attached) {
    if (depth > 32) {
      message_.problems.push_back("MIME nesting deeper than 32 levels; rest skipped");
      return;
    }
    if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart* multipart = GMIME_MULTIPART(object);
      CheckClosed(multipart);
      if (GMIME_IS_MULTIPART_SIGNED(object) && depth == 0 && !attached) {
        CheckSignature(GMIME_MULTIPART_SIGNED(object));
      }
      int count = g_mime_multipart_get_count(multipart);
      for (int i = 0; i < count; ++i) {
        Walk(g_mime_multipart_get_part(multipart, i), depth + 1, attached);
      }
      return;
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      Part part = LeafHeaders(object, depth, attached);
      if (inner) {
        part.text = SanitizeUtf8(Collect([&](GMimeStream* out) {
          g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, out);
        }));
        OwnedText headers(g_mime_object_get_headers(GMIME_OBJECT(inner), nullptr));
        message_.attached_headers.push_back(SanitizeUtf8(Str(headers.get())));
      }
      part.data = part.text;
      message_.parts.push_back(std::move(part));
      if (inner && g_mime_message_get_mime_part(inner)) {
        Walk(g_mime_message_get_mime_part(inner), depth + 1, true);
      }
      return;
    }
    if (GMIME_IS_PART(object)) {
      Part part = LeafHeaders(object, depth, attached);
      GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(object));
      if (content) {
        part.data =
            Collect([&](GMimeStream* out) { g_mime_data_wrapper_write_to_stream(content, out); });
      }
      part.filename = SanitizeUtf8(Str(g_mime_part_get_filename(GMIME_PART(object))));
      if (part.content_type.starts_with("text/") || part.content_type.starts_with("message/")) {
        part.text = ToUtf8(part.data, part.charset, message_.problems);
      }
      message_.parts.push_back(std::move(part));
    }
  }

 private:
  Part LeafHeaders(GMimeObject* object, int depth, bool attached) {
    Part part;
    part.depth = depth;
    part.in_attached_message = attached;
    part.headers = HeadersOf(object);
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (type) {
      OwnedText mime(g_mime_content_type_get_mime_type(type));
      part.content_type = AsciiLower(Str(mime.get()));
      part.charset = AsciiLower(Trim(Str(g_mime_content_type_get_parameter(type, "charset"))));
    }
    if (part.content_type.empty()) part.content_type = "text/plain";
    return part;
  }

  // A multipart whose closing boundary never comes was cut off. The boundary is read as a
  // parameter: g_mime_multipart_get_boundary() makes one up when it is missing, re-encoding the
  // header, which for some malformed headers asks gmime for gigabytes (found by fuzz_mail).
  void CheckClosed(GMimeMultipart* multipart) {
    const char* boundary =
        g_mime_object_get_content_type_parameter(GMIME_OBJECT(multipart), "boundary");
    if (!boundary) {
      message_.problems.push_back("multipart without boundary parameter");
      return;
    }
    std::string closing = std::string("--") + boundary + "--";
    if (raw_.find(closing) == std::string_view::npos) {
      message_.problems.push_back("multipart '" + std::string(boundary) +
                                  "' is not closed: the mail is truncated");
    }
  }

  void CheckSignature(GMimeMultipartSigned* signed_part) {
    using Verdict = SignatureCheck::Verdict;
    if (options_.gnupg_home.empty()) {
      message_.signature = {Verdict::kNotChecked, "", "signed; no keyring configured"};
      return;
    }
    GMimeObject* content =
        g_mime_multipart_get_part(GMIME_MULTIPART(signed_part), GMIME_MULTIPART_SIGNED_CONTENT);
    GMimeObject* signature =
        g_mime_multipart_get_part(GMIME_MULTIPART(signed_part), GMIME_MULTIPART_SIGNED_SIGNATURE);
    if (!content || !signature || !GMIME_IS_PART(signature)) {
      message_.signature = {Verdict::kError, "", "multipart/signed without two parts"};
      return;
    }
    GMimeFormatOptions* format = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(format, GMIME_NEWLINE_FORMAT_DOS);
    std::string signed_bytes =
        Collect([&](GMimeStream* out) { g_mime_object_write_to_stream(content, format, out); });
    g_mime_format_options_free(format);
    GMimeDataWrapper* wrapper = g_mime_part_get_content(GMIME_PART(signature));
    std::string signature_bytes =
        wrapper
            ? Collect([&](GMimeStream* out) { g_mime_data_wrapper_write_to_stream(wrapper, out); })
            : std::string();
    message_.signature = VerifyOpenPgp(options_.gnupg_home, signed_bytes, signature_bytes);
  }

  std::string_view raw_;
  const ParseOptions& options_;
  Message& message_;
};

// An inline (clear-signed) OpenPGP text part, as some CERT mails are sent.
void CheckInlineSignature(const ParseOptions& options, Message& message) {
  using Verdict = SignatureCheck::Verdict;
  if (message.signature.verdict != Verdict::kUnsigned) return;
  for (const Part& part : message.parts) {
    if (part.in_attached_message ||
        part.text.find("-----BEGIN PGP SIGNED MESSAGE-----") == std::string::npos) {
      continue;
    }
    message.signature =
        options.gnupg_home.empty()
            ? SignatureCheck{Verdict::kNotChecked, "", "signed inline; no keyring configured"}
            : VerifyOpenPgp(options.gnupg_home, "", part.data);
    return;
  }
}

}  // namespace

const char* VerdictName(SignatureCheck::Verdict verdict) {
  using Verdict = SignatureCheck::Verdict;
  switch (verdict) {
    case Verdict::kUnsigned:
      return "unsigned";
    case Verdict::kNotChecked:
      return "not_checked";
    case Verdict::kGood:
      return "good";
    case Verdict::kBad:
      return "bad";
    case Verdict::kUnknownKey:
      return "unknown_key";
    case Verdict::kError:
      return "error";
  }
  return "error";
}

bool LooksLikeMail(std::string_view bytes) {
  if (bytes.starts_with("From ")) return true;
  // The header block (to the first empty line) must consist of header fields and carry at
  // least one field that only mails have: "Date:" and "Source:" alone are X-ARF YAML.
  static constexpr std::string_view kMailFields[] = {"from",         "received", "return-path",
                                                     "message-id",   "subject",  "mime-version",
                                                     "delivered-to", "to"};
  bool mail_field = false;
  size_t pos = 0;
  for (int lines = 0; pos < bytes.size() && lines < 200; ++lines) {
    size_t end = bytes.find('\n', pos);
    std::string_view line = bytes.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line[0] != ' ' && line[0] != '\t') {
      size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos) return false;
      for (char c : line.substr(0, colon)) {
        if (c <= ' ' || c > '~') return false;
      }
      std::string name = AsciiLower(line.substr(0, colon));
      for (std::string_view field : kMailFields) mail_field = mail_field || name == field;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return mail_field;
}

Result<Message> Parse(std::string_view bytes, const ParseOptions& options) {
  InitOnce();
  if (!LooksLikeMail(bytes)) {
    return Fail("not a mail: no header block with From, Received, Subject or the like");
  }
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(),
                           bytes.starts_with("From ") ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> parsed(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!parsed) return Fail("not a mail: no header could be read");
  Message message;
  message.headers = HeadersOf(GMIME_OBJECT(parsed.get()));
  if (message.headers.empty()) return Fail("not a mail: no header could be read");
  message.subject = SanitizeUtf8(Str(g_mime_message_get_subject(parsed.get())));
  message.message_id = SanitizeUtf8(Str(g_mime_message_get_message_id(parsed.get())));
  InternetAddressList* from = g_mime_message_get_from(parsed.get());
  if (from && internet_address_list_length(from) > 0) {
    InternetAddress* address = internet_address_list_get_address(from, 0);
    if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
      message.from = AsciiLower(
          SanitizeUtf8(Str(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address)))));
    }
  }
  if (GDateTime* date = g_mime_message_get_date(parsed.get())) {
    message.date = static_cast<TimeNs>(g_date_time_to_unix(date)) * 1'000'000'000;
  }
  Walker walker(bytes, options, message);
  if (GMimeObject* body = g_mime_message_get_mime_part(parsed.get())) {
    walker.Walk(body, 0, false);
  } else {
    message.problems.push_back("the mail has no body");
  }
  CheckInlineSignature(options, message);
  return message;
}

std::optional<TimeNs> ParseDate(std::string_view text) {
  InitOnce();
  std::string copy(Trim(text));
  if (copy.empty()) return std::nullopt;
  GDateTime* date = g_mime_utils_header_decode_date(copy.c_str());
  if (!date) return std::nullopt;
  TimeNs ns = static_cast<TimeNs>(g_date_time_to_unix(date)) * 1'000'000'000;
  g_date_time_unref(date);
  return ns;
}

}  // namespace bulwark::mail

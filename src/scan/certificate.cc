#include "bulwark/scan/certificate.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace bulwark::scan {

namespace {

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

std::string NameOf(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(std::max(size, 0L)));
}

Result<TimeNs> TimeOf(const ASN1_TIME* time, const char* what) {
  struct tm parts {};
  if (!time || ASN1_TIME_to_tm(time, &parts) != 1) {
    ERR_clear_error();
    return Fail(fmt::format("the certificate's {} cannot be read", what));
  }
  CivilTime civil{parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                  parts.tm_hour,        parts.tm_min,     parts.tm_sec};
  return ToUnixNs(civil);
}

}  // namespace

Result<CertificateInfo> ReadCertificate(std::string_view der) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      d2i_X509(nullptr, &bytes, static_cast<long>(der.size())), X509_free);
  if (!cert) return Fail("not a DER X.509 certificate: " + OpenSslError());
  CertificateInfo info;
  info.subject = NameOf(X509_get_subject_name(cert.get()));
  info.issuer = NameOf(X509_get_issuer_name(cert.get()));
  auto before = TimeOf(X509_get0_notBefore(cert.get()), "notBefore");
  if (!before) return tl::unexpected(before.error());
  auto after = TimeOf(X509_get0_notAfter(cert.get()), "notAfter");
  if (!after) return tl::unexpected(after.error());
  info.not_before = *before;
  info.not_after = *after;
  if (auto* names = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                  static_cast<size_t>(ASN1_STRING_length(dns)));
    }
    GENERAL_NAMES_free(names);
  }
  if (EVP_PKEY* key = X509_get0_pubkey(cert.get())) {
    info.key = fmt::format("{} {}", OBJ_nid2sn(EVP_PKEY_get_base_id(key)), EVP_PKEY_get_bits(key));
    info.self_signed =
        X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())) == 0 &&
        X509_verify(cert.get(), key) == 1;
  }
  ERR_clear_error();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), digest);
  for (unsigned char b : digest) info.sha256 += fmt::format("{:02x}", b);
  return info;
}

}  // namespace bulwark::scan

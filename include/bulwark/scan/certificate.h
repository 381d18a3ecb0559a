#pragma once
// X.509 certificates as the scanner reports them, read with OpenSSL from DER. Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"

namespace bulwark::scan {

struct CertificateInfo {
  std::string subject, issuer;  // RFC 2253 one-line names
  std::vector<std::string> dns_names;
  TimeNs not_before = 0, not_after = 0;
  bool self_signed = false;  // issuer == subject and the signature verifies with its own key
  std::string sha256;        // fingerprint of the DER, lower-case hex
  std::string key;           // "RSA 2048", "EC 256", ...
};

// Reads a DER certificate. Errors: not DER X.509 (with OpenSSL's reason), or times it cannot read.
// Never reads past `der`.
Result<CertificateInfo> ReadCertificate(std::string_view der);

struct TlsSession {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::optional<CertificateInfo> certificate;
  std::string certificate_error;  // why the certificate could not be read, if so
};

}  // namespace bulwark::scan

#pragma once
// Self-signed certificates made in the test with OpenSSL (EC P-256): valid or already expired,
// as DER and as PEM files for a server.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

namespace bulwark::testing_support {

struct MadeCertificate {
  std::string der;
  std::string certificate_pem, key_pem;
};

// A certificate for `name` (CN and DNS name), valid from now + `from_seconds` until now +
// `until_seconds` (negative: in the past).
inline MadeCertificate SelfSignedCertificate(const std::string& name, long from_seconds,
                                             long until_seconds) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), from_seconds);
  X509_gmtime_adj(X509_getm_notAfter(cert), until_seconds);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  std::string san = "DNS:" + name + ",DNS:www." + name;
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  X509_sign(cert, key, EVP_sha256());
  MadeCertificate out;
  unsigned char* der = nullptr;
  int size = i2d_X509(cert, &der);
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  auto pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<size_t>(length));
    BIO_free(bio);
    return text;
  };
  out.certificate_pem = pem([&](BIO* bio) { PEM_write_bio_X509(bio, cert); });
  out.key_pem = pem(
      [&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace bulwark::testing_support

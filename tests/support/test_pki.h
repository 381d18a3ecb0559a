#pragma once
// A throw-away PKI for TLS tests, made with the openssl command: a CA, a server certificate for
// localhost/127.0.0.1 and client certificates with the names a test asks for (EC P-256, valid
// for a day).

#include <cstdlib>
#include <filesystem>
#include <string>

namespace bulwark::testing_support {

class TestPki {
 public:
  // Makes the CA and the server certificate in `dir`; ok() tells whether openssl succeeded.
  explicit TestPki(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    ok_ = Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
              "-subj '/CN=Bulwark Test CA' -keyout " +
              Path("ca.key") + " -out " + Path("ca.pem")) &&
          Issue("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1");
  }

  // Issues a client certificate with subject CN `name` (files `<file>.pem`, `<file>.key`).
  bool Issue(const std::string& file, const std::string& name, const std::string& extension = "") {
    std::string ext_file = Path(file + ".ext");
    std::string ext = extension.empty() ? "subjectAltName=DNS:" + name : extension;
    return Run("printf '%s\\n' '" + ext + "' > " + ext_file) &&
           Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=" +
               name + "' -keyout " + Path(file + ".key") + " -out " + Path(file + ".csr")) &&
           Run("openssl x509 -req -days 1 -in " + Path(file + ".csr") + " -CA " + Path("ca.pem") +
               " -CAkey " + Path("ca.key") + " -CAcreateserial -extfile " + ext_file + " -out " +
               Path(file + ".pem"));
  }

  bool ok() const { return ok_; }
  std::string Path(const std::string& file) const { return (dir_ / file).string(); }

 private:
  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }

  std::filesystem::path dir_;
  bool ok_ = false;
};

}  // namespace bulwark::testing_support

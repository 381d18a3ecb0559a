#!/usr/bin/env bash
# Installs the Debian 12 packages Bulwark builds and tests with (only those missing).
set -euo pipefail
packages=(
  cmake ninja-build pkg-config ccache g++ clang clang-format libclang-rt-14-dev
  libvectorscan-dev libre2-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev libfmt-dev
  libexpected-dev zlib1g-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev opensmtpd libgmime-3.0-dev libzip-dev libpcap-dev libnftables-dev libnetfilter-conntrack-dev conntrack nftables iputils-ping socat openssh-server openssh-client librelp-dev rsyslog rsyslog-relp rsyslog-openssl pmacct nfdump nfdump-sflow softflowd iproute2 libgpgme-dev gnupg openssl dovecot-imapd libgtest-dev libgmock-dev libbenchmark-dev redis-server memcached unbound snmpd python3 curl nginx apache2 vsftpd mariadb-server samba xrdp etcd-server
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm tools the tests run (tools/npm/package.json): Prism, the OpenAPI-validating mock server,
# Redocly CLI, the OpenAPI linter, and ae-cvss-calculator, the CVSS peer.
npm_bin="$(dirname "$0")/npm/node_modules/.bin"
if [ ! -x "$npm_bin/prism" ] || [ ! -x "$npm_bin/redocly" ] ||
   [ ! -d "$(dirname "$0")/npm/node_modules/ae-cvss-calculator" ]; then
  command -v npm >/dev/null || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm
  }
  (cd "$(dirname "$0")/npm" && npm install --no-audit --no-fund --loglevel=error)
fi

#!/usr/bin/env bash
# Newcomer's first command: installs what is missing, builds bulwark (Release) and runs the whole
# loop on the bundled examples: sample logs through the built-in rules, the alerts attributed to
# the example inventory's customers as incidents, the customer mails printed (or sent with
# --smtp smtp://host:port), and how to query the result.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
./build/bulwark demo "$@"

#!/usr/bin/env bash
# Newcomer's first command: installs what is missing, builds bulwark (Release) and replays the
# bundled sample logs through the built-in rules, printing the alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
./build/bulwark demo

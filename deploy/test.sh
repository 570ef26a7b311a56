#!/usr/bin/env bash
# test.sh - builds rekindle with AddressSanitizer + UndefinedBehaviorSanitizer
# and warnings as errors, then runs every test: cmocka unit tests and the
# integration tests (real PostgreSQL clusters, real processes, Debian's
# python3-grpcio as the client).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DRK_SANITIZE=ON -DRK_WERROR=ON >/dev/null
cmake --build build-test -j"$(nproc)"
cd build-test
exec ctest --output-on-failure

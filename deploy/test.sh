#!/usr/bin/env bash
# test.sh - builds rekindle with AddressSanitizer + UndefinedBehaviorSanitizer
# and warnings as errors, then runs every test: cmocka unit tests and the
# integration tests (real PostgreSQL clusters, real processes, Debian's
# python3-grpcio as the client), then the libFuzzer targets for a bounded
# time each (deploy/fuzz.sh), then the container images: built from Debian
# packages and started under podman (deploy/container/check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DRK_SANITIZE=ON -DRK_WERROR=ON >/dev/null
cmake --build build-test -j"$(nproc)"
status=0
(cd build-test && ctest --output-on-failure) || status=$?
# the fuzz targets, 20 s each (issue 14: no input crashes anything)
./deploy/fuzz.sh "${FUZZ_SECONDS:-20}" || status=1
# the images build and their containers answer health (issue 15)
./deploy/container/check.sh || status=1
exit $status

#!/usr/bin/env bash
# install-deps.sh - installs what rekindle needs to build, test and run,
# from Debian 12's own packages. Idempotent; needs root only when
# something is missing.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config
  libgrpc-dev protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
  libprotobuf-dev grpc-proto golang-github-gogo-googleapis-dev
  libnng-dev libpq-dev libcmocka-dev libssl-dev libjansson-dev
  libgsl-dev liblinear-dev libxgboost-dev libmicrohttpd-dev
  libcurl4-openssl-dev libyaml-dev
  postgresql postgresql-client
  python3 python3-grpcio python3-protobuf
  nghttp2-client procps tzdata util-linux bc openssl iproute2
  chromium fonts-dejavu-core
  clang libclang-rt-14-dev systemd prometheus
  mmdebstrap podman uidmap runc
)
# kubectl and Node.js (deploy/k8s/check.sh) from Debian unless the machine
# has its own already (another package holding /usr/bin/kubectl or node
# would conflict)
command -v kubectl >/dev/null || pkgs+=(kubernetes-client)
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (or install the packages above)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

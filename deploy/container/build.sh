#!/usr/bin/env bash
# build.sh - rekindle's OCI images, from Debian 12's own packages only: no
# base image is pulled from any registry. mmdebstrap builds a root file
# system from the Debian archive with just the shared libraries the
# binaries link (found with ldd, mapped to their packages with dpkg -S)
# plus CA certificates and time zones; the release binaries go in
# /usr/local/bin; a system user rekindle (uid 10001) owns nothing, and the
# images run as it with a read-only root file system (the programs write
# only to stderr and, if asked, a port file under /run or /tmp, which the
# runtime mounts). podman imports the root twice:
#   rekindle-api:TAG   entrypoint rekindle-api
#   rekindle:TAG       every program; the command names one
#                      (rekindle-tracker, rekindle-deliver --channel sms, ...)
# and writes each as an OCI archive to OUT (default build-container/).
#
#   deploy/container/build.sh [--tag TAG] [--out DIR] [--mirror URL]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tag=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo dev)
out=$root/build-container
mirror=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    *) echo "usage: build.sh [--tag TAG] [--out DIR] [--mirror URL]" >&2; exit 2 ;;
  esac
done
for t in mmdebstrap podman dpkg-query; do
  command -v $t >/dev/null || { echo "build.sh: $t missing (deploy/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$out"
build=$out/build
stage=$out/stage
rm -rf "$stage"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
progs=(rekindle-api rekindle-tracker rekindle-profiler rekindle-campaigner
       rekindle-timer rekindle-deliver rekindlectl)
mkdir -p "$stage/usr/local/bin"
for p in "${progs[@]}"; do
  install -m 0755 -s "$build/bin/$p" "$stage/usr/local/bin/$p"
done

# the packages holding the libraries the binaries load
pkgs=$(for p in "${progs[@]}"; do ldd "$stage/usr/local/bin/$p"; done |
  awk '$3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
    real=$(readlink -f "$lib")
    for f in "$lib" "$real" "${lib#/usr}" "${real#/usr}" "/usr$lib" "/usr$real"; do
      dpkg -S "$f" 2>/dev/null && break
    done
  done | cut -d: -f1 | sort -u | grep -v '^libc6$' | paste -sd, -)
echo "build.sh: runtime packages: $pkgs" >&2

rootfs=$out/rootfs.tar
mmdebstrap --quiet --variant=essential --mode=root \
  --include="$pkgs,ca-certificates,tzdata" \
  --customize-hook='echo "rekindle:x:10001:10001:rekindle:/nonexistent:/usr/sbin/nologin" >>"$1/etc/passwd"; echo "rekindle:x:10001:" >>"$1/etc/group"' \
  --customize-hook="copy-in $stage/usr/local/bin /usr/local" \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/locale/*' \
  bookworm "$rootfs" "$mirror"

common=(--change "USER 10001:10001" --change "WORKDIR /"
        --change "ENV PATH=/usr/local/bin:/usr/bin:/bin"
        --change "LABEL org.opencontainers.image.source=rekindle org.opencontainers.image.revision=$tag")
podman import "${common[@]}" --change 'ENTRYPOINT ["/usr/local/bin/rekindle-api"]' \
  --change "EXPOSE 50051" --change "EXPOSE 9464" "$rootfs" "localhost/rekindle-api:$tag" >/dev/null
podman import "${common[@]}" --change 'CMD ["/usr/local/bin/rekindlectl", "--help"]' \
  "$rootfs" "localhost/rekindle:$tag" >/dev/null
for img in rekindle-api rekindle; do
  rm -f "$out/$img.oci.tar"
  podman save --format oci-archive -o "$out/$img.oci.tar" "localhost/$img:$tag"
done
size=$(podman image inspect --format '{{.Size}}' "localhost/rekindle:$tag")
echo "images localhost/rekindle-api:$tag localhost/rekindle:$tag: $((size / 1048576)) MiB each (one shared layer); OCI archives in $out"

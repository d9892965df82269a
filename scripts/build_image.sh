#!/usr/bin/env bash
# Builds the offline X00 image: a root file system assembled from Debian packages (glibc, libgcc, libbpf1, libelf1,
# zlib1g, the CA bundle; no shell, no package manager), Deno, the project and its cached npm dependencies, with
# `deno run ... mod.ts` as the entrypoint. Where `deno compile` can get its runtime, the Dockerfile builds the
# distroless image from the compiled binary instead; this one needs no registry and no runtime download.
#   scripts/build_image.sh                 root file system in build/image/rootfs, then an OCI image x00:0.1.0-offline
#   scripts/build_image.sh --rootfs-only   the root file system only (what the image test runs with chroot)
# Needs: root, apt (a Debian mirror), buildah for the image step.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/image
RFS=$OUT/rootfs
TAG=x00:0.1.0-offline
PACKAGES=(libc6 libgcc-s1 libbpf1 libelf1 zlib1g)
log() { echo "build_image: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

rm -rf "$RFS" "$OUT/debs"
mkdir -p "$RFS" "$OUT/debs"
log "downloading ${PACKAGES[*]}"
(cd "$OUT/debs" && apt-get download -qq "${PACKAGES[@]}" >/dev/null 2>&1) ||
  die "apt-get download ${PACKAGES[*]} failed: check that a Debian mirror is reachable"
for deb in "$OUT"/debs/*.deb; do dpkg-deb -x "$deb" "$RFS"; done
# Documentation, manuals, locales and maintainer scripts' leftovers are not needed at run time.
rm -rf "$RFS/usr/share/doc" "$RFS/usr/share/man" "$RFS/usr/share/lintian" "$RFS/usr/share/locale" \
  "$RFS/usr/share/gcc" "$RFS/usr/share/gdb" "$RFS/usr/lib/x86_64-linux-gnu/gconv" "$RFS/etc/ld.so.conf.d"
# Nothing that runs a command line: the image has no shell (glibc ships none; assert it).
for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash; do
  [[ ! -e $RFS/$sh ]] || die "the root file system has a shell: /$sh"
done

mkdir -p "$RFS/etc/ssl/certs" "$RFS/usr/local/bin" "$RFS/opt/x00/bpf" "$RFS/tmp" "$RFS/proc" "$RFS/sys" \
  "$RFS/dev" "$RFS/run"
chmod 1777 "$RFS/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$RFS/etc/ssl/certs/" ||
  die "no CA bundle on this machine (apt-get install ca-certificates)"
printf 'root:x:0:0:root:/root:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n' \
  >"$RFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$RFS/etc/group"

DENO=$(readlink -f "$(command -v deno)") || die "deno not found (bash scripts/setup.sh)"
install -m 0755 "$DENO" "$RFS/usr/local/bin/deno"
cp -r mod.ts deno.json deno.lock src ffi third_party "$RFS/opt/x00/"
cp -r bpf/objects "$RFS/opt/x00/bpf/"
find "$RFS/opt/x00" -name '*_test.ts' -delete
log "caching the npm dependencies pinned in deno.lock"
# A fresh DENO_DIR, so the npm registry is asked: trust the system's store as well as Deno's own, as apt and npm do
# (a proxy's CA installed in the system store then works without NODE_EXTRA_CA_CERTS).
(cd "$RFS/opt/x00" && DENO_DIR="$PWD/../deno_dir" DENO_TLS_CA_STORE=${DENO_TLS_CA_STORE:-mozilla,system} deno cache --frozen mod.ts src/cli/*.ts >/dev/null 2>&1) ||
  die "deno cache failed: the npm registry must be reachable (or run scripts/setup.sh first)"
mv "$RFS/opt/deno_dir" "$RFS/opt/x00/deno_dir"
chmod -R a+rX "$RFS/opt/x00"
log "root file system: $(du -sh "$RFS" | cut -f1) in $RFS"

[[ ${1:-} == --rootfs-only ]] && exit 0
command -v buildah >/dev/null || die "buildah not found (apt-get install buildah)"
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} BUILDAH_ISOLATION=chroot
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah copy --quiet "$ctr" "$RFS" / >/dev/null
# shellcheck source=scripts/runtime_flags.sh
source scripts/runtime_flags.sh
entrypoint='"/usr/local/bin/deno","run","--allow-all","--cached-only","--no-check"'
for flag in "${X00_DENO_FLAGS[@]}"; do entrypoint+=",\"$flag\""; done
buildah config \
  --entrypoint "[$entrypoint,\"/opt/x00/mod.ts\"]" \
  --cmd audit --env DENO_DIR=/opt/x00/deno_dir --env DENO_NO_UPDATE_CHECK=1 --env NO_COLOR=1 \
  --label org.opencontainers.image.title=x00 --label org.opencontainers.image.version=0.1.0 "$ctr"
buildah commit --quiet "$ctr" "$TAG" >/dev/null
log "image $TAG: $(buildah images --format '{{.Size}}' "$TAG" | head -1)"

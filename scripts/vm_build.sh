#!/usr/bin/env bash
# Builds what scripts/vm_test.sh boots: a Debian cloud kernel with BPF-LSM and an initramfs holding busybox,
# deno, libbpf, strace, gdb, the static test helpers, the project tree at /x00 and an offline Deno cache.
#
# Usage: scripts/vm_build.sh [extra entrypoints to cache for offline use...]
#
# Output (all under build/vm/, gitignored):
#   vmlinuz                    the kernel (symlink into kernel/<package>/)
#   kernel.release             its `uname -r`
#   initramfs.cpio             what qemu gets as -initrd: base.cpio + project.cpio concatenated
#   base.cpio                  system layer (busybox, deno, libs, strace, gdb); rebuilt when its inputs change
#   project.cpio               project layer (/init, /x00, /opt/x00/{helpers,deno_dir}); rebuilt every time
#   deno_root/opt/x00/deno_dir the offline Deno cache (DENO_DIR) filled on the host, /opt/x00/deno_dir in the guest
#
# Environment:
#   X00_VM_KERNEL       kernel to use: a series (6.1, 6.12: the newest Debian cloud kernel of it that apt knows),
#                       an ABI (6.1.0-57, 6.12.117+deb12) or a package name (default 6.1)
#   X00_VM_KERNEL_ONLY  1 only fetches and selects the kernel (vmlinuz, kernel.release) and leaves the image
#   X00_VM_GDB          0 leaves gdb (and its Python) out of the image (default 1)
#   X00_VM_EXTRA_BINS   space-separated host programs to add with their libraries (e.g. "openssl")
#   X00_VM_FORCE        1 rebuilds the base layer even when its inputs did not change
#   DENO                deno binary to put in the image (default: the one on PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

OUT=build/vm
GDB_ENABLED=${X00_VM_GDB:-1}
EXTRA_BINS=${X00_VM_EXTRA_BINS:-}

log() { printf 'vm_build: %s\n' "$*" >&2; }
die() {
  printf 'vm_build: error: %s\n' "$*" >&2
  exit 1
}

mkdir -p "$OUT"
# Engineers share the tree: one build at a time.
exec 9>"$OUT/.build.lock"
if ! flock -n 9; then
  log "waiting for another vm_build.sh to finish"
  flock 9
fi

# --- host packages ------------------------------------------------------------------------------------------------
APT_UPDATED=0
# apt_update_once [--soft]: apt-get update, once per build; --soft goes on with the lists there are if it fails.
apt_update_once() {
  if [[ $APT_UPDATED == 0 ]]; then
    log "apt-get update"
    if apt-get update -qq >&2; then
      APT_UPDATED=1
    elif [[ ${1:-} == --soft ]]; then
      log "apt-get update failed: going on with the lists there are"
    else
      die "apt-get update failed"
    fi
  fi
}

# ensure_pkgs PKG... installs the Debian packages that are not installed yet.
ensure_pkgs() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} > 0)); then
    [[ $(id -u) == 0 ]] || die "missing packages ${missing[*]} and not root: install them first"
    apt_update_once
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
      die "apt-get install ${missing[*]} failed"
  fi
}

# apt_download PKG DIR downloads PKG's .deb into DIR and prints its path.
apt_download() {
  local pkg=$1 dir=$2
  mkdir -p "$dir"
  (cd "$dir" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2) || {
    apt_update_once
    (cd "$dir" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2) || die "apt-get download $pkg failed"
  }
  local debs=("$dir/${pkg}"_*.deb)
  [[ -f ${debs[0]} ]] || die "apt-get download $pkg left no .deb"
  echo "${debs[0]}"
}

PKGS=(cpio libbpf1 libc-bin strace)
if [[ $GDB_ENABLED == 1 ]]; then PKGS+=(gdb); fi
ensure_pkgs "${PKGS[@]}"

DENO_BIN=${DENO:-$(command -v deno || true)}
[[ -n $DENO_BIN ]] || die "deno is not on PATH (set DENO=/path/to/deno)"
DENO_BIN=$(readlink -f "$DENO_BIN")

# --- kernel ---------------------------------------------------------------------------------------------------------
# kernel_pkg prints the kernel package to boot: X00_VM_KERNEL as a package name, an ABI (6.1.0-57,
# 6.12.117+deb12) or a series (6.1, 6.12: the newest cloud kernel of that series apt knows).
kernel_pkg() {
  local want=${X00_VM_KERNEL:-6.1}
  case $want in
    linux-image-*)
      echo "$want"
      return
      ;;
    [0-9]*.[0-9]*[.-]*)
      echo "linux-image-${want}-cloud-amd64-unsigned"
      return
      ;;
    [0-9]*.[0-9]*) ;;
    *) die "X00_VM_KERNEL=$want: give a series (6.1, 6.12), an ABI (6.12.117+deb12) or a package name" ;;
  esac
  # apt-cache search takes a second: reuse the answer until the apt lists change.
  local series=$want pattern pkg key k
  pattern="^linux-image-${series//./\\.}[.][0-9]+(-[0-9]+)?(\\+deb[0-9]+)?-cloud-amd64-unsigned\$"
  key=$(stat -c '%Y' /var/lib/apt/lists 2>/dev/null || echo none)
  if [[ -f $OUT/kernel.resolved-$series ]]; then
    read -r k pkg <"$OUT/kernel.resolved-$series" || true
    if [[ $k == "$key" && -n $pkg ]]; then
      echo "$pkg"
      return
    fi
  fi
  pkg=$(apt-cache search --names-only "$pattern" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1)
  if [[ -z $pkg ]]; then
    apt_update_once
    key=$(stat -c '%Y' /var/lib/apt/lists 2>/dev/null || echo none)
    pkg=$(apt-cache search --names-only "$pattern" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1)
  fi
  if [[ -n $pkg ]]; then
    echo "$key $pkg" >"$OUT/kernel.resolved-$series"
  else
    # Offline: fall back to the newest kernel of the series already downloaded.
    pkg=$(find "$OUT/kernel" -mindepth 2 -maxdepth 2 -name vmlinuz 2>/dev/null |
      awk -F/ '{print $(NF-1)}' | grep -E "$pattern" | sort -V | tail -n 1)
  fi
  [[ -n $pkg ]] || die "no cloud kernel package of series $series found (is this Debian 12 with apt lists?)"
  echo "$pkg"
}

KPKG=$(kernel_pkg)
KDIR=$OUT/kernel/$KPKG
if [[ ! -s $KDIR/vmlinuz || ! -s $KDIR/release ]] && [[ ${X00_VM_KERNEL:-6.1} =~ ^[0-9]+[.][0-9]+$ ]]; then
  # A series is about to be downloaded: resolve it with fresh apt lists first. With stale ones, the newest kernel
  # they name may be gone from the mirror (a security update that bumps the ABI replaces the package), and
  # asking for it again after an update would still fail.
  apt_update_once --soft
  KPKG=$(kernel_pkg)
  KDIR=$OUT/kernel/$KPKG
fi
if [[ ! -s $KDIR/vmlinuz || ! -s $KDIR/release ]]; then
  log "downloading kernel $KPKG"
  tmp=$OUT/kernel/.download
  rm -rf "$tmp"
  deb=$(apt_download "$KPKG" "$tmp")
  mkdir -p "$tmp/x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards './boot/*'
  vmlinuzes=("$tmp"/x/boot/vmlinuz-*)
  vmlinuz=${vmlinuzes[0]}
  [[ -s $vmlinuz ]] || die "$KPKG has no /boot/vmlinuz-*"
  mkdir -p "$KDIR"
  cp "$vmlinuz" "$KDIR/vmlinuz.tmp"
  cp "$tmp"/x/boot/config-* "$KDIR/config" 2>/dev/null || true
  basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$KDIR/release"
  mv "$KDIR/vmlinuz.tmp" "$KDIR/vmlinuz"
  rm -rf "$tmp"
fi
ln -sfn "kernel/$KPKG/vmlinuz" "$OUT/vmlinuz"
cp "$KDIR/release" "$OUT/kernel.release"
echo "$KPKG" >"$OUT/kernel.package"
log "kernel $(cat "$OUT/kernel.release") ($KPKG)"
# X00_VM_KERNEL_ONLY=1: only fetch and select the kernel (the initramfs is the same for every kernel).
if [[ ${X00_VM_KERNEL_ONLY:-0} == 1 ]]; then exit 0; fi

# --- busybox (must be static: it is the guest's shell and coreutils) ----------------------------------------------
BUSYBOX=$(command -v busybox || true)
if [[ -z $BUSYBOX ]] || ldd "$BUSYBOX" >/dev/null 2>&1; then
  # Not installed or dynamically linked: use busybox-static from its .deb without installing it (it conflicts
  # with the busybox package).
  BUSYBOX=$OUT/pkgs/busybox-static/bin/busybox
  if [[ ! -x $BUSYBOX ]]; then
    log "fetching busybox-static"
    rm -rf "$OUT/pkgs/busybox-static" "$OUT/pkgs/.download"
    deb=$(apt_download busybox-static "$OUT/pkgs/.download")
    dpkg -x "$deb" "$OUT/pkgs/busybox-static"
    rm -rf "$OUT/pkgs/.download"
    [[ -x $BUSYBOX ]] || BUSYBOX=$OUT/pkgs/busybox-static/usr/bin/busybox
    [[ -x $BUSYBOX ]] || die "busybox-static has no busybox binary"
  fi
fi

# --- base layer inputs ----------------------------------------------------------------------------------------------
LIBBPF=$(ldconfig -p | awk '$1 == "libbpf.so.1" && /x86-64/ {print $NF; exit}')
[[ -n $LIBBPF ]] || LIBBPF=/usr/lib/x86_64-linux-gnu/libbpf.so.1
[[ -e $LIBBPF ]] || die "libbpf.so.1 not found (apt-get install libbpf1)"

BINS=("$DENO_BIN:/usr/bin/deno" "$(command -v strace):/usr/bin/strace")
PYVER=""
if [[ $GDB_ENABLED == 1 ]]; then
  GDB=$(command -v gdb) || die "gdb not found"
  BINS+=("$GDB:/usr/bin/gdb")
  PYVER=$(ldd "$GDB" | sed -n 's/.*libpython\([0-9.]*[0-9]\)\.so.*/\1/p' | head -n 1)
fi
for b in $EXTRA_BINS; do
  p=$(command -v "$b") || die "X00_VM_EXTRA_BINS: $b not found on the host"
  BINS+=("$p:/usr/bin/$(basename "$p")")
done

# libs_of FILE... prints the shared libraries (and dynamic loader) the files need, one path a line.
libs_of() {
  { ldd "$@" 2>/dev/null || true; } | awk '/=> \// {print $3} /^\t\/[^ ]+ \(0x/ {print $1}' | sort -u
}

PY_SO=()
if [[ -n $PYVER && -d /usr/lib/python$PYVER/lib-dynload ]]; then
  mapfile -t PY_SO < <(ls /usr/lib/python"$PYVER"/lib-dynload/*.so)
fi
ELFS=("$LIBBPF" "${PY_SO[@]}")
for pair in "${BINS[@]}"; do ELFS+=("${pair%%:*}"); done
mapfile -t LIBS < <(libs_of "${ELFS[@]}")

BASE_KEY=$(
  {
    sha256sum "${BASH_SOURCE[0]}"
    echo "gdb=$GDB_ENABLED extra=$EXTRA_BINS py=$PYVER"
    stat -L -c '%n %s %Y' "$BUSYBOX" "${ELFS[@]}" "${LIBS[@]}"
    if [[ -n $PYVER ]]; then stat -L -c '%n %s %Y' /usr/lib/python"$PYVER" /usr/share/gdb; fi
  } | sha256sum | cut -c1-64
)

# --- base layer -----------------------------------------------------------------------------------------------------
# copy_file SRC DEST_IN_ROOTFS copies with the content of SRC (symlinks followed) to ROOTFS/DEST.
copy_file() {
  local src=$1 dest=$2
  mkdir -p "$RFS$(dirname "$dest")"
  cp -L --preserve=mode "$src" "$RFS$dest"
}

build_base() {
  RFS=$OUT/base
  rm -rf "$RFS"
  mkdir -p "$RFS"/usr/{bin,sbin,lib,lib64} "$RFS"/{dev,proc,sys,tmp,run,root,etc,mnt,var/tmp,opt/x00}
  ln -s usr/bin "$RFS/bin"
  ln -s usr/sbin "$RFS/sbin"
  ln -s usr/lib "$RFS/lib"
  ln -s usr/lib64 "$RFS/lib64"
  chmod 1777 "$RFS/tmp" "$RFS/var/tmp"
  chmod 700 "$RFS/root"

  copy_file "$BUSYBOX" /usr/bin/busybox
  local applet
  while read -r applet; do
    [[ $applet == */busybox || -e $RFS/$applet || -L $RFS/$applet ]] && continue
    mkdir -p "$RFS/$(dirname "$applet")"
    ln -s /usr/bin/busybox "$RFS/$applet"
  done < <("$BUSYBOX" --list-full)

  local pair lib
  for pair in "${BINS[@]}"; do
    rm -f "$RFS${pair#*:}"
    copy_file "${pair%%:*}" "${pair#*:}"
  done
  copy_file "$LIBBPF" /usr/lib/x86_64-linux-gnu/libbpf.so.1
  for lib in "${LIBS[@]}"; do
    copy_file "$lib" "$lib"
  done

  if [[ -n $PYVER ]]; then
    # gdb embeds Python and needs its standard library; leave out what gdb never imports.
    mkdir -p "$RFS/usr/lib/python$PYVER"
    tar -C /usr/lib/python"$PYVER" \
      --exclude='./config-*' --exclude=./test --exclude=./idlelib --exclude=./tkinter --exclude=./ensurepip \
      --exclude=./lib2to3 --exclude=./pydoc_data --exclude=./distutils --exclude=./site-packages \
      --exclude=./turtledemo --exclude='./lib-dynload/_test*' -cf - . | tar -C "$RFS/usr/lib/python$PYVER" -xf -
    mkdir -p "$RFS/usr/share" "$RFS/etc"
    cp -a /usr/share/gdb "$RFS/usr/share/gdb"
    if [[ -d /etc/gdb ]]; then cp -a /etc/gdb "$RFS/etc/gdb"; fi
  fi

  cat >"$RFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$RFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$RFS/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files\n' >"$RFS/etc/nsswitch.conf"
  printf 'x00-vm\n' >"$RFS/etc/hostname"
  printf '/usr/lib/x86_64-linux-gnu\n/usr/local/lib\n' >"$RFS/etc/ld.so.conf"
  ldconfig -r "$RFS" 2>/dev/null || log "warning: ldconfig -r failed; the guest relies on LD_LIBRARY_PATH"
  # The kernel opens /dev/console before /init runs; without the node init starts with no stdio.
  mknod -m 600 "$RFS/dev/console" c 5 1 2>/dev/null || log "warning: cannot mknod /dev/console (not root?)"
  mknod -m 666 "$RFS/dev/null" c 1 3 2>/dev/null || true

  (cd "$RFS" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --owner=0:0 --quiet) >"$OUT/base.cpio.tmp"
  mv "$OUT/base.cpio.tmp" "$OUT/base.cpio"
  echo "$BASE_KEY" >"$OUT/base.key"
  rm -rf "$RFS"
}

if [[ ${X00_VM_FORCE:-0} == 1 || ! -s $OUT/base.cpio || $(cat "$OUT/base.key" 2>/dev/null) != "$BASE_KEY" ]]; then
  log "building base layer"
  build_base
fi

# --- static helpers -------------------------------------------------------------------------------------------------
HELPERS_OUT=$OUT/helpers
mkdir -p "$HELPERS_OUT"
shopt -s nullglob
HELPER_SRCS=(tests/vm/helpers/*.c)
shopt -u nullglob
if ((${#HELPER_SRCS[@]} > 0)); then
  ensure_pkgs gcc libc6-dev
  for src in "${HELPER_SRCS[@]}"; do
    bin=$HELPERS_OUT/$(basename "$src" .c)
    if [[ ! -x $bin || $src -nt $bin || ${BASH_SOURCE[0]} -nt $bin ]]; then
      log "gcc -static $src"
      gcc -static -O2 -Wall -Wextra -o "$bin.tmp" "$src" || die "cannot build helper $src"
      mv "$bin.tmp" "$bin"
    fi
  done
fi
# Drop helpers whose source is gone.
for bin in "$HELPERS_OUT"/*; do
  [[ -e $bin ]] || continue
  [[ -e tests/vm/helpers/$(basename "$bin").c ]] || rm -f "$bin"
done

# --- BPF programs of the attack suite (an attacker's own tools; the guest has no compiler) --------------------------
FIXTURES_OUT=build/vm-bpf
mkdir -p "$FIXTURES_OUT"
shopt -s nullglob
for src in tests/vm/fixtures/*.bpf.c; do
  obj=$FIXTURES_OUT/$(basename "$src" .c).o
  if [[ ! -s $obj || $src -nt $obj ]]; then
    ensure_pkgs clang llvm libbpf-dev
    log "clang -target bpf $src"
    clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I bpf/vmlinux/x86 -c "$src" -o "$obj.tmp" ||
      die "cannot build $src"
    mv "$obj.tmp" "$obj"
  fi
done
shopt -u nullglob

# --- project layer --------------------------------------------------------------------------------------------------
RFS=$OUT/project
rm -rf "$RFS"
mkdir -p "$RFS/x00" "$RFS/opt/x00/helpers"
# The tree minus VCS data and build output; BPF objects built under build/ (outside build/vm) come along.
tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./node_modules --exclude=./bench/results/raw \
  -cf - . | tar -C "$RFS/x00" -xf -
if [[ -d build ]]; then
  (find build -path build/vm -prune -o -type f -name '*.o' -print0 |
    tar -C "$ROOT" --null -T - -cf -) | tar -C "$RFS/x00" -xf -
fi
install -m 0755 tests/vm/init.sh "$RFS/init"
for bin in "$HELPERS_OUT"/*; do
  if [[ -e $bin ]]; then cp "$bin" "$RFS/opt/x00/helpers/"; fi
done

# Offline Deno cache: the guest has no network. Resolve in the staged copy so a lockfile written by deno lands
# there, never in the working tree.
ENTRIES=()
if [[ -f $RFS/x00/mod.ts ]]; then ENTRIES+=(mod.ts); fi
while IFS= read -r -d '' f; do ENTRIES+=("${f#"$RFS"/x00/}"); done < <(
  find "$RFS/x00/tests/vm" -maxdepth 1 -name '*_test.ts' -print0 2>/dev/null
)
for e in "$@"; do
  e=${e#./}
  e=${e#"$ROOT"/}
  if [[ -d $RFS/x00/$e ]]; then
    while IFS= read -r -d '' f; do ENTRIES+=("${f#"$RFS"/x00/}"); done < <(
      find "$RFS/x00/$e" -type f \( -name '*test.ts' -o -name '*test.tsx' -o -name '*test.js' \
        -o -name '*test.mts' -o -name '*test.mjs' \) -print0
    )
  elif [[ -f $RFS/x00/$e ]]; then
    ENTRIES+=("$e")
  else
    die "cannot cache $e: not a file or directory of the project"
  fi
done
# The cache lives where the guest expects it (/opt/x00/deno_dir) below its own root, and goes into the image as
# a cpio archive of its own: faster than copying its thousand files.
DENO_ROOT=$OUT/deno_root
# The npm registry may be asked (the cache persists between builds): trust the system's store as well as Deno's own,
# as apt and npm do (a proxy's CA installed there then works without NODE_EXTRA_CA_CERTS).
export DENO_TLS_CA_STORE=${DENO_TLS_CA_STORE:-mozilla,system}
export DENO_DIR=$ROOT/$DENO_ROOT/opt/x00/deno_dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
mkdir -p "$DENO_DIR"
if [[ -f $RFS/x00/deno.json || -f $RFS/x00/deno.jsonc ]]; then
  (cd "$RFS/x00" && "$DENO_BIN" install --quiet) || die "deno install (deno.json imports) failed"
fi
if ((${#ENTRIES[@]} > 0)); then
  (cd "$RFS/x00" && "$DENO_BIN" cache --quiet "${ENTRIES[@]}") || die "deno cache ${ENTRIES[*]} failed"
fi
{
  echo "kernel=$(cat "$OUT/kernel.release")"
  echo "deno=$("$DENO_BIN" --version | head -n 1)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$RFS/opt/x00/build-info"

for dir in "$RFS" "$DENO_ROOT"; do
  (cd "$dir" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet)
done >"$OUT/project.cpio"
rm -rf "$RFS"

cat "$OUT/base.cpio" "$OUT/project.cpio" >"$OUT/initramfs.cpio.tmp"
mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio"
log "initramfs $(du -h "$OUT/initramfs.cpio" | cut -f1) ready: $OUT/initramfs.cpio"

#!/usr/bin/env bash
# Fails when a tracked file outside the test fixtures holds a private key or a credential-looking string: PEM
# private keys, Vault tokens (hvs./hvb./s.), AWS access keys, GitHub and npm tokens, JWTs.
#   scripts/scan_secrets.sh        scan the files git tracks (and new files not ignored)
#   scripts/scan_secrets.sh FILE…  scan these files
# Test fixtures (tests/, src/**/*_test.ts) are exempt: they hold generated keys and fake tokens on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
patterns=(
  '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----'
  '\bhv[sb]\.[A-Za-z0-9_-]{20,}'
  '\bs\.[A-Za-z0-9]{24}\b'
  '\bAKIA[0-9A-Z]{16}\b'
  '\bgh[pousr]_[A-Za-z0-9]{36}\b'
  '\bnpm_[A-Za-z0-9]{36}\b'
  '\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}'
)
if (($# > 0)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files --cached --others --exclude-standard |
    grep -vE '^(tests/|build/)|_test\.ts$|^bpf/vmlinux/|\.o$' || true)
fi
found=0
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  for p in "${patterns[@]}"; do
    if hits=$(grep -nIE -- "$p" "$f" 2>/dev/null); then
      while IFS= read -r h; do
        echo "scan_secrets: ${f}:${h%%:*}: matches a credential pattern (${p})" >&2
        found=1
      done <<<"$hits"
    fi
  done
done
if ((found)); then exit 1; fi
echo "scan_secrets: no private key or credential-looking string in ${#files[@]} files"

#!/usr/bin/env bash
# Fill plugins/iam.yaml for one release from goreleaser's checksums file:
#   scripts/krew-manifest.sh 0.3.0 dist/checksums.txt > dist/krew/iam.yaml
# Fails when an archive of the six platforms is missing from the checksums.
# Naming platforms keeps only theirs (a local build of one platform, which
# `krew install --manifest=… --archive=…` installs):
#   scripts/krew-manifest.sh 0.3.0 checksums.txt linux_amd64
set -euo pipefail
version=$1 sums=$2
shift 2
manifest=$(dirname "$0")/../plugins/iam.yaml
all=(linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64)
want=("${@:-${all[@]}}")
args=(-e "s/VERSION/$version/g")
for p in "${want[@]}"; do
  if [[ " ${all[*]} " != *" $p "* ]]; then
    echo "krew-manifest: unknown platform $p (known: ${all[*]})" >&2
    exit 1
  fi
  ext=tar.gz
  [[ $p == windows_* ]] && ext=zip
  sum=$(awk -v f="kubeiam_${version}_${p}.${ext}" '$2 == f {print $1}' "$sums")
  if [ -z "$sum" ]; then
    echo "krew-manifest: no checksum for kubeiam_${version}_${p}.${ext} in $sums" >&2
    exit 1
  fi
  args+=(-e "s/SHA256_${p}\$/${sum}/")
done
# Each platform's block runs from its "- selector:" line to the next (or to
# the end); a block is kept when its matchLabels name a wanted platform.
sed "${args[@]}" "$manifest" | awk -v want=" ${want[*]} " '
  function flush() { if (keep) printf "%s", buf; buf = ""; inblock = 0 }
  inblock && !/^    / { flush() }
  /^  - selector:/ { inblock = 1; keep = 0 }
  inblock && /matchLabels:/ {
    os = $0; sub(/.*os: */, "", os); sub(/[,}].*/, "", os)
    arch = $0; sub(/.*arch: */, "", arch); sub(/[,}].*/, "", arch)
    keep = index(want, " " os "_" arch " ") > 0
  }
  inblock { buf = buf $0 "\n"; next }
  { print }
  END { flush() }
'

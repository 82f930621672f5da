#!/usr/bin/env bash
# Fill plugins/iam.yaml for one release from goreleaser's checksums file:
#   scripts/krew-manifest.sh 0.3.0 dist/checksums.txt > dist/krew/iam.yaml
# Fails when an archive of the six platforms is missing from the checksums.
set -euo pipefail
version=$1 sums=$2
manifest=$(dirname "$0")/../plugins/iam.yaml
args=(-e "s/VERSION/$version/g")
for p in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64; do
  ext=tar.gz
  [[ $p == windows_* ]] && ext=zip
  sum=$(awk -v f="kubeiam_${version}_${p}.${ext}" '$2 == f {print $1}' "$sums")
  if [ -z "$sum" ]; then
    echo "krew-manifest: no checksum for kubeiam_${version}_${p}.${ext} in $sums" >&2
    exit 1
  fi
  args+=(-e "s/SHA256_${p}\$/${sum}/")
done
sed "${args[@]}" "$manifest"

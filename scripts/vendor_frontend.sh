#!/usr/bin/env bash
# Refresh the vendored front-end libraries from the npm registry (never a CDN).
# Pinned releases; bump a version here, run the script, commit the result.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/heron/dashboard/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name@version  files-to-copy (relative to the package folder)  target subfolder
PACKAGES=(
  "bootstrap@5.3.9|dist/css/bootstrap.min.css dist/js/bootstrap.bundle.min.js LICENSE|bootstrap"
  "bootstrap-icons@1.13.2|font/bootstrap-icons.min.css font/fonts/bootstrap-icons.woff2 font/fonts/bootstrap-icons.woff LICENSE|bootstrap-icons"
  "echarts@6.1.0|dist/echarts.min.js LICENSE|echarts"
  "vis-network@10.1.5|standalone/umd/vis-network.min.js LICENSE-APACHE-2.0 LICENSE-MIT|vis-network"
  "jquery@4.0.0|dist/jquery.min.js LICENSE.txt|jquery"
  "datatables.net@3.1.5|js/dataTables.min.js License.txt|datatables"
  "datatables.net-bs5@3.1.5|js/dataTables.bootstrap5.min.js css/dataTables.bootstrap5.min.css License.txt|datatables-bs5"
)

cd "$work"
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec files target <<<"$entry"
  tarball=$(npm pack --silent "$spec")
  mkdir -p "unpacked/$target"
  tar -xzf "$tarball" -C "unpacked/$target"
  rm -rf "${dest:?}/$target"
  for f in $files; do
    mkdir -p "$dest/$target/$(dirname "$f")"
    cp "unpacked/$target/package/$f" "$dest/$target/$f"
  done
  echo "$spec" > "$dest/$target/VERSION"
  echo "vendored $spec"
done

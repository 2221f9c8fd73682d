#!/bin/sh
# Builds the Debian package estatewatch_<version>_<arch>.deb with dpkg-deb
# (no cargo-deb, no containers). See docs/operations.md, "Debian package".
#
#   scripts/build-deb.sh [OUT_DIR]          # builds the release binary first
#
# Environment (all optional):
#   ESTATEWATCH_BIN  use this binary instead of building target/release/estatewatch
#   VERSION          package version (default: the version in Cargo.toml)
#   ORT_DIR          folder holding libonnxruntime.so.* (default: .ort/ from
#                    scripts/setup.sh); without it the package has no ONNX
#                    Runtime and model analyzers need runtime.onnxruntime
#   DEB_COMPRESS     dpkg-deb compressor: xz (default), gzip, zstd, none
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$here/target/deb"}
version=${VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -n 1)}
arch=$(dpkg --print-architecture)
ort_dir=${ORT_DIR:-"$here/.ort"}

if [ -z "${ESTATEWATCH_BIN:-}" ]; then
  (cd "$here" && cargo build --release --bin estatewatch)
  ESTATEWATCH_BIN="$here/target/release/estatewatch"
fi

mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/estatewatch"

install -D -m 0755 "$ESTATEWATCH_BIN" "$pkg/usr/bin/estatewatch"
# Debian ships binaries without debug info (a debug build is ~200 MB with it).
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$pkg/usr/bin/estatewatch"
fi
install -D -m 0644 "$here/systemd/estatewatch.service" "$pkg/lib/systemd/system/estatewatch.service"
install -D -m 0644 "$here/config/estatewatch.toml" "$pkg/etc/estatewatch/estatewatch.toml"
for model in "$here"/models/*/model.toml; do
  dir=$(dirname "$model")
  name=$(basename "$dir")
  mkdir -p "$pkg/usr/share/estatewatch/models/$name"
  cp -p "$dir"/* "$pkg/usr/share/estatewatch/models/$name/"
  chmod -R u=rwX,go=rX "$pkg/usr/share/estatewatch/models/$name"
done
if ls "$ort_dir"/libonnxruntime.so.* >/dev/null 2>&1; then
  mkdir -p "$pkg/usr/lib/estatewatch"
  cp -p "$ort_dir"/libonnxruntime*.so* "$pkg/usr/lib/estatewatch/"
  [ -f "$ort_dir/LICENSE-NOTE" ] && cp -p "$ort_dir/LICENSE-NOTE" "$pkg/usr/lib/estatewatch/"
  chmod 0644 "$pkg"/usr/lib/estatewatch/*
else
  echo "build-deb: no ONNX Runtime in $ort_dir (run scripts/setup.sh); packaging without it" >&2
fi
docs="$pkg/usr/share/doc/estatewatch"
install -D -m 0644 "$here/docs/operations.md" "$docs/operations.md"
install -D -m 0644 "$here/docs/mqtt.md" "$docs/mqtt.md"
install -D -m 0644 "$here/README.md" "$docs/README.md"
printf 'estatewatch\nLicense: Apache-2.0\nModels: see /usr/share/estatewatch/models/*/LICENSE.md\n' >"$docs/copyright"

mkdir -p "$pkg/DEBIAN"
size=$(du -sk "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  "$here/packaging/debian/control" >"$pkg/DEBIAN/control"
install -m 0644 "$here/packaging/debian/conffiles" "$pkg/DEBIAN/conffiles"
for s in postinst prerm postrm; do
  install -m 0755 "$here/packaging/debian/$s" "$pkg/DEBIAN/$s"
done

deb="$out/estatewatch_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" --build "$pkg" "$deb" >/dev/null
echo "$deb"

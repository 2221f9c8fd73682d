#!/bin/sh
# Builds the Debian package estatewatch_<version>_<arch>.deb with debhelper
# (dpkg-buildpackage + dh, from packaging/debian/). See docs/operations.md,
# "Debian package". Needs debhelper (scripts/setup.sh --deb installs it).
#
#   scripts/build-deb.sh [OUT_DIR]          # builds the release binary first
#
# Environment (all optional):
#   ESTATEWATCH_BIN  use this binary instead of building target/release/estatewatch
#   VERSION          package version (default: the version in Cargo.toml); a
#                    version newer than packaging/debian/changelog's gets an
#                    entry of its own
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

for tool in dpkg-buildpackage dh; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-deb: $tool not found; run scripts/setup.sh --deb (installs debhelper)" >&2
    exit 1
  fi
done

if [ -z "${ESTATEWATCH_BIN:-}" ]; then
  (cd "$here" && cargo build --release --bin estatewatch)
  ESTATEWATCH_BIN="$here/target/release/estatewatch"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The source tree dpkg-buildpackage works in: packaging/debian plus the
# files debian/estatewatch.install and friends name.
src="$work/estatewatch-$version"
mkdir -p "$src"
cp -R "$here/packaging/debian" "$src/debian"
cp "$here/systemd/estatewatch.service" "$src/debian/estatewatch.service"
cp "$ESTATEWATCH_BIN" "$src/estatewatch"
chmod 0755 "$src/estatewatch"
cp "$here/packaging/estatewatch.toml" "$src/estatewatch.toml"
mkdir -p "$src/models" "$src/docs" "$src/examples"
for model in "$here"/models/*/model.toml; do
  cp -R "$(dirname "$model")" "$src/models/"
done
cp "$here"/docs/*.md "$here"/docs/*.schema.json "$src/docs/"
cp "$here/README.md" "$src/README.md"
cp "$here/config/estatewatch.toml" "$src/examples/estatewatch.toml"
"$src/estatewatch" manpage --out-dir "$src/man"
if ls "$ort_dir"/libonnxruntime.so.* >/dev/null 2>&1; then
  mkdir -p "$src/ort"
  cp "$ort_dir"/libonnxruntime*.so* "$src/ort/"
  echo "ort/* usr/lib/estatewatch" >>"$src/debian/estatewatch.install"
else
  echo "build-deb: no ONNX Runtime in $ort_dir (run scripts/setup.sh); packaging without it" >&2
fi
chmod -R u=rwX,go=rX "$src/models" "$src/docs" "$src/examples" "$src/man"

top=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ "$top" != "$version" ]; then
  entry="$work/changelog"
  {
    printf 'estatewatch (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Release %s.\n\n' "$version"
    printf ' -- %s  %s\n\n' \
      "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Maintainer)" \
      "$(date -R)"
    cat "$src/debian/changelog"
  } >"$entry"
  mv "$entry" "$src/debian/changelog"
fi

log="$work/build.log"
if ! (cd "$src" && DEB_COMPRESS="${DEB_COMPRESS:-xz}" \
  dpkg-buildpackage -b --no-sign -d >"$log" 2>&1); then
  cat "$log" >&2
  echo "build-deb: dpkg-buildpackage failed" >&2
  exit 1
fi
deb="estatewatch_${version}_${arch}.deb"
mv "$work/$deb" "$out/$deb"
echo "$out/$deb"

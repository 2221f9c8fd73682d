#!/usr/bin/env bash
# Fetches real camera-like footage with none of our incidents, for the
# scorecard's "a real scene must produce zero alerts" check.
#
# Source: the Debian package `opencv-doc` (OpenCV's examples), which ships
#   /usr/share/doc/opencv-doc/examples/data/vtest.avi  (768x576, 10 fps, 795 frames:
#       people walking across a campus square; traffic cones, parked cars, litter)
#   /usr/share/doc/opencv-doc/examples/data/tree.avi   (320x240, 68 frames: foliage
#       seen through a window)
# The package is ~96 MB, so it is fetched with `apt-get download` (no install) into a
# cache and only the two clips are extracted. Safe to run again: does nothing when done.
#
# Usage: scripts/fetch-real-footage.sh [DIR]   (default: target/real-footage)
# Prints the paths of the clips, one a line.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-target/real-footage}
CLIPS=(vtest.avi tree.avi)
mkdir -p "$DIR"
have_all=1
for c in "${CLIPS[@]}"; do [ -s "$DIR/$c" ] || have_all=0; done
if [ "$have_all" = 0 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  deb=$(ls "$DIR"/opencv-doc_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    echo "fetch-real-footage: downloading opencv-doc (about 96 MB) with apt-get download" >&2
    if ! (cd "$work" && apt-get download opencv-doc >/dev/null 2>&1); then
      echo "fetch-real-footage: 'apt-get download opencv-doc' failed (run 'apt-get update' first?)" >&2
      exit 1
    fi
    deb=$(ls "$work"/opencv-doc_*.deb | head -n1)
  fi
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards \
    $(printf './usr/share/doc/opencv-doc/examples/data/%s ' "${CLIPS[@]}")
  for c in "${CLIPS[@]}"; do
    cp "$work/usr/share/doc/opencv-doc/examples/data/$c" "$DIR/$c"
  done
fi
for c in "${CLIPS[@]}"; do echo "$DIR/$c"; done

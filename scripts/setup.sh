#!/usr/bin/env bash
# Installs everything estatewatch needs to build, test and run on Debian 12:
#   - the Debian packages (GStreamer 1.22 + plugins, RTSP server library, mosquitto,
#     fonts-wqy-microhei for Chinese text on pictures, ...);
#   - the ONNX Runtime shared library, taken from the pinned PyPI `onnxruntime`
#     wheel (sha256 checked) into .ort/ in this checkout, where the binary looks
#     for it without any environment variable;
#   - for the tests: debhelper (tests/ops/deb.rs builds the .deb), chromium and
#     chromium-driver (tests/board/ drives the web console in headless Chromium
#     over WebDriver) and promtool (tests/ops/monitor.rs checks /metrics), the
#     latter unpacked from Debian's `prometheus` package into .cache/bin/ so no
#     Prometheus server is installed or started.
# With --deb (`make deb`) it also installs lintian, to check the package.
# Safe to run again: each step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

WANT_DEB=0
for arg in "$@"; do
  case "$arg" in
    --deb) WANT_DEB=1 ;;
    *) printf 'setup: unknown option %s (known: --deb)\n' "$arg" >&2; exit 2 ;;
  esac
done

APT_PACKAGES=(
  pkg-config build-essential ca-certificates unzip python3 python3-pip
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  gstreamer1.0-plugins-base-apps
  mosquitto mosquitto-clients openssl darknet
  fonts-wqy-microhei
  # Test-only: the .deb test, and the browser test of the web console.
  debhelper chromium chromium-driver
)
if [ "$WANT_DEB" = 1 ]; then
  APT_PACKAGES+=(lintian)
fi

PROMTOOL=.cache/bin/promtool

ORT_VERSION=1.32.0
ORT_DIR=.ort
ORT_LIB="$ORT_DIR/libonnxruntime.so.$ORT_VERSION"

say() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  # python3-pip may be absent where a non-Debian python provides pip; accept that.
  if [ "${#missing[@]}" -eq 1 ] && [ "${missing[0]}" = python3-pip ] && python3 -m pip --version >/dev/null 2>&1; then
    missing=()
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The tests start their own mosquitto; the packaged service is not needed.
}

check_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    say "cargo not found: install Rust 1.85 or newer (rustup), then run this again."
    say "Debian 12's own rustc (1.63) is too old for this project."
    exit 1
  fi
}

install_ort() {
  local arch wheel_sha platform
  arch=$(uname -m)
  case "$arch" in
    x86_64)
      platform=manylinux_2_28_x86_64
      wheel_sha=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d ;;
    aarch64)
      platform=manylinux_2_28_aarch64
      wheel_sha=2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c ;;
    *) say "no pinned onnxruntime wheel for $arch"; exit 1 ;;
  esac
  local wheel="onnxruntime-$ORT_VERSION-cp311-cp311-$platform.whl"
  if [ -f "$ORT_LIB" ] && [ -f "$ORT_DIR/wheel.sha256" ] && [ "$(cat "$ORT_DIR/wheel.sha256")" = "$wheel_sha" ]; then
    return 0
  fi
  say "fetching ONNX Runtime $ORT_VERSION from PyPI ($wheel)"
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform "$platform" --python-version 3.11 --implementation cp \
    "onnxruntime==$ORT_VERSION" -d "$tmp"
  local got; got=$(sha256sum "$tmp/$wheel" | cut -d' ' -f1)
  if [ "$got" != "$wheel_sha" ]; then
    say "checksum mismatch for $wheel: expected $wheel_sha, got $got"; exit 1
  fi
  mkdir -p "$ORT_DIR"
  unzip -q -o -j "$tmp/$wheel" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" \
    "onnxruntime/capi/libonnxruntime_providers_shared.so" -d "$ORT_DIR"
  sed -n '/^License/p' <(unzip -p "$tmp/$wheel" "onnxruntime-$ORT_VERSION.dist-info/METADATA") > "$ORT_DIR/LICENSE-NOTE" || true
  echo "$wheel_sha" > "$ORT_DIR/wheel.sha256"
  say "ONNX Runtime installed at $ORT_LIB"
}

# promtool from Debian's prometheus package, unpacked into .cache/bin/ (the
# package itself would install and start a Prometheus server).
install_promtool() {
  if command -v promtool >/dev/null 2>&1 || [ -x "$PROMTOOL" ]; then
    return 0
  fi
  say "unpacking promtool from the Debian package prometheus into $PROMTOOL"
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  chmod 0777 "$tmp" # apt-get download runs as the _apt user
  (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) || {
    as_root apt-get update -qq
    (cd "$tmp" && apt-get download -qq prometheus >/dev/null)
  }
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool
  mkdir -p "$(dirname "$PROMTOOL")"
  install -m 0755 "$tmp/usr/bin/promtool" "$PROMTOOL"
}

install_apt
check_rust
install_ort
install_promtool

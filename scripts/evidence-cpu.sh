#!/usr/bin/env bash
# Evidence cost in steady state: CPU of `estatewatch run` with one camera
# (640x360 detect stream, no analyzers, so no incidents), without and then
# with a 1080p evidence stream of the same scene. The RTSP server runs in its
# own process and is not counted. Prints both and the difference, in % of
# one core.
#
#   scripts/evidence-cpu.sh [SECONDS]       (default 60 per run)
#
# Uses target/debug binaries unless BIN / SCENEGEN say otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/estatewatch}
SCENEGEN=${SCENEGEN:-target/debug/scenegen}
SECS=${1:-60}
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$OUT"' EXIT
"$SCENEGEN" --kind throwing --seed 7 --name sub --out "$OUT" >/dev/null
"$SCENEGEN" --kind throwing --seed 7 --size 1920x1080 --name main --out "$OUT" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve-rtsp --port "$PORT" sub="$OUT/sub.mp4" main="$OUT/main.mp4" >/dev/null 2>&1 &
sleep 1
ticks=$(getconf CLK_TCK)
run() { # $1 = extra camera config
  cat > "$OUT/c.toml" <<CONF
[site]
id = "bench"
[gateway]
id = "bench"
[mqtt]
port = 1
[outbox]
path = "$OUT/outbox-$RANDOM.db"
[evidence]
dir = "$OUT/evidence"
[[cameras]]
name = "cam"
url = "rtsp://127.0.0.1:$PORT/sub"
$1
CONF
  "$BIN" run --config "$OUT/c.toml" 2>"$OUT/log" &
  local pid=$!
  sleep 10 # connect and settle
  local a b
  a=$(awk '{print $14+$15}' /proc/$pid/stat)
  sleep "$SECS"
  b=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  python3 -c "print(round(100.0*($b-$a)/$ticks/$SECS, 2))"
}
without=$(run "")
with=$(run "[cameras.evidence]
url = \"rtsp://127.0.0.1:$PORT/main\"")
echo "daemon CPU, one camera, ${SECS}s: detect only ${without}% of a core; with a 1080p evidence stream ${with}%"
python3 -c "print('evidence stream: %.2f%% of a core' % ($with - $without))"

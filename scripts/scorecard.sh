#!/usr/bin/env bash
# The detection scorecard over the scene suite (docs/scenes.md):
#   1. render the default scene suite, cached in target/scenes/<cache-key>/<suite>/
#      (a second run re-renders nothing unless the generator changed);
#   2. add real footage with no incidents (scripts/fetch-real-footage.sh; NO_REAL=1 skips);
#   3. replay every clip with the config made from its calibration (<clip>.toml),
#      collecting alerts in target/scenes/<cache-key>/alerts/<clip>.jsonl;
#   4. score them against the truth and tests/scorecard-thresholds.toml
#      (exit 1 when a threshold is broken, 2 on bad input, 3 when replay is missing).
#
# Usage: scripts/scorecard.sh [extra `score` flags, e.g. --json]
# Environment: PROFILE=debug|release (default debug), SUITE=default|hard|smoke,
#              JOBS=<parallel replays> (default: CPUs), NO_REAL=1,
#              THRESHOLDS=<file> (default tests/scorecard-thresholds.toml, or
#              tests/scorecard-thresholds-hard.toml for SUITE=hard).
# The hard suite (issue 14) replays real footage with every incident analyzer on
# over the whole frame (`scenegen --real … --all-analyzers`).
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-debug}
SUITE=${SUITE:-default}
JOBS=${JOBS:-$(nproc)}
if [ "$SUITE" = hard ]; then
  THRESHOLDS=${THRESHOLDS:-tests/scorecard-thresholds-hard.toml}
  REAL_FLAGS=--all-analyzers
else
  THRESHOLDS=${THRESHOLDS:-tests/scorecard-thresholds.toml}
  REAL_FLAGS=
fi
# The daemon (`estatewatch`) and the scene tools (`scenegen`, `score`, crates/estatewatch-scenes).
if [ "$PROFILE" = release ]; then cargo build --release --workspace --bins --quiet; else cargo build --workspace --bins --quiet; fi
BIN=$PWD/target/$PROFILE/estatewatch
SCENEGEN=$PWD/target/$PROFILE/scenegen
SCORE=$PWD/target/$PROFILE/score
KEY=$("$SCENEGEN" --cache-key)
ROOT=target/scenes/$KEY
DIR=$ROOT/$SUITE
ALERTS=$ROOT/alerts-$SUITE
say() { printf 'scorecard: %s\n' "$*" >&2; }

# 1. The suite (and a replay config per clip).
"$SCENEGEN" --suite "$SUITE" --out "$DIR" --configs

# 2. Real footage, when it can be had.
if [ "${NO_REAL:-0}" != 1 ]; then
  if clips=$(scripts/fetch-real-footage.sh target/real-footage); then
    for c in $clips; do
      stem=real-$(basename "${c%.*}")
      [ -s "$DIR/$stem.json" ] && [ -s "$DIR/$stem.toml" ] && continue
      "$SCENEGEN" --real "$c" $REAL_FLAGS --out "$DIR" --configs >/dev/null
    done
  else
    say "no real footage (fetch failed); scoring generated clips only"
  fi
fi

# 3. Replay. ---------------------------------------------------------------
# The one call into the analysis: `estatewatch replay` (issue 5, item 1) runs a
# camera's analyzers over a file as fast as possible and prints each alert as a
# JSON line (schema v1, with media_time_ms). The config's camera is the clip stem.
replay_clip() { # <config.toml> <camera> <video>  -> alert JSON lines on stdout
  "$BIN" replay --config "$1" --camera "$2" "$3"
}
# ---------------------------------------------------------------------------
if ! "$BIN" replay --help >/dev/null 2>&1; then
  say "'estatewatch replay' does not exist yet: clips and configs are ready in $DIR,"
  say "but nothing can be scored until it does."
  exit 3
fi
rm -rf "$ALERTS" && mkdir -p "$ALERTS"
export BIN DIR ALERTS
export -f replay_clip
started=$(date +%s)
ls "$DIR"/*.json | xargs -P "$JOBS" -I{} bash -c '
  truth={}; stem=$(basename "$truth" .json)
  clip=$(sed -n "s/^  \"clip\": \"\(.*\)\",\$/\1/p" "$truth")
  if ! replay_clip "$DIR/$stem.toml" "$stem" "$PWD/$DIR/$clip" >"$ALERTS/$stem.jsonl" 2>"$ALERTS/$stem.log"; then
    echo "scorecard: replay failed for $stem (see $ALERTS/$stem.log)" >&2; exit 255
  fi'
say "replayed $(ls "$DIR"/*.json | wc -l) clips in $(( $(date +%s) - started )) s"

# 4. Score.
"$SCORE" --truth "$DIR" --alerts "$ALERTS" --thresholds "$THRESHOLDS" "$@"

# The two set-up commands are `make demo` and `make test`; both install what is missing first.
CARGO ?= cargo

.PHONY: setup build release test lint demo bench clean scorecard deb

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --workspace

# The daemon alone (what installers run; `make deb` packages it).
release: setup
	$(CARGO) build --release

test: setup
	$(CARGO) test --workspace --lib --bins --tests -- --test-threads=2
	$(CARGO) test --workspace --doc
	scripts/scorecard.sh
	SUITE=hard scripts/scorecard.sh

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The daemon and the scene generator that renders the demo's clips.
demo: setup
	$(CARGO) build --release --workspace --bins
	scripts/demo.sh

bench: setup
	$(CARGO) bench

# Debian package in target/deb/ (debhelper; release binary, models, unit,
# default config, man pages), then lintian on it.
deb:
	@scripts/setup.sh --deb
	@deb=$$(scripts/build-deb.sh) && echo "$$deb" && lintian --info "$$deb"

# Scene suites -> replay -> scorecard, gated by tests/scorecard-thresholds.toml and
# tests/scorecard-thresholds-hard.toml (docs/scenes.md); also the last steps of `make test`.
scorecard: setup
	scripts/scorecard.sh
	SUITE=hard scripts/scorecard.sh

clean:
	$(CARGO) clean

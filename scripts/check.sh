#!/usr/bin/env bash
# The project's whole test command: what CI runs (.ci/run) and what a contributor runs before
# pushing. It installs what it needs on a fresh machine, so a green run here means a green CI.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all --check
cargo fmt --all --check --manifest-path fuzz/Cargo.toml

step "clippy, all features"
cargo clippy --locked --all-targets --all-features -- -D warnings
step "clippy, no default features (the typed core alone)"
cargo clippy --locked --all-targets --no-default-features -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --all-features

step "moto (an STS/S3-compatible server for the provider's integration tests)"
# A virtualenv of the project's own, so a fresh machine needs only python3.
if [ ! -x .venv/bin/moto_server ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi
export IRSA_MOTO_SERVER="$PWD/.venv/bin/moto_server"

step "tests, all features"
cargo test --locked --all-features

step "fuzz corpora replay"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "the nightly toolchain is needed for cargo fuzz: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
for corpus in fuzz/corpus/*/; do
  target=$(basename "$corpus")
  # -runs=0 executes every corpus input once and stops: a deterministic replay.
  cargo +nightly fuzz run "$target" "$corpus" -- -runs=0 2>&1 | tail -n 1
done
echo "fuzz corpora replayed: $(ls fuzz/corpus | wc -l) targets, $(find fuzz/corpus -type f | wc -l) inputs"

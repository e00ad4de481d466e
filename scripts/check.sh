#!/usr/bin/env bash
# The project's whole test command: what CI runs (.ci/run) and what a contributor runs before
# pushing. It installs what it needs on a fresh machine, so a green run here means a green CI.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all --check
cargo fmt --all --check --manifest-path fuzz/Cargo.toml

step "rust-version"
mkdir -p target
# Cargo refuses to build when the toolchain is older than rust-version; clippy's
# incompatible_msrv lint (in the clippy runs below) refuses std APIs newer than it. Here: no
# dependency may need a newer Rust than the crate declares.
cargo metadata --locked --format-version 1 >target/metadata.json
python3 - target/metadata.json <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
version = lambda v: tuple(int(part) for part in v.split("."))
ours = next(p for p in meta["packages"] if p["name"] == "irsa")["rust_version"]
newer = ["%s %s needs %s" % (p["name"], p["version"], p["rust_version"])
         for p in meta["packages"]
         if p.get("rust_version") and version(p["rust_version"]) > version(ours)]
if newer:
    sys.exit("rust-version %s is below what dependencies need: %s" % (ours, "; ".join(newer)))
print("rust-version %s: no dependency needs a newer Rust" % ours)
PY

step "clippy, all features"
cargo clippy --locked --all-targets --all-features -- -D warnings
step "clippy, no default features (the typed core alone)"
cargo clippy --locked --all-targets --no-default-features -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --all-features

step "Python peers: moto (the provider's integration tests), boto3 and the AWS CLI (the local STS's clients)"
# A virtualenv of the project's own, so a fresh machine needs only python3.
if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/aws ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5' 'awscli==1.46.3'
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

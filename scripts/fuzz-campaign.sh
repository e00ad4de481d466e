#!/usr/bin/env bash
# The fuzz campaign: each target run to RUNS executions (default 10 million) or MAX_TIME seconds
# (default one hour, for targets slower than about 3 000 executions a second), with its
# dictionary when fuzz/dicts has one, starting from the committed corpus; then the corpus is
# minimised (libFuzzer's merge, what `cargo fuzz cmin` runs) and written back. libFuzzer's final
# statistics and last coverage line go to fuzz/campaign/TARGET.log, a summary line per target to
# fuzz/campaign/summary.tsv (both ignored by git; docs/fuzzing.md keeps the table).
#
#   scripts/fuzz-campaign.sh                 # every target, one after the other, on one core
#   scripts/fuzz-campaign.sh trust_policy    # some targets
#   RUNS=100000 MAX_TIME=60 scripts/fuzz-campaign.sh policy_values
#
# A crash stops that target's run: its input is in fuzz/artifacts/TARGET/; keep it as a
# regression case by copying it into fuzz/corpus/TARGET/ once fixed.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-10000000}
max_time=${MAX_TIME:-3600}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p fuzz/campaign/bin
# Built once and copied, so edits to the crate during a long campaign neither rebuild nor swap
# the binaries under it.
cargo +nightly fuzz build || exit 1
bin_dir=fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
for target in "${targets[@]}"; do
  cp "$bin_dir/$target" fuzz/campaign/bin/ || exit 1
done

for target in "${targets[@]}"; do
  log=fuzz/campaign/$target.log
  work=fuzz/campaign/corpus-$target
  rm -rf "$work" && mkdir -p "$work" "fuzz/corpus/$target"
  dict=()
  [ -f "fuzz/dicts/$target.dict" ] && dict=("-dict=fuzz/dicts/$target.dict")
  echo "== $target: up to $runs runs or ${max_time}s ${dict[*]}"
  start=$(date +%s)
  mkdir -p "fuzz/artifacts/$target"
  "fuzz/campaign/bin/$target" "$work" "fuzz/corpus/$target" \
    -artifact_prefix="fuzz/artifacts/$target/" -runs="$runs" -max_total_time="$max_time" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
  status=$?
  seconds=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  crash=$([ $status -eq 0 ] && echo no || echo "yes (exit $status)")
  # Minimise: the committed corpus and what the run found, merged into the smallest set that
  # keeps every feature.
  min=fuzz/campaign/min-$target
  rm -rf "$min" && mkdir -p "$min"
  # Inputs named by hand (seeds, `regression-…` cases) are kept whatever the merge says.
  "fuzz/campaign/bin/$target" "$min" "fuzz/corpus/$target" "$work" -merge=1 \
    -artifact_prefix="fuzz/artifacts/$target/" >>"$log" 2>&1 &&
    find "fuzz/corpus/$target" -type f -regextype posix-extended ! -regex '.*/[0-9a-f]{40}' \
      -exec cp {} "$min/" \; &&
    rm -rf "fuzz/corpus/$target" && mv "$min" "fuzz/corpus/$target"
  inputs=$(find "fuzz/corpus/$target" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$seconds" "$crash" "$inputs" | tee -a fuzz/campaign/summary.tsv
  rm -rf "$work"
done

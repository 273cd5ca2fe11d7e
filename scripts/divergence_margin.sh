#!/bin/bash
# How far real data at default settings stay from the divergence rule of `train`
# (docs/cli.md, "Divergence"): trains every tabular dataset of ../shared/data with only
# --target (and the MANIFEST's --drop of identifiers), then prints per dataset the epochs
# run, the largest epoch training loss (the rule fires above 10 times a starting level of
# at least 1) and the longest run of rising epoch losses (the rule fires at 5 in a row
# ending above the first epoch's). Usage: scripts/divergence_margin.sh [csvnn binary]
set -u
bin=${1:-target/release/csvnn}
data=${DATA:-../shared/data}
out=$(mktemp -d)
run() {
    name=$1 target=$2
    shift 2
    "$bin" --quiet train --data "$data/$name".train.csv* --target "$target" "$@" \
        -o "$out/$name.json" --log "$out/$name.log" 2>/dev/null
    echo "$name exit=$? $(python3 - "$out/$name.log" <<'PY'
import csv, sys
loss = [float(r["train_loss"]) for r in csv.DictReader(open(sys.argv[1]))]
longest = run = 0
for before, after in zip(loss, loss[1:]):
    run = run + 1 if after > before else 0
    longest = max(longest, run)
print(f"epochs={len(loss)} largest_train_loss={max(loss):.4g} longest_rise={longest}")
PY
)"
}
run default default
run chile_vote vote
run auto_mpg mpg --drop name
run satellite classes
run ames Sale_Price
run nass_cds dead --drop caseid
run loans interest_rate --drop emp_title
run flights arr_delay --drop flight,tailnum
rm -r "$out"

#!/bin/sh
# Side-by-side bench: csvnn vs PyTorch (CPU, 2 threads) vs scikit-learn MLP.
# Needs python3 with numpy, pandas, scikit-learn and torch (pip install torch scikit-learn
# pandas) and /usr/bin/time (apt-get install -y time). Not part of CI.
# Usage: scripts/bench.sh [DATA_DIR] [run.py options, e.g. --rounds 5]
#   DATA_DIR (default target/bench-data) receives the synthetic W1 files (generated once,
#   seed 7) and the 1,000,000-row W3 file; ../shared/data provides flights and satellite.
set -e
cd "$(dirname "$0")/.."
DATA_DIR=${1:-target/bench-data}
[ $# -gt 0 ] && shift
cargo build --release --quiet
if [ ! -f "$DATA_DIR/w1.train.csv" ]; then
    python3 scripts/bench/gen_w1.py "$DATA_DIR"
fi
exec python3 scripts/bench/run.py --data-dir "$DATA_DIR" "$@"

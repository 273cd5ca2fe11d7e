#!/bin/sh
# Build csvnn in release mode and compare its test scores with scikit-learn's MLP on every
# dataset of ../shared/data (or DATA_DIR). See scripts/accuracy.py for the recipe.
set -e
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 scripts/accuracy.py "$@"

#!/usr/bin/env python3
"""Convert a stratified subsample of Fashion-MNIST to csvnn train/test CSV files.

Source: Debian's `dataset-fashion-mnist` package (Zalando Research's Fashion-MNIST,
https://github.com/zalandoresearch/fashion-mnist, MIT licence), which ships the original
IDX files under /usr/share/datasets/fashion-mnist/:

    apt-get install -y dataset-fashion-mnist
    dpkg -L dataset-fashion-mnist | grep idx

The output rows are one image each: the pixel columns p0..p783 (0..255, row-major 28x28x1,
as `Network::cnn` and `--image-shape 28x28x1` expect) and `label` (the class name).
`--train-per-class` images of each class are drawn (seeded) from the 60,000 training
images, `--test-per-class` from the 10,000 test images. The output directory also gets
SOURCE.txt recording the package version, the SHA-256 of each IDX file and the settings.
The CSV files are large: the default output directory, data/large/, is ignored by git.

Usage: scripts/fashion_mnist.py [--train-per-class 1000] [--test-per-class 200]
                                [--seed 42] [--out data/large/fashion_mnist]
"""

import argparse
import gzip
import hashlib
import os
import random
import struct
import subprocess
import sys

SOURCE_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


def read_idx(path):
    """The array of an IDX file as (dims, bytes)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"fashion_mnist.py: {path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def stratified(labels, per_class, rng):
    """Indices of `per_class` rows of each class, drawn without replacement, shuffled."""
    by_class = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    chosen = []
    for label in sorted(by_class):
        rows = by_class[label]
        if per_class > len(rows):
            sys.exit(f"fashion_mnist.py: class {label} has only {len(rows)} images")
        chosen.extend(rng.sample(rows, per_class))
    rng.shuffle(chosen)
    return chosen


def write_split(prefix, out_path, per_class, rng):
    dims, images = read_idx(f"{SOURCE_DIR}/{prefix}-images-idx3-ubyte.gz")
    (n_labels,), labels = read_idx(f"{SOURCE_DIR}/{prefix}-labels-idx1-ubyte.gz")
    n, h, w = dims
    assert n == n_labels and (h, w) == (28, 28)
    pixels = h * w
    rows = stratified(labels, per_class, rng)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(",".join(f"p{i}" for i in range(pixels)) + ",label\n")
        for i in rows:
            image = images[i * pixels:(i + 1) * pixels]
            f.write(",".join(map(str, image)) + "," + CLASSES[labels[i]] + "\n")
    os.replace(tmp, out_path)
    return len(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="data/large/fashion_mnist")
    args = parser.parse_args()
    if not os.path.isdir(SOURCE_DIR):
        sys.exit("fashion_mnist.py: install the data first: apt-get install -y dataset-fashion-mnist")
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    n_train = write_split("train", f"{args.out}/train.csv", args.train_per_class, rng)
    n_test = write_split("t10k", f"{args.out}/test.csv", args.test_per_class, rng)
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "dataset-fashion-mnist"],
        capture_output=True, text=True,
    ).stdout or "unknown"
    with open(f"{args.out}/SOURCE.txt", "w") as f:
        f.write(f"Fashion-MNIST (Zalando Research, MIT licence) from the Debian package "
                f"dataset-fashion-mnist {version}\n")
        for name in sorted(os.listdir(SOURCE_DIR)):
            f.write(f"{SOURCE_DIR}/{name} sha256 {sha256(f'{SOURCE_DIR}/{name}')}\n")
        f.write(f"stratified subsample, seed {args.seed}: train.csv {n_train} rows "
                f"({args.train_per_class} per class, from the 60,000 training images), "
                f"test.csv {n_test} rows ({args.test_per_class} per class, from the "
                f"10,000 test images)\n")
        f.write("columns: p0..p783 = pixels 0..255, row-major 28x28x1; label = class name\n")
    print(f"wrote {args.out}/train.csv ({n_train} rows), {args.out}/test.csv ({n_test} rows)")


if __name__ == "__main__":
    main()

"""Write the synthetic W1 data: 784 integer pixels (0-255) and a 10-class label.

The label comes from a fixed random linear teacher on the standardised pixels plus a
little noise, so the classes are learnable and accuracy means something.
Usage: gen_w1.py OUT_DIR [--rows 60000] [--test-rows 10000] [--seed 7]
Writes OUT_DIR/w1.train.csv and OUT_DIR/w1.test.csv.
"""

import argparse
import os

import numpy as np


def write_csv(path, x, y):
    lut = np.array([str(i) for i in range(256)], dtype=object)
    header = ",".join(f"p{i}" for i in range(x.shape[1])) + ",label\n"
    with open(path, "w") as f:
        f.write(header)
        for start in range(0, len(x), 2000):
            block = x[start : start + 2000]
            lines = [
                ",".join(lut[row]) + "," + str(label)
                for row, label in zip(block, y[start : start + 2000])
            ]
            f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--test-rows", type=int, default=10000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.rows + args.test_rows
    # Pixels: a smooth per-row "brightness" plus per-pixel noise, clipped to 0-255.
    base = rng.integers(40, 200, size=(n, 1))
    x = np.clip(base + rng.normal(0, 60, size=(n, args.features)), 0, 255).astype(np.int64)
    teacher = rng.normal(0, 1, size=(args.features, args.classes))
    z = (x - x.mean(0)) / x.std(0)
    logits = z @ teacher / np.sqrt(args.features) * 4.0
    logits += rng.gumbel(0, 1, size=logits.shape) * 0.5
    y = logits.argmax(1)
    os.makedirs(args.out_dir, exist_ok=True)
    write_csv(os.path.join(args.out_dir, "w1.train.csv"), x[: args.rows], y[: args.rows])
    write_csv(os.path.join(args.out_dir, "w1.test.csv"), x[args.rows :], y[args.rows :])


if __name__ == "__main__":
    main()

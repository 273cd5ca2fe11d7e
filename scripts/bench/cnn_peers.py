#!/usr/bin/env python3
"""PyTorch's side of the CNN bench (scripts/bench/cnn_pair.sh): the network of
`csvnn train --image-shape 28x28x1 --conv 32:3 --hidden 64` on a Fashion-MNIST CSV
(scripts/fashion_mnist.py), timed per epoch. Prints one JSON object: threads, batch size,
epochs, seconds per epoch (median over the epochs after a warm-up epoch), the last
epoch's training loss.

Network: Conv2d(1, 32, 3, padding 1) -> ReLU -> MaxPool2d(2) -> flatten -> Linear(6272, 64)
-> ReLU -> Linear(64, 10). Pixels standardised with one mean and std (as csvnn's
--image-shape does); Adam 1e-3, batches reshuffled every epoch, softmax cross-entropy; the
data held as tensors, no DataLoader.

  cnn_peers.py --data train.csv [--threads 2] [--batch-size 32] [--epochs 3]
"""

import argparse
import json
import statistics
import time

import numpy as np
import pandas as pd
import torch
from torch import nn


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    df = pd.read_csv(args.data)
    labels = sorted(df["label"].astype(str).unique())
    index = {l: i for i, l in enumerate(labels)}
    x = df.drop(columns=["label"]).to_numpy(np.float32)
    x = (x - x.mean()) / x.std()
    x = torch.from_numpy(x.reshape(-1, 1, 28, 28).copy())
    y = torch.tensor([index[str(v)] for v in df["label"]])

    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 14 * 14, 64), nn.ReLU(), nn.Linear(64, len(labels)),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    times, last_loss = [], None
    for epoch in range(args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for i in range(0, n, args.batch_size):
            idx = order[i:i + args.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch > 0:
            times.append(time.perf_counter() - start)
        last_loss = total / n
    print(json.dumps({
        "threads": args.threads, "batch_size": args.batch_size, "epochs": args.epochs,
        "seconds_per_epoch": statistics.median(times), "train_loss": last_loss,
    }))


if __name__ == "__main__":
    main()

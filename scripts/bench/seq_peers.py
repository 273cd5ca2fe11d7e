"""PyTorch's side of the sequence and text bench: the recipe of ../shared/data/README.md
("Sequence and text datasets") for one dataset and model, timed per epoch. Prints one JSON
object: dataset, model, threads, seed, epochs, seconds per epoch (median over the epochs),
test accuracy.

  seq_peers.py --dataset japanesevowels --model gru|transformer --threads 1 [--epochs N]
  seq_peers.py --dataset tweets --model bag|token_gru --threads 1 [--epochs N]

Series: one mean and std over every training value; GRU(C, 64), last state -> Linear;
transformer: Linear(C, 32) + learned positions N(0, 0.02^2) -> TransformerEncoderLayer(32,
4, 64, dropout 0, post-norm) -> mean over time -> Linear. Text: maximal runs of ASCII
letters and digits, lower-cased; vocabulary = tokens seen twice in training; bag =
EmbeddingBag(V, 64, mean) over known tokens; token GRU = Embedding over the first 200
tokens (unknown -> one shared id) -> GRU(64, 64), last state at each text's length.
Adam 1e-3, batch 32 reshuffled every epoch, softmax cross-entropy.
"""

import argparse
import json
import re
import statistics
import time
from collections import Counter

import numpy as np
import pandas as pd
import torch
from torch import nn

DATA = "../shared/data"
SHAPES = {"arrowhead": (251, 1), "basicmotions": (100, 6), "japanesevowels": (25, 12)}


def series(name):
    train = pd.read_csv(f"{DATA}/{name}.train.csv")
    test = pd.read_csv(f"{DATA}/{name}.test.csv")
    steps, channels = SHAPES[name]
    labels = sorted(train["label"].astype(str).unique())
    index = {l: i for i, l in enumerate(labels)}

    def xy(df):
        x = df.drop(columns=["label"]).to_numpy(np.float32).reshape(-1, steps, channels)
        y = np.array([index[str(v)] for v in df["label"]])
        return x, y

    xtr, ytr = xy(train)
    xte, yte = xy(test)
    mean, std = xtr.mean(), xtr.std()
    return (xtr - mean) / std, ytr, (xte - mean) / std, yte, len(labels)


def tokens(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def text_set():
    train = pd.read_csv(f"{DATA}/tweets.train.csv")
    test = pd.read_csv(f"{DATA}/tweets.test.csv")
    labels = sorted(train["source"].unique())
    counts = Counter(t for s in train["text"] for t in tokens(s))
    vocab = {t: i + 1 for i, t in enumerate(sorted(t for t, c in counts.items() if c >= 2))}
    y = lambda df: np.array([labels.index(v) for v in df["source"]])
    return train["text"].tolist(), y(train), test["text"].tolist(), y(test), vocab


class Gru(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.gru = nn.GRU(channels, 64, batch_first=True)
        self.out = nn.Linear(64, classes)

    def forward(self, x):
        return self.out(self.gru(x)[1][0])


class Transformer(nn.Module):
    def __init__(self, steps, channels, classes):
        super().__init__()
        self.proj = nn.Linear(channels, 32)
        self.pos = nn.Parameter(torch.randn(steps, 32) * 0.02)
        self.block = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.out = nn.Linear(32, classes)

    def forward(self, x):
        return self.out(self.block(self.proj(x) + self.pos).mean(dim=1))


class Bag(nn.Module):
    def __init__(self, vocab, classes):
        super().__init__()
        self.bag = nn.EmbeddingBag(vocab + 1, 64, mode="mean")
        self.out = nn.Linear(64, classes)

    def forward(self, batch):
        ids, offsets = batch
        return self.out(self.bag(ids, offsets))


class TokenGru(nn.Module):
    def __init__(self, vocab, classes):
        super().__init__()
        self.embed = nn.Embedding(vocab + 2, 64)
        self.gru = nn.GRU(64, 64, batch_first=True)
        self.out = nn.Linear(64, classes)

    def forward(self, batch):
        ids, lengths = batch
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(ids), lengths, batch_first=True, enforce_sorted=False
        )
        return self.out(self.gru(packed)[1][0])


def text_batches(texts, vocab, model):
    """Each text as the inputs the model takes, built once."""
    unknown = len(vocab) + 1
    if model == "bag":
        rows = [[vocab[t] for t in tokens(s) if t in vocab] for s in texts]
    else:
        rows = [[vocab.get(t, unknown) for t in tokens(s)][:200] or [unknown] for s in texts]
    return rows


def collate(rows, model):
    if model == "bag":
        ids = torch.tensor([i for r in rows for i in r], dtype=torch.long)
        offsets = torch.tensor(np.cumsum([0] + [len(r) for r in rows[:-1]]), dtype=torch.long)
        return ids, offsets
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, lengths


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    if a.dataset == "tweets":
        xtr, ytr, xte, yte, vocab = text_set()
        xtr, xte = text_batches(xtr, vocab, a.model), text_batches(xte, vocab, a.model)
        net = Bag(len(vocab), 2) if a.model == "bag" else TokenGru(len(vocab), 2)
        take = lambda x, idx: collate([x[i] for i in idx], a.model)
        epochs = a.epochs or 10
    else:
        xtr, ytr, xte, yte, classes = series(a.dataset)
        steps, channels = SHAPES[a.dataset]
        net = Gru(channels, classes) if a.model == "gru" else Transformer(steps, channels, classes)
        take = lambda x, idx: torch.from_numpy(x[idx])
        epochs = a.epochs or 100
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    ytr_t = torch.from_numpy(ytr)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(ytr))
        net.train()
        for b in range(0, len(order), 32):
            idx = order[b : b + 32]
            opt.zero_grad()
            loss = loss_fn(net(take(xtr, idx)), ytr_t[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    net.eval()
    with torch.no_grad():
        pred = torch.cat(
            [net(take(xte, np.arange(b, min(b + 256, len(yte))))).argmax(1) for b in range(0, len(yte), 256)]
        )
    print(json.dumps({
        "dataset": a.dataset,
        "model": a.model,
        "threads": a.threads,
        "seed": a.seed,
        "epochs": epochs,
        "seconds_per_epoch": statistics.median(times),
        "accuracy": float((pred.numpy() == yte).mean()),
    }))


if __name__ == "__main__":
    main()

"""PyTorch's time for one transformer encoder block, forward + backward, at the shape of
benches/nn.rs `encoder/*` (batch 32, T=100, D=32, h=4, F=64, post-norm, ReLU, no dropout,
key padding mask), on 1 and 2 threads. Run: python3 scripts/bench/attention_torch.py
Compare with: cargo bench --bench nn -- encoder
"""

import time

import torch

B, T, D, H, F = 32, 100, 32, 4, 64


def lengths(mixed):
    if not mixed:
        return torch.full((B,), T)
    g = torch.Generator().manual_seed(3)
    return torch.randint(T // 2, T + 1, (B,), generator=g)


def time_block(threads, mixed, repeats=200):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    layer = torch.nn.TransformerEncoderLayer(
        D, H, F, dropout=0.0, activation="relu", batch_first=True, norm_first=False
    )
    layer.train()
    x = torch.randn(B, T, D, requires_grad=True)
    mask = torch.arange(T)[None, :] >= lengths(mixed)[:, None]
    probe = torch.randn(B, T, D)

    def step():
        layer.zero_grad(set_to_none=False)
        x.grad = None
        out = layer(x, src_key_padding_mask=mask)
        (out * probe).sum().backward()

    for _ in range(20):
        step()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats // 5):
            step()
        best = min(best, (time.perf_counter() - start) / (repeats // 5))
    return best


if __name__ == "__main__":
    print(f"torch {torch.__version__}: encoder block forward+backward, batch {B}, T={T}, D={D}, h={H}, F={F}")
    for mixed in (False, True):
        for threads in (1, 2):
            ms = time_block(threads, mixed) * 1e3
            kind = "lengths T/2..T" if mixed else "full length"
            print(f"threads {threads}, {kind}: {ms:.2f} ms per batch")

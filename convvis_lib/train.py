"""Seeded training of the embedded FashionNet: ``python -m convvis_lib.train``."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import SAMPLE_FILE, load_fashion_mnist, make_sample
from .errors import ConvVisError
from .fashionnet import FashionNet
from .models import FASHION_MEAN, FASHION_STD, fashionnet_weights_path


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) -> normalised float (N, 1, 28, 28)."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - FASHION_MEAN[0]) / FASHION_STD[0]


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Top-1 accuracy of ``model`` on (x, y)."""
    was_training = model.training
    model.eval()
    try:
        correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(y), batch))
    finally:
        model.train(was_training)
    return correct / len(y)


def subset_with_shuffled_labels(x: torch.Tensor, y: torch.Tensor, subset: int | None, shuffle_labels: bool,
                                seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``subset`` images of a seeded permutation; labels permuted among them if asked.

    Uses its own random generator, so the main training stream is unchanged.
    """
    rng = np.random.default_rng([seed, 1])
    if subset is not None:
        if not 1 <= subset <= len(y):
            raise ConvVisError(f"subset {subset} is not allowed; allowed: 1..{len(y)} training images")
        keep = torch.from_numpy(np.sort(rng.permutation(len(y))[:subset]))
        x, y = x[keep], y[keep]
    if shuffle_labels:
        y = y[torch.from_numpy(rng.permutation(len(y)))]
    return x, y


def train(epochs: int = 8, batch: int = 128, lr: float = 2e-3, seed: int = 0,
          subset: int | None = None, shuffle_labels: bool = False) -> tuple[FashionNet, float, float]:
    """Train FashionNet; return (model, test accuracy, seconds).

    By default: the full training set with flips, dropout, label smoothing and
    weight decay. With ``shuffle_labels`` the labels of the (``subset`` of the)
    training set are randomly permuted and the net is trained to memorise them
    (Zhang et al. 2017; the data randomisation test of Adebayo et al. 2018):
    no augmentation, dropout, label smoothing nor weight decay; every tenth of
    the epochs it prints the accuracy on the shuffled training labels (the test
    accuracy, returned at the end, stays at chance).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_set, test_set = load_fashion_mnist("train"), load_fashion_mnist("test")
    x, y = to_tensor(train_set.images), torch.from_numpy(train_set.labels)
    xt, yt = to_tensor(test_set.images), torch.from_numpy(test_set.labels)
    memorise = shuffle_labels
    if subset is not None or shuffle_labels:
        x, y = subset_with_shuffled_labels(x, y, subset, shuffle_labels, seed)
    model = FashionNet(dropout=0.0) if memorise else FashionNet()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0 if memorise else 5e-4)
    steps = epochs * (len(y) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.0 if memorise else 0.05)
    report_every = max(1, epochs // 10) if memorise else 1
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(y)))
        for i in range(len(y) // batch):
            idx = order[i * batch:(i + 1) * batch]
            xb = x[idx]
            if not memorise:
                flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad()
            loss_fn(model(xb), y[idx]).backward()
            opt.step()
            sched.step()
        if memorise and ((epoch + 1) % report_every == 0 or epoch + 1 == epochs):
            print(f"epoch {epoch + 1}/{epochs}: accuracy on the {len(y)} training images with shuffled labels "
                  f"{evaluate(model, x, y):.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
        elif not memorise:
            print(f"epoch {epoch + 1}/{epochs}: test accuracy {evaluate(model, xt, yt):.4f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    return model.eval(), evaluate(model, xt, yt), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=fashionnet_weights_path())
    parser.add_argument("--write-sample", action="store_true", help="also write the shipped test-set sample")
    parser.add_argument("--subset", type=int, default=None, metavar="N",
                        help="train on N randomly chosen training images only")
    parser.add_argument("--shuffle-labels", action="store_true",
                        help="permute the training labels and memorise them (for sanity checks)")
    parser.add_argument("--lr", type=float, default=2e-3)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model, acc, seconds = train(epochs=args.epochs, lr=args.lr, seed=args.seed, subset=args.subset,
                                shuffle_labels=args.shuffle_labels)
    from safetensors.torch import save_file
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out))
    print(f"test accuracy: {acc:.4f} on 10000 images; training time: {seconds:.0f} s; "
          f"weights: {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    if args.write_sample:
        test = load_fashion_mnist("test")
        images, labels = make_sample(test.images, test.labels)
        path = args.out.parent / SAMPLE_FILE
        np.savez_compressed(path, images=images, labels=labels)
        print(f"sample: {len(labels)} images -> {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

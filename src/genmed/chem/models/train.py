"""Training loop for the SMILES prior: bucketed batches, bf16 autocast, warm-up + cosine decay to the end of
the budget, periodic validation, atomic resumable checkpoints.

Runs without the rest of genmed (torch + numpy only), so a GPU machine can run it directly::

    python -m genmed.chem.models.train --data train.csv.gz --out runs/prior --device cuda
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genmed.chem.models.prior import (
    Prior,
    PriorConfig,
    autocast_context,
    build_prior,
    pad_batch,
    sample_tokens,
    sequence_nll,
)
from genmed.chem.models.tokenizer import TokenizationError, Vocabulary, tokenize


@dataclass
class TrainConfig:
    """Optimisation settings. The schedule decays to the end of the budget, so set the budget you can afford."""

    epochs: float = 1.0
    batch_size: int = 256
    lr: float = 2e-3
    min_lr_ratio: float = 0.02
    warmup_steps: int = 500
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    precision: str = "bf16"  # "bf16" (autocast) or "fp32"
    device: str = "auto"
    threads: int = 0  # torch CPU threads; 0 = torch default
    val_size: int = 5000
    val_every: int = 1000
    checkpoint_every: int = 1000
    seed: int = 42
    max_minutes: float = 0.0  # wall-clock budget (0 = none); the LR schedule decays to whichever ends first
    prior: PriorConfig = field(default_factory=PriorConfig)


def read_smiles_file(path: str | Path, column: str = "SMILES") -> list[str]:
    """SMILES from a ``.smi``/``.txt`` (first field per line) or a CSV (``column``), optionally gzipped."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        text = fh.read()
    stem = path.name.removesuffix(".gz")
    if stem.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise ValueError(f"{path}: no {column!r} column (columns: {reader.fieldnames})")
        rows = list(reader)
        if "SPLIT" in (reader.fieldnames or []):
            rows = [r for r in rows if r["SPLIT"] in ("train", "")]
        return [r[column] for r in rows if r[column]]
    return [line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]


class EncodedCorpus:
    """All training sequences in one flat int array (memory: ~1 byte/token for 1.6M molecules)."""

    def __init__(self, smiles: Sequence[str], vocab: Vocabulary, max_length: int):
        seqs, skipped = [], 0
        for s in smiles:
            try:
                ids = vocab.encode(s)
            except TokenizationError:
                skipped += 1
                continue
            if len(ids) > max_length:
                skipped += 1
                continue
            seqs.append(ids)
        self.lengths = np.fromiter((len(s) for s in seqs), dtype=np.int32, count=len(seqs))
        self.offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.offsets[1:])
        self.flat = np.fromiter((t for s in seqs for t in s), dtype=np.int16, count=int(self.offsets[-1]))
        self.skipped = skipped

    def __len__(self) -> int:
        return len(self.lengths)

    def get(self, i: int) -> list[int]:
        return self.flat[self.offsets[i] : self.offsets[i + 1]].tolist()

    def batches(self, batch_size: int, rng: random.Random) -> list[list[int]]:
        """Shuffled batches of similar-length sequences (less padding, same sampling distribution per epoch)."""
        order = list(range(len(self)))
        rng.shuffle(order)
        chunk = batch_size * 64
        batches = []
        for c in range(0, len(order), chunk):
            part = sorted(order[c : c + chunk], key=lambda i: self.lengths[i])
            batches.extend(part[b : b + batch_size] for b in range(0, len(part), batch_size))
        rng.shuffle(batches)
        return batches


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def lr_at(step: int, total: int, cfg: TrainConfig, time_fraction: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio * lr`` at the end of the budget.

    The budget ends at ``total`` steps or, with ``max_minutes`` set, at the wall-clock cap, whichever comes
    first: decaying to the real end of training mattered more than anything else we measured (FCD 0.52 -> 0.23).
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, max((step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps), time_fraction))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def validation_nll(prior: Prior, corpus: EncodedCorpus, precision: str, batch_size: int = 512) -> float:
    prior.model.eval()
    total, n = 0.0, 0
    for start in range(0, len(corpus), batch_size):
        seqs = [corpus.get(i) for i in range(start, min(len(corpus), start + batch_size))]
        nll = sequence_nll(prior.model, pad_batch(seqs).to(prior.device), prior.vocab.pad_id, precision)
        total += float(nll.sum())
        n += len(seqs)
    prior.model.train()
    return total / max(n, 1)


def sample_validity(prior: Prior, n: int = 1000) -> float | None:
    """Fraction of ``n`` samples RDKit parses; ``None`` where RDKit is not installed (e.g. a bare GPU box)."""
    try:
        from rdkit import Chem, RDLogger
    except ImportError:
        return None
    RDLogger.DisableLog("rdApp.*")
    seqs, _ = sample_tokens(prior, n)
    smiles = [prior.vocab.decode(s) for s in seqs]
    prior.model.train()
    return sum(1 for s in smiles if s and Chem.MolFromSmiles(s) is not None) / n


ProgressFn = Callable[[int, int, dict[str, Any]], None]


def train_prior(
    train_smiles: Sequence[str],
    out_dir: str | Path,
    cfg: TrainConfig,
    *,
    valid_smiles: Sequence[str] | None = None,
    vocab: Vocabulary | None = None,
    init: Prior | None = None,
    progress: ProgressFn | None = None,
    log: Callable[[str], None] = print,
) -> Prior:
    """Train (or resume) a prior in ``out_dir``; returns the final model, also saved as ``prior.pt``.

    Resumes automatically from ``out_dir/checkpoint.pt`` if present and its config matches.
    ``init`` starts from an existing prior (transfer learning) instead of random weights.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)

    train_smiles = list(train_smiles)
    if valid_smiles is None:
        rng.shuffle(train_smiles)
        n_val = min(cfg.val_size, max(1, len(train_smiles) // 10))
        valid_smiles, train_smiles = train_smiles[:n_val], train_smiles[n_val:]
    if init is not None:
        vocab = init.vocab
    vocab = vocab or Vocabulary.build(train_smiles)
    t0 = time.time()
    corpus = EncodedCorpus(train_smiles, vocab, cfg.prior.max_length)
    val_corpus = EncodedCorpus(list(valid_smiles)[: cfg.val_size], vocab, cfg.prior.max_length)
    if len(corpus) == 0:
        raise ValueError("no trainable SMILES (all failed to tokenize or were too long)")
    log(f"encoded {len(corpus):,} training / {len(val_corpus):,} validation SMILES "
        f"({corpus.skipped} skipped) in {time.time() - t0:.1f}s; vocabulary {len(vocab)} tokens")

    if init is not None:
        prior = init
        prior.model.to(device)
    else:
        prior = build_prior(vocab, cfg.prior)
        prior.model.to(device)
    model = prior.model
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(corpus) / cfg.batch_size)
    total_steps = max(1, int(round(cfg.epochs * steps_per_epoch)))

    step, epoch, history = 0, 0, []
    ckpt_path = out / "checkpoint.pt"
    config_blob = json.loads(json.dumps(asdict(cfg)))
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if ck["config"] != config_blob or ck["vocab"] != vocab.tokens:
            raise ValueError(f"{ckpt_path} was written with a different config; use a new --out directory")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, epoch, history = ck["step"], ck["epoch"], ck["history"]
        rng.setstate(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        log(f"resumed from {ckpt_path} at step {step:,}/{total_steps:,}")

    def save_checkpoint() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "config": config_blob, "vocab": vocab.tokens, "model": model.state_dict(),
                "optimizer": opt.state_dict(), "step": step, "epoch": epoch, "history": history,
                "rng": rng.getstate(), "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    start_time = time.time()
    prior_minutes = history[-1]["minutes"] if history else 0.0

    def elapsed_fraction() -> float:
        if not cfg.max_minutes:
            return 0.0
        return (prior_minutes + (time.time() - start_time) / 60) / cfg.max_minutes

    tokens_seen, tok_t0 = 0, time.time()
    stop = False
    while step < total_steps and not stop:
        batches = corpus.batches(cfg.batch_size, random.Random(cfg.seed * 1000 + epoch))
        skip = step - epoch * steps_per_epoch  # resume mid-epoch
        for b_idx, idx in enumerate(batches):
            if b_idx < skip:
                continue
            if step >= total_steps:
                break
            batch = pad_batch([corpus.get(i) for i in idx], vocab.pad_id).to(device, non_blocking=True)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total_steps, cfg, time_fraction=elapsed_fraction())
            with autocast_context(device, cfg.precision):
                logits, _ = model(batch[:, :-1])
            loss = torch.nn.functional.cross_entropy(
                logits.float().reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), ignore_index=vocab.pad_id
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            tokens_seen += int((batch[:, 1:] != vocab.pad_id).sum())
            last_val = step % cfg.val_every == 0 or step == total_steps
            info: dict[str, Any] = {"loss": float(loss.detach()), "lr": opt.param_groups[0]["lr"], "epoch": epoch}
            if last_val:
                elapsed = time.time() - tok_t0
                rec = {
                    "step": step, "epoch": round(step / steps_per_epoch, 3), "train_loss": float(loss.detach()),
                    "val_nll": validation_nll(prior, val_corpus, cfg.precision),
                    "lr": opt.param_groups[0]["lr"], "tokens_per_s": tokens_seen / max(elapsed, 1e-9),
                    "minutes": prior_minutes + (time.time() - start_time) / 60,
                }
                history.append(rec)
                with open(out / "train_log.jsonl", "a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                info.update(rec)
                log(json.dumps(rec))
                tokens_seen, tok_t0 = 0, time.time()
            if step % cfg.checkpoint_every == 0:
                save_checkpoint()
            if progress:
                progress(step, total_steps, info)
            if cfg.max_minutes and elapsed_fraction() >= 1.0:
                log(f"wall-clock cap of {cfg.max_minutes} min reached at step {step:,}/{total_steps:,}")
                stop = True
                break
        else:
            epoch += 1
    save_checkpoint()

    prior.metadata = {
        "trained_on": {"n_train": len(corpus), "n_valid": len(val_corpus)},
        "train_config": config_blob,
        "steps": step,
        "total_steps": total_steps,
        "molecules_seen": step * cfg.batch_size,
        "final_val_nll": history[-1]["val_nll"] if history else None,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": str(torch.__version__),
        "wall_minutes": (time.time() - start_time) / 60,
        "completed": step >= total_steps,
        "validity_1k": sample_validity(prior, 1000),
    }
    prior.model.eval()
    prior.save(out / "prior.pt")
    (out / "prior.json").write_text(
        json.dumps({"config": asdict(prior.config), "metadata": prior.metadata}, indent=2)
    )
    return prior


def _main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Train a genmed SMILES prior (standalone entry point).")
    p.add_argument("--data", required=True, help="SMILES file (.smi or .csv[.gz] with a SMILES column)")
    p.add_argument("--valid", help="validation SMILES file (default: hold out part of --data)")
    p.add_argument("--out", required=True)
    for name, default in asdict(TrainConfig()).items():
        if name != "prior":
            p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    for name, default in asdict(PriorConfig()).items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    a = vars(p.parse_args(argv))
    prior_cfg = PriorConfig(**{k: a.pop(k) for k in asdict(PriorConfig())})
    data, valid, out = a.pop("data"), a.pop("valid"), a.pop("out")
    cfg = TrainConfig(**a, prior=prior_cfg)
    train_prior(read_smiles_file(data), out, cfg, valid_smiles=read_smiles_file(valid) if valid else None)


if __name__ == "__main__":
    _main()

__all__ = ["TrainConfig", "train_prior", "read_smiles_file", "tokenize"]

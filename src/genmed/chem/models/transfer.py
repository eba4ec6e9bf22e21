"""Transfer learning (REINVENT's "TL"): fine-tune a prior on a user's actives with early stopping.

The actives are split into train / held-out parts; each epoch is scored by the held-out mean NLL and the best
epoch's weights are kept. Training stops after ``patience`` epochs without improvement.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from genmed.chem.models.prior import Prior, pad_batch, sequence_nll
from genmed.chem.models.train import EncodedCorpus, validation_nll


@dataclass
class TransferConfig:
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-4
    holdout_fraction: float = 0.2
    patience: int = 5
    seed: int = 42
    precision: str = "bf16"
    augment: int = 0  # randomized SMILES per molecule and epoch (0 = canonical only)


@dataclass
class TransferResult:
    prior: Prior
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    n_train: int = 0
    n_holdout: int = 0


def _randomized(smiles: str, rng: random.Random) -> str:
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return smiles
    return Chem.MolToSmiles(mol, doRandom=True, canonical=False) if rng.random() < 0.999 else smiles


def transfer_learn(
    prior: Prior,
    smiles: Sequence[str],
    cfg: TransferConfig | None = None,
    *,
    log: Callable[[dict], None] | None = None,
) -> TransferResult:
    """Fine-tune a copy of ``prior`` on ``smiles`` (canonical, in the prior's vocabulary)."""
    cfg = cfg or TransferConfig()
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    usable = [s for s in dict.fromkeys(smiles) if not prior.vocab.has_unknown(s)]
    if len(usable) < 5:
        raise ValueError(f"need at least 5 usable molecules for transfer learning, got {len(usable)}")
    rng.shuffle(usable)
    n_hold = max(1, int(round(len(usable) * cfg.holdout_fraction)))
    hold, train = usable[:n_hold], usable[n_hold:]
    agent = Prior(copy.deepcopy(prior.model), prior.vocab, prior.config, dict(prior.metadata))
    agent.model.train()
    opt = torch.optim.Adam(agent.model.parameters(), lr=cfg.lr)
    hold_corpus = EncodedCorpus(hold, prior.vocab, prior.config.max_length)
    best = (validation_nll(agent, hold_corpus, cfg.precision), 0, copy.deepcopy(agent.model.state_dict()))
    history = [{"epoch": 0, "holdout_nll": best[0]}]
    bad = 0
    for epoch in range(1, cfg.epochs + 1):
        epoch_smiles = list(train)
        for _ in range(cfg.augment):
            epoch_smiles += [_randomized(s, rng) for s in train]
        epoch_smiles = [s for s in epoch_smiles if not prior.vocab.has_unknown(s)]
        rng.shuffle(epoch_smiles)
        agent.model.train()
        losses = []
        for i in range(0, len(epoch_smiles), cfg.batch_size):
            batch = pad_batch([prior.vocab.encode(s) for s in epoch_smiles[i : i + cfg.batch_size]])
            loss = sequence_nll(agent.model, batch.to(agent.device), prior.vocab.pad_id, cfg.precision).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(agent.model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
        val = validation_nll(agent, hold_corpus, cfg.precision)
        rec = {"epoch": epoch, "train_nll": sum(losses) / len(losses), "holdout_nll": val}
        history.append(rec)
        if log:
            log(rec)
        if val < best[0] - 1e-4:
            best, bad = (val, epoch, copy.deepcopy(agent.model.state_dict())), 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    agent.model.load_state_dict(best[2])
    agent.model.eval()
    agent.metadata = {
        **prior.metadata, "transfer": {"n_train": len(train), "n_holdout": len(hold), "best_epoch": best[1],
                                       "best_holdout_nll": best[0], "config": cfg.__dict__},
    }
    return TransferResult(agent, best[1], history, len(train), len(hold))

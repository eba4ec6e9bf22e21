"""The SMILES prior: an autoregressive LSTM language model over SMILES tokens.

Same family as the MOSES CharRNN and REINVENT priors (embedding -> stacked LSTM -> token logits). The
checkpoint is one ``.pt`` file holding the configuration, the vocabulary, the weights (bf16 to halve the size)
and the training metrics, so a prior is self-describing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genmed.chem.models.tokenizer import Vocabulary

CHECKPOINT_FORMAT = "genmed-prior/1"


@dataclass
class PriorConfig:
    """Architecture of the prior."""

    embedding_dim: int = 256
    hidden_dim: int = 512
    num_layers: int = 3
    dropout: float = 0.0
    max_length: int = 128  # tokens, begin/end included; MOSES SMILES have at most ~60


class SmilesLSTM(nn.Module):
    """Embedding -> ``num_layers`` LSTM -> linear projection to the vocabulary."""

    def __init__(self, vocab_size: int, config: PriorConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(config.hidden_dim, vocab_size)

    def forward(
        self, tokens: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        out, state = self.lstm(self.embedding(tokens), state)
        return self.head(out), state


@dataclass
class Prior:
    """A trained prior: model + vocabulary + provenance."""

    model: SmilesLSTM
    vocab: Vocabulary
    config: PriorConfig
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def save(self, path: str | Path, *, bf16: bool = True) -> Path:
        """Write a self-contained checkpoint; bf16 weights halve its size at no measurable quality cost."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            k: (v.detach().to("cpu", torch.bfloat16) if bf16 and v.is_floating_point() else v.detach().cpu())
            for k, v in self.model.state_dict().items()
        }
        payload = {
            "format": CHECKPOINT_FORMAT,
            "config": asdict(self.config),
            "vocab": self.vocab.tokens,
            "state_dict": state,
            "metadata": self.metadata,
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(payload, tmp)
        tmp.replace(path)  # atomic: never leave a half-written checkpoint
        return path


def build_prior(vocab: Vocabulary, config: PriorConfig | None = None) -> Prior:
    config = config or PriorConfig()
    return Prior(SmilesLSTM(len(vocab), config), vocab, config)


def load_prior(path: str | Path, device: str | torch.device = "cpu") -> Prior:
    """Load a prior checkpoint written by :meth:`Prior.save` (weights restored to fp32)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prior checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file
        raise ValueError(f"{path} is not a readable genmed prior checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a genmed prior checkpoint (expected format {CHECKPOINT_FORMAT})")
    config = PriorConfig(**payload["config"])
    vocab = Vocabulary(list(payload["vocab"]))
    model = SmilesLSTM(len(vocab), config)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    model.to(device).eval()
    return Prior(model, vocab, config, payload.get("metadata", {}))


@functools.lru_cache(maxsize=4)
def bf16_supported(device_type: str) -> bool:
    """Can this machine run the LSTM under bf16 autocast? On CPUs without bf16 instructions (AVX2-only, e.g. some
    AMD EPYC hosts) oneDNN has no bf16 LSTM primitive and the forward pass raises, so probe a tiny LSTM once."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        with torch.no_grad(), torch.autocast(device_type, dtype=torch.bfloat16):
            torch.nn.LSTM(4, 4, batch_first=True).to(device_type)(torch.zeros(1, 2, 4, device=device_type))
        return True
    except RuntimeError:
        return False


def autocast_context(device: torch.device, precision: str):
    """bf16 autocast where the machine supports it (AMX/AVX-512-BF16 CPUs, GPUs); fp32 otherwise and for "fp32"
    (same model, same results up to rounding; only slower)."""
    if precision == "bf16" and bf16_supported(device.type):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return torch.autocast(device.type, enabled=False)


@torch.no_grad()
def sample_tokens(
    prior: Prior,
    n: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    precision: str = "bf16",
) -> tuple[list[list[int]], torch.Tensor]:
    """Sample ``n`` token sequences; return them and their log-likelihood under the (untempered) model."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    model, vocab, device = prior.model, prior.vocab, prior.device
    model.eval()
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    loglik = torch.zeros(n, dtype=torch.float32, device=device)
    seqs = torch.full((n, prior.config.max_length), vocab.pad_id, dtype=torch.long, device=device)
    # Only unfinished sequences are fed to the model: total work follows the sum of lengths, not n x the longest
    # (about 2x faster on CPU for drug-like SMILES).
    active = torch.arange(n, device=device)
    step_input = torch.full((n, 1), vocab.bos_id, dtype=torch.long, device=device)
    state = None
    # never emit framing/padding/unknown tokens mid-sequence: they have no SMILES text
    forbidden = torch.tensor([vocab.pad_id, vocab.bos_id, vocab.unk_id], device=device)
    with autocast_context(device, precision):
        for t in range(prior.config.max_length):
            logits, state = model(step_input, state)
            logits = logits[:, -1, :].float()
            logp = torch.log_softmax(logits, dim=-1)
            logits[:, forbidden] = -math.inf
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            loglik[active] += logp.gather(1, nxt.unsqueeze(1)).squeeze(1)
            seqs[active, t] = nxt
            done = nxt == vocab.eos_id
            finished[active[done]] = True
            if bool(done.all()):
                break
            if bool(done.any()):
                keep = ~done
                active, nxt = active[keep], nxt[keep]
                state = (state[0][:, keep], state[1][:, keep])
            step_input = nxt.unsqueeze(1)
    # sequences that never emitted an end token are truncated: their likelihood is not a full molecule's
    loglik = torch.where(finished, loglik, torch.full_like(loglik, -math.inf))
    return seqs.cpu().tolist(), loglik.cpu()


def sequence_nll(
    model: SmilesLSTM, batch: torch.Tensor, pad_id: int, precision: str = "bf16"
) -> torch.Tensor:
    """Negative log-likelihood of each padded ``^...$`` sequence in ``batch`` (shape [B, T]) -> [B]."""
    with autocast_context(batch.device, precision):
        logits, _ = model(batch[:, :-1])
    logp = torch.log_softmax(logits.float(), dim=-1)
    target = batch[:, 1:]
    token_lp = logp.gather(2, target.unsqueeze(2)).squeeze(2)
    mask = (target != pad_id).float()
    return -(token_lp * mask).sum(1)


def pad_batch(seqs: list[list[int]], pad_id: int = 0) -> torch.Tensor:
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out


@torch.no_grad()
def log_likelihood(prior: Prior, smiles: list[str], batch_size: int = 512) -> list[float]:
    """Log-likelihood of each SMILES under the prior (``-inf`` where it contains tokens the prior lacks)."""
    vocab = prior.vocab
    out: list[float] = []
    for i in range(0, len(smiles), batch_size):
        chunk = smiles[i : i + batch_size]
        ok = [not vocab.has_unknown(s) for s in chunk]
        enc = [vocab.encode(s) for s, good in zip(chunk, ok, strict=True) if good]
        vals = iter([])
        if enc:
            vals = iter((-sequence_nll(prior.model, pad_batch(enc).to(prior.device), vocab.pad_id)).tolist())
        out.extend(next(vals) if good else -math.inf for good in ok)
    return out


def default_prior_path() -> Path:
    """The prior shipped inside the package (trained with ``genmed chem train-prior``; see prior.json)."""
    return Path(__file__).parent / "weights" / "prior.pt"

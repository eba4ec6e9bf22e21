"""scvi-tools SCVI as a same-run comparator for the omics benchmarks (benchmark-only; never a core dependency).

Install with the ``bench-omics`` extra (``pip install -c constraints.txt -e .[bench-omics]``). Everything here
imports scvi-tools lazily; :func:`scvi_available` says whether it can be used.

What is compared, like for like with :class:`genmed.omics.model.LatentModel`:

- the same cells (training split), the same genes (our HVGs) and the same maximum epochs, batch size and
  early-stopping patience on a validation fraction of the training cells;
- held-out reconstruction NLL per cell, ``-log p(x | z = encoder mean, observed library)`` summed over genes - the
  quantity ``LatentModel.nll_per_cell`` reports (scvi-tools' own ``get_reconstruction_error`` samples z instead; it
  is reported beside it);
- posterior-predictive cells: a random training cell, ``z ~ q(z | x)``, its observed library, then the likelihood -
  what ``genmed.omics.simulate.simulate_cells`` does with a stored reference.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time

import numpy as np


@contextlib.contextmanager
def _hide_optax_without_flax():
    """scvi-tools 1.4.2 fails at import (``cannot import name 'JaxBaseModuleClass'``) when jax and optax are installed
    but flax is not - here they come with smartnoise-synth's ``mbi``. scvi-tools decides with an import attempt, so
    hiding optax for the duration of its import selects its PyTorch-only path; optax is visible again afterwards."""
    import importlib.util

    hide = importlib.util.find_spec("optax") is not None and importlib.util.find_spec("flax") is None \
        and "scvi" not in sys.modules
    saved = sys.modules.get("optax")
    if hide:
        sys.modules["optax"] = None  # type: ignore[assignment]  # import optax -> ImportError
    try:
        yield
    finally:
        if hide:
            if saved is None:
                sys.modules.pop("optax", None)
            else:
                sys.modules["optax"] = saved


def import_scvi():
    import logging
    import warnings

    with _hide_optax_without_flax(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import scvi

    for name in ("scvi", "lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return scvi


def scvi_available() -> tuple[bool, str]:
    """(usable, version or the reason it is not)."""
    try:
        scvi = import_scvi()
    except Exception as exc:  # ImportError, or a broken install
        return False, f"{type(exc).__name__}: {str(exc)[:160]}"
    return True, str(scvi.__version__)


def fit_scvi(train, genes: list[str], *, likelihood: str = "nb", max_epochs: int = 200, batch_size: int = 128,
             patience: int = 25, val_fraction: float = 0.1, seed: int = 0, threads: int = 1,
             kl_warmup_epochs: int | None = None, **model_kwargs):
    """SCVI (scvi-tools defaults: 1 x 128 hidden, 10 latent, dispersion per gene, observed library size, KL warm-up
    as scvi-tools sets it; the best validation state is kept) on ``train[:, genes]``; ``likelihood`` ``nb`` for counts or ``normal`` for log-normalised
    values. ``kl_warmup_epochs`` overrides scvi-tools' default warm-up (400 epochs, longer than a 200-epoch budget:
    its KL weight never reaches 1 and its ELBO-based early stopping then fires early). Returns (model, metrics)."""
    import torch

    scvi = import_scvi()
    from scvi.train._callbacks import SaveCheckpoint

    scvi.settings.seed = seed
    scvi.settings.num_threads = threads
    scvi.settings.dl_num_workers = 0
    scvi.settings.progress_bar_style = "tqdm"
    torch.set_num_threads(threads)
    a = train[:, genes].copy()
    a.X = np.asarray(a.X.toarray() if hasattr(a.X, "toarray") else a.X, dtype=np.float32)
    scvi.model.SCVI.setup_anndata(a)
    model = scvi.model.SCVI(a, gene_likelihood=likelihood, **model_kwargs)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as ckpt:
        # keep the best validation state, as our trainer does (scvi-tools' own early stopping keeps the last state)
        callbacks = [SaveCheckpoint(dirpath=ckpt, monitor="elbo_validation", load_best_on_end=True)] \
            if val_fraction > 0 else []
        model.train(max_epochs=max_epochs, accelerator="cpu", devices=1, batch_size=batch_size,
                    train_size=1 - val_fraction, validation_size=val_fraction, early_stopping=val_fraction > 0,
                    early_stopping_patience=patience, early_stopping_monitor="elbo_validation",
                    enable_progress_bar=False, enable_model_summary=False,
                    enable_checkpointing=bool(callbacks), callbacks=callbacks,
                    plan_kwargs=None if kl_warmup_epochs is None else {"n_epochs_kl_warmup": kl_warmup_epochs})
    secs = time.perf_counter() - t0
    hist = model.history.get("elbo_train")
    epochs = int(len(hist)) if hist is not None else max_epochs
    torch.set_num_threads(threads)  # lightning may have changed it
    return model, {"epochs_run": epochs, "seconds": round(secs, 2), "s_per_epoch": round(secs / max(epochs, 1), 3),
                   "version": str(scvi.__version__), "likelihood": likelihood, "batch_size": batch_size,
                   "n_latent": model.module.n_latent,
                   "kl_warmup_epochs": _kl_warmup(model) if kl_warmup_epochs is None else kl_warmup_epochs}


def _kl_warmup(model):
    """The KL warm-up (epochs) scvi-tools used: its training plan's default, as no plan_kwargs are passed."""
    import inspect

    p = inspect.signature(model._training_plan_cls.__init__).parameters.get("n_epochs_kl_warmup")
    return None if p is None else p.default


def _batches(model, adata, batch_size: int = 256):
    a = adata[:, model.adata.var_names].copy()
    a.X = np.asarray(a.X.toarray() if hasattr(a.X, "toarray") else a.X, dtype=np.float32)
    return model._make_data_loader(adata=model._validate_anndata(a), batch_size=batch_size, shuffle=False)


def scvi_nll_per_cell(model, adata) -> dict[str, float]:
    """Held-out RNA NLL per cell at the encoder mean (as ``LatentModel.nll_per_cell``), the KL, and scvi-tools' own
    reconstruction error (its loss's ``reconstruction_loss``, an NLL per cell with z sampled once)."""
    import torch
    from scvi import REGISTRY_KEYS

    mod = model.module
    mod.eval()
    rec, kls = [], []
    with torch.no_grad():
        for t in _batches(model, adata):
            inf = mod.inference(**mod._get_inference_input(t))
            gin = mod._get_generative_input(t, inf)
            gin["z"] = inf["qz"].loc
            px = mod.generative(**gin)["px"]
            rec.append(-px.log_prob(t[REGISTRY_KEYS.X_KEY]).sum(-1))
            qz = inf["qz"]
            kls.append(torch.distributions.kl_divergence(qz, torch.distributions.Normal(0.0, 1.0)).sum(-1))
    rec_t, kl_t = torch.cat(rec), torch.cat(kls)
    a = adata[:, model.adata.var_names].copy()
    a.X = np.asarray(a.X.toarray() if hasattr(a.X, "toarray") else a.X, dtype=np.float32)
    own = model.get_reconstruction_error(model._validate_anndata(a))
    own_v = float(next(iter(own.values()))) if isinstance(own, dict) else float(own)
    return {"rna_nll": float(rec_t.mean()), "kl": float(kl_t.mean()), "elbo_nll": float((rec_t + kl_t).mean()),
            "scvi_reconstruction_error_sampled_z": own_v}


def scvi_posterior_samples(model, reference, n: int, seed: int = 0):
    """``n`` posterior-predictive cells drawn like ``simulate_cells`` from a stored reference: a random reference
    (training) cell, z ~ q(z | x), that cell's observed library, then a draw from the likelihood."""
    import anndata as ad
    import pandas as pd
    import torch

    rng = np.random.default_rng(seed)
    pick = rng.choice(reference.n_obs, n, replace=True)
    sub = reference[pick, model.adata.var_names].copy()
    sub.obs_names = [f"scvi{i}" for i in range(n)]
    torch.manual_seed(seed)
    x = model.posterior_predictive_sample(model._validate_anndata(_dense(sub)), n_samples=1)
    x = x.todense() if hasattr(x, "todense") else x
    x = np.asarray(x.data if hasattr(x, "coords") else x, dtype=np.float32).reshape(n, -1)
    return ad.AnnData(X=x, obs=pd.DataFrame(index=sub.obs_names), var=pd.DataFrame(index=list(model.adata.var_names)))


def _dense(a):
    a.X = np.asarray(a.X.toarray() if hasattr(a.X, "toarray") else a.X, dtype=np.float32)
    return a

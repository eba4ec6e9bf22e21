import math

import pytest
import torch

from genmed.chem.models.prior import PriorConfig, build_prior, load_prior, log_likelihood, sample_tokens
from genmed.chem.models.tokenizer import TokenizationError, Vocabulary, tokenize
from genmed.chem.models.train import TrainConfig, lr_at, train_prior


@pytest.mark.parametrize(
    ("smiles", "tokens"),
    [
        ("CCl", ["C", "Cl"]),
        ("BrC(Br)Br", ["Br", "C", "(", "Br", ")", "Br"]),
        ("c1cc[nH]c1", ["c", "1", "c", "c", "[nH]", "c", "1"]),
        ("C%12CC%12", ["C", "%12", "C", "C", "%12"]),
        ("[C@@H](F)(Cl)Br", ["[C@@H]", "(", "F", ")", "(", "Cl", ")", "Br"]),
        ("C/C=C\\C", ["C", "/", "C", "=", "C", "\\", "C"]),
    ],
)
def test_tokenize(smiles, tokens):
    assert tokenize(smiles) == tokens


def test_tokenize_rejects_garbage():
    with pytest.raises(TokenizationError):
        tokenize("C&C")


def test_vocabulary_round_trip():
    vocab = Vocabulary.build(["CCO", "c1ccccc1Cl", "C[C@H](N)C(=O)O"])
    for s in ["CCO", "c1ccccc1Cl", "C[C@H](N)C(=O)O"]:
        ids = vocab.encode(s)
        assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
        assert vocab.decode(ids) == s
    assert vocab.has_unknown("CBr")
    assert Vocabulary.from_json(vocab.to_json()).tokens == vocab.tokens


def test_lr_schedule_warms_up_and_decays_to_floor():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, 100, cfg) < lr_at(9, 100, cfg) <= 1e-3
    assert lr_at(100, 100, cfg) == pytest.approx(1e-4)
    # the wall-clock budget ends the schedule early
    assert lr_at(20, 100, cfg, time_fraction=1.0) == pytest.approx(1e-4)


def test_tiny_training_learns_and_checkpoint_round_trips(tmp_path):
    smiles = ["CCO", "CCN", "CCC", "CCCl", "c1ccccc1", "CC(=O)O", "CCOC", "NCCO"] * 40
    cfg = TrainConfig(epochs=6, batch_size=32, lr=5e-3, warmup_steps=5, val_every=20, checkpoint_every=20,
                      precision="fp32", device="cpu", val_size=16,
                      prior=PriorConfig(embedding_dim=16, hidden_dim=32, num_layers=1))
    prior = train_prior(smiles, tmp_path, cfg, log=lambda m: None)
    hist = [line for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert len(hist) >= 2
    assert (tmp_path / "prior.pt").exists() and (tmp_path / "checkpoint.pt").exists()
    loaded = load_prior(tmp_path / "prior.pt")
    ll_known, ll_unknown = log_likelihood(loaded, ["CCO", "CBr"])
    assert ll_unknown == -math.inf
    # a trained model prefers a training molecule over a scrambled string
    assert ll_known > log_likelihood(loaded, ["O(C)(C)(C)(C)"])[0]
    # resuming a finished run is a no-op that keeps the result
    again = train_prior(smiles, tmp_path, cfg, log=lambda m: None)
    assert again.metadata["steps"] == prior.metadata["steps"]


def test_resume_refuses_different_config(tmp_path):
    smiles = ["CCO", "CCN", "CCC", "c1ccccc1"] * 10
    small = PriorConfig(embedding_dim=8, hidden_dim=8, num_layers=1)
    train_prior(smiles, tmp_path, TrainConfig(epochs=1, batch_size=8, precision="fp32", device="cpu", prior=small,
                                              val_size=4), log=lambda m: None)
    with pytest.raises(ValueError, match="different config"):
        train_prior(smiles, tmp_path, TrainConfig(epochs=2, batch_size=8, precision="fp32", device="cpu",
                                                  prior=small, val_size=4), log=lambda m: None)


def test_sampling_is_seeded_and_likelihood_consistent():
    vocab = Vocabulary.build(["CCO", "c1ccccc1"])
    prior = build_prior(vocab, PriorConfig(embedding_dim=8, hidden_dim=16, num_layers=1, max_length=20))
    prior.model.eval()
    a, lla = sample_tokens(prior, 8, generator=torch.Generator().manual_seed(1), precision="fp32")
    b, _ = sample_tokens(prior, 8, generator=torch.Generator().manual_seed(1), precision="fp32")
    assert a == b
    for seq, ll in zip(a, lla.tolist(), strict=True):
        if math.isfinite(ll) and vocab.eos_id in seq:
            smi = vocab.decode(seq)
            if smi:
                assert log_likelihood(prior, [smi])[0] == pytest.approx(ll, abs=1e-2)


def test_load_prior_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_prior(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable genmed prior"):
        load_prior(bad)


def test_bf16_autocast_falls_back_to_fp32_where_the_cpu_cannot_run_it():
    """AVX2-only CPUs have no oneDNN bf16 LSTM: asking for bf16 must then run fp32, not raise."""
    import torch

    from genmed.chem.models.prior import autocast_context, bf16_supported

    supported = bf16_supported("cpu")
    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    with autocast_context(torch.device("cpu"), "bf16"):
        assert torch.is_autocast_enabled("cpu") == supported
        out, _ = lstm(torch.zeros(1, 3, 4))
    assert out.shape == (1, 3, 4)
    with autocast_context(torch.device("cpu"), "fp32"):
        assert not torch.is_autocast_enabled("cpu")

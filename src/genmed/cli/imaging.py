"""`genmed imaging`: train, diagnose, evaluate, inspect medical images (thin layer over genmed.imaging)."""

from __future__ import annotations

from pathlib import Path

import typer

from genmed.cli._common import emit

app = typer.Typer(help="Medical images: calibrated diagnosis, anomaly maps, saliency.", no_args_is_help=True)


def parse_band(text: str) -> tuple[float, float]:
    from genmed.core.errors import InputError

    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--refer-band {text!r} is not LO,HI (e.g. 0.2,0.8)") from None
    if not 0 <= lo <= hi <= 1:
        raise InputError(f"--refer-band {text!r}: need 0 <= LO <= HI <= 1")
    return lo, hi


@app.command()
def train(
    dataset: str = typer.Option("pneumoniamnist", help="MedMNIST data set under $GENMED_DATA_DIR/imaging."),
    out: Path = typer.Option(..., help="Folder for model.pt, model.json and run.json."),
    members: int = typer.Option(5, min=1, max=20, help="Deep-ensemble size."),
    epochs: int = typer.Option(12, min=1, help="Epochs per ensemble member."),
    width: int = typer.Option(16, min=4, help="Channels of the first ResNet stage."),
    ae_epochs: int = typer.Option(40, min=1, help="Autoencoder epochs (normal images only)."),
    seed: int = typer.Option(0),
    threads: int = typer.Option(1, min=1, help="torch threads (keep 1 on a shared machine)."),
    limit: int = typer.Option(None, help="Use only the first N training images (smoke tests)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Train the ensemble classifier, calibrate it, train the normal-anatomy autoencoder and OOD gate."""
    from genmed.core.provenance import run_directory
    from genmed.imaging.train import TrainConfig, train_bundle

    cfg = TrainConfig(dataset=dataset, members=members, epochs=epochs, width=width, ae_epochs=ae_epochs,
                      seed=seed, threads=threads, limit=limit)
    with run_directory("imaging-train", out=out, config=cfg.__dict__, seed=seed) as run:
        say = (lambda _m: None) if as_json else (lambda m: typer.echo(m, err=True))
        with run.timed("train"):
            card = train_bundle(cfg, Path(run.path), progress=say)
        run.outputs += ["model.pt", "model.json"]
        run.summary.update({"val": card["metrics"]["val"], "test": card["metrics"]["test"]})
    t = card["metrics"]["test"]
    emit(card, as_json, f"model written to {out}/model.pt\n"
                        f"test AUC {t['auc']:.3f}  ACC {t['acc']:.3f}  ECE {t['ece']:.3f}  "
                        f"anomaly AUROC {t['anomaly_auroc']:.3f}")


@app.command()
def diagnose(
    image: Path = typer.Argument(..., help="DICOM file or directory, NIfTI, PNG/JPEG/TIFF."),
    model: Path = typer.Option(None, help="Model folder or model.pt (default: the shipped model)."),
    out: Path = typer.Option(None, help="Output folder (diagnosis.json + saliency PNGs); default runs/."),
    frame: int = typer.Option(None, help="Frame/slice to read from a multi-frame image or volume."),
    saliency: bool = typer.Option(True, help="Write Grad-CAM and anomaly-map PNGs."),
    ig: bool = typer.Option(False, "--integrated-gradients", help="Also write an integrated-gradients PNG (slower)."),
    refer_band: str = typer.Option(None, help="Refer-to-human probability band LO,HI (default: the model's, 0.2,0.8)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Calibrated probability of pneumonia with interval, anomaly score, OOD check and saliency maps."""
    import json

    from genmed.core.provenance import run_directory
    from genmed.imaging.diagnosis import diagnose_image
    from genmed.imaging.io import load_image
    from genmed.imaging.predictor import ImagingModel
    from genmed.imaging.preprocess import prepare

    # validate input and model before anything is written
    img = load_image(image)
    prepare(img, frame=frame)
    loaded = ImagingModel.load(model)
    if refer_band:
        loaded.refer_band = parse_band(refer_band)
    config = {"model": str(loaded.path), "frame": frame, "saliency": saliency, "integrated_gradients": ig,
              "refer_band": list(loaded.refer_band)}
    with run_directory("imaging-diagnose", out=out, config=config, subject=img.metadata.get("patient")) as run:
        d = diagnose_image(img, loaded, Path(run.path), frame=frame, saliency=saliency, integrated_gradients=ig)
        (run.file("diagnosis.json")).write_text(json.dumps(d.to_dict(), indent=2, default=str))
        run.outputs += [Path(p).name for p in d.saliency.values()]
        run.summary.update({"finding": d.finding, "probability": d.probability, "ood": d.ood,
                            "refer": d.refer})
    emit(d.to_dict(), as_json, d.summary() + f"\nwritten to {run.path}")


@app.command()
def evaluate(
    model: Path = typer.Option(None, help="Model folder or model.pt (default: the shipped model)."),
    dataset: str = typer.Option("pneumoniamnist"),
    split: str = typer.Option("test", help="train, val or test."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """AUC, accuracy, calibration (ECE), referral rate, anomaly AUROC and OOD false rejections on a split."""
    from genmed.imaging.evaluate import evaluate_bundle

    ev = evaluate_bundle(model, split=split, dataset=dataset)
    s = ev.summary()
    emit({**s, "reliability": ev.reliability}, as_json,
         "\n".join(f"{k:<22} {v}" for k, v in s.items()))


@app.command()
def inspect(
    image: Path = typer.Argument(..., help="DICOM file or directory, NIfTI, PNG/JPEG/TIFF."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Read an image and print what genmed sees: kind, shape, modality, window (identifiers pseudonymised)."""
    from genmed.imaging.io import load_image

    img = load_image(image)
    info = {"source": img.source, "format": img.format, "kind": img.kind, "shape": list(img.shape),
            "window": img.window, "invert": img.invert, "metadata": img.metadata, "warnings": img.warnings,
            "range": [float(img.pixels.min()), float(img.pixels.max())]}
    emit(info, as_json, "\n".join(f"{k:<10} {v}" for k, v in info.items()))

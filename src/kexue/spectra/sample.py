"""A seeded synthetic data set in the competition's exact file layout.

Used when data/raw/spectra/ has no competition files, so `make spectra` runs end to end
anywhere. The spectra are crude but physical enough that the classes differ the way the
real ones do: stars are blackbodies with absorption lines, galaxies have a 4000 Å break
and narrow emission lines, QSOs a blue power law with broad redshifted lines, and
'unknown' is noise-dominated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core import io

WAVE = np.linspace(3690.0, 9100.0, 2600)
ABSORPTION = [3934.0, 3969.0, 4102.0, 4340.0, 4861.0, 5175.0, 5893.0, 6563.0, 8498.0, 8542.0, 8662.0]
GALAXY_EMISSION = [3727.0, 4861.0, 4959.0, 5007.0, 6563.0, 6584.0, 6717.0]
QSO_BROAD = [1216.0, 1549.0, 1909.0, 2798.0, 4340.0, 4861.0, 6563.0]


def _gauss(center, sigma):
    return np.exp(-0.5 * ((WAVE - center) / sigma) ** 2)


def _star(rng, temp=None):
    temp = temp or rng.uniform(3200, 11000)
    x = 1.4388e8 / (WAVE * temp)  # hc / (lambda k T) with lambda in Angstrom
    spec = 1.0 / (WAVE ** 5 * np.expm1(x))
    spec /= spec.mean()
    balmer = np.clip((temp - 5000) / 4000, 0.05, 1.0)
    for line in ABSORPTION:
        depth = balmer * 0.5 if line in (4102.0, 4340.0, 4861.0, 6563.0) else (1 - balmer) * 0.4
        spec *= 1 - depth * _gauss(line, rng.uniform(4, 12))
    if temp < 4200:  # TiO bands of cool stars
        for edge in (6159.0, 7053.0, 7589.0):
            spec *= 1 - 0.35 * (WAVE > edge) * np.exp(-(WAVE - edge) / 150)
    return spec, rng.uniform(4, 40)


def _galaxy(rng):
    # an old stellar population, redshifted, with emission lines that are sometimes faint
    z = rng.uniform(0.01, 0.3)
    spec, _ = _star(rng, rng.uniform(4200, 6500))
    spec = np.interp(WAVE, WAVE * (1 + z), spec) * (0.7 + 0.3 * (WAVE > 4000 * (1 + z)))
    strength = rng.exponential(0.4)
    for line in GALAXY_EMISSION:
        spec = spec + strength * rng.uniform(0.3, 1.5) * _gauss(line * (1 + z), 6)
    return spec, rng.uniform(3, 15)


def _qso(rng):
    z = rng.uniform(0.2, 3.0)
    spec = (WAVE / 5000.0) ** rng.uniform(-1.5, 0.0)
    for line in QSO_BROAD:
        spec = spec + rng.uniform(0.1, 1.0) * _gauss(line * (1 + z), rng.uniform(30, 60))
    return spec, rng.uniform(2, 12)


def _unknown(rng):
    # what the survey pipeline could not classify: very noisy objects or instrument artefacts
    if rng.random() < 0.6:
        spec, _ = GENERATORS[rng.choice(["star", "galaxy", "qso"])](rng)
        return spec, rng.uniform(0.5, 2.5)
    spec = rng.uniform(0.2, 1.0) + 0.3 * np.sin(WAVE / rng.uniform(200, 900))
    return spec, rng.uniform(1, 4)


GENERATORS = {"star": _star, "galaxy": _galaxy, "qso": _qso, "unknown": _unknown}


def spectrum(label: str, rng) -> np.ndarray:
    shape, snr = GENERATORS[label](rng)
    scale = 10 ** rng.uniform(1, 3.5)  # raw survey fluxes span decades
    noise = rng.normal(0, 1, WAVE.size) * shape.mean() / snr
    return (scale * (shape + noise)).astype(np.float32)


def write_set(root: Path, name: str, labels, rng, labelled: bool, id_start: int) -> None:
    data_dir = root / f"{name}_data"
    data_dir.mkdir(parents=True, exist_ok=True)
    ids = [str(id_start + i) for i in range(len(labels))]
    for sid, label in zip(ids, labels):
        values = ",".join(f"{v:.6g}" for v in spectrum(label, rng))
        io.write_text(data_dir / f"{sid}.txt", values)  # one line, no trailing newline, as the organiser's
    frame = pd.DataFrame({"id": ids, "type": labels}) if labelled else pd.DataFrame({"id": ids})
    with io.atomic_path(root / f"{name}_index.csv") as tmp:
        frame.to_csv(tmp, index=False)


def generate(root, n_train: int, n_test: int, class_shares: dict, seed: int) -> Path:
    """Write train/test sets under `root` (train_index.csv + train_data/, test_index.csv + test_data/)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    names = list(class_shares)
    shares = np.array([class_shares[c] for c in names], dtype=float)
    shares /= shares.sum()
    for name, n, labelled, start in (("train", n_train, True, 100000), ("test", n_test, False, 900000)):
        # every class at least twice per 5 folds, so the sample always stratifies
        labels = list(rng.choice(names, size=n, p=shares))
        for c in names:
            labels[: 0] = [c] * max(0, 10 - labels.count(c))
        labels = labels[:n] if name == "test" else labels
        rng.shuffle(labels)
        write_set(root, name, labels, rng, labelled, start)
    io.write_json(root / "SAMPLE.json", {"generated_by": "kexue.spectra.sample", "seed": seed,
                                        "n_train": n_train, "n_test": n_test, "class_shares": class_shares,
                                        "note": "synthetic spectra, not competition data"})
    return root

"""Shared pytest fixtures."""

import zipfile
from pathlib import Path

import pytest

import rnnrbm

rnnrbm.link_openblas()  # tests that compile graphs directly want BLAS too

CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def nottingham_dir(tmp_path_factory):
    """Return the folder holding the Nottingham ``train``, ``valid`` and ``test`` MIDI folders.

    Uses ``data/Nottingham`` of the checkout (what download.sh makes) if there,
    else extracts ``../shared/data/Nottingham.zip`` beside the checkout into a
    temporary folder once per session; skips the test if neither exists.
    """
    downloaded = CHECKOUT / "data" / "Nottingham"
    if all((downloaded / split).is_dir() for split in ("train", "valid", "test")):
        return downloaded
    archive = CHECKOUT.parent / "shared" / "data" / "Nottingham.zip"
    if not archive.is_file():
        pytest.skip(f"Nottingham data not found: no {downloaded} (run ./download.sh) "
                    f"and no {archive}")
    target = tmp_path_factory.mktemp("nottingham")
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(target)
    return target / "Nottingham"


@pytest.fixture(scope="session")
def nottingham_pickle():
    """Path of Nottingham.pickle: data/ of the checkout (what download.sh makes), else
    ../shared/data beside the checkout; skips the test if neither exists."""
    for path in (CHECKOUT / "data" / "Nottingham.pickle",
                 CHECKOUT.parent / "shared" / "data" / "Nottingham.pickle"):
        if path.is_file():
            return path
    pytest.skip("Nottingham.pickle not found: run ./download.sh --pickle")


@pytest.fixture(scope="session")
def paper_pickle():
    """A function from one of the paper's data set names to its pickle: data/ of the
    checkout, else ../shared/data beside it; skips the test if neither has it."""
    def path(name):
        for folder in (CHECKOUT / "data", CHECKOUT.parent / "shared" / "data"):
            if (folder / f"{name}.pickle").is_file():
                return folder / f"{name}.pickle"
        pytest.skip(f"{name}.pickle not found: run ./download.sh --pickle")
    return path

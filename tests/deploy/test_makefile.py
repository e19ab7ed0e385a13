"""The Makefile's install targets share one .venv: installing for `make run` must not remove what `make
install-dev` put there (pytest, ruff). Checked on the commands make would run (`make -n`), without running them."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def planned(*targets: str) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # -B: plan every step even where make thinks it is up to date; -n: print them, run nothing.
    result = subprocess.run([make, "-n", "-B", "--no-print-directory", *targets], cwd=ROOT,  # noqa: S603 - ours
                            capture_output=True, text=True, check=True, timeout=30)
    return [line for line in result.stdout.splitlines() if " sync " in line]


def test_install_after_install_dev_keeps_the_dev_packages():
    syncs = planned("install-dev", "install")
    assert len(syncs) == 2
    dev, run = syncs
    assert "--no-dev" not in dev
    # A sync that leaves dev packages out of the resolution removes them from the environment unless inexact.
    assert "--no-dev" not in run or "--inexact" in run


def test_make_run_installs_without_removing_anything():
    (sync,) = planned("run")
    assert "--inexact" in sync

"""A bot process uses one BLAS thread unless the operator asks for more (see bot/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # real processes (the quick lane's definition), if short ones

SHOW = "import bot, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"


def _threads(**extra: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    env.update(extra, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_the_bot_sets_one_blas_thread() -> None:
    assert _threads() == "1"


def test_an_operators_thread_setting_is_kept() -> None:
    assert _threads(OPENBLAS_NUM_THREADS="2") == "2"
    assert _threads(OMP_NUM_THREADS="2") == "None"  # OpenBLAS reads OMP_NUM_THREADS then

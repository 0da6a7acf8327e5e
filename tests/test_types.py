"""The whole package type-checks: mypy with pyproject.toml's configuration (untyped
bodies checked too) reports nothing. The mypyc build relies on these types."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.source  # reads the checkout's source (scripts/build-check skips it)


def test_mypy_is_clean():
    res = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True,
                         timeout=900)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]

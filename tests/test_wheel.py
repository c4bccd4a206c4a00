"""An installed wheel (`pip install ureport`, not `-e`) carries the translation catalogs and speaks
French: the catalogs are package data (ureport/locales), not files of the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not os.environ.get("UREPORT_TEST_WHEEL"),
    reason="builds a wheel and a virtualenv (about a minute): UREPORT_TEST_WHEEL=1, as .ci/run sets once",
)
SPEAK = "from ureport.web import i18n; i18n.use('fr'); print(i18n._('Polls')); print(i18n.LOCALES)"


def _run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_an_installed_wheel_speaks_french(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: the build leaves build/ and egg-info behind
    shutil.copytree(ROOT / "ureport", source / "ureport", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet")
    _run(*pip, "wheel", "--no-deps", "-w", tmp_path / "dist", source, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("ureport-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert "ureport/locales/fr/LC_MESSAGES/messages.po" in archive.namelist()

    _run(sys.executable, "-m", "venv", tmp_path / "venv", cwd=tmp_path)  # no system site-packages
    python = tmp_path / "venv" / "bin" / "python"
    venv_pip = (python, "-m", "pip", "--disable-pip-version-check", "--quiet", "install")
    _run(*venv_pip, "--no-deps", wheel, cwd=tmp_path)
    _run(*venv_pip, "babel", "starlette", cwd=tmp_path)  # what ureport.web.i18n imports
    shutil.rmtree(source)  # nothing left to find the catalogs in but the installed package
    said, where = _run(python, "-I", "-c", SPEAK, cwd=tmp_path).splitlines()
    assert said == "Sondages"
    assert str(tmp_path / "venv") in where and "site-packages" in where

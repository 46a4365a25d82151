"""The house rules a maintainer relies on: layered imports with no cycles, short modules."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400


def test_no_module_in_the_package_is_over_400_lines():
    long_modules = {str(path.relative_to(ROOT)): n for path in (ROOT / "discuss").rglob("*.py")
                    if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long_modules == {}


def test_import_layers_and_acyclic_contracts_hold(monkeypatch):
    importlinter = pytest.importorskip("importlinter.application.use_cases")
    monkeypatch.chdir(ROOT)
    assert importlinter.lint_imports(config_filename=str(ROOT / ".importlinter"), cache_dir=None, no_logo=True) is True

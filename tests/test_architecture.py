"""The house rules a maintainer relies on: layered imports with no cycles, short modules."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400


def test_no_module_in_the_package_is_over_400_lines():
    long_modules = {str(path.relative_to(ROOT)): n for path in (ROOT / "discuss").rglob("*.py")
                    if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long_modules == {}


def test_import_layers_and_acyclic_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (requirements-dev.txt)")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

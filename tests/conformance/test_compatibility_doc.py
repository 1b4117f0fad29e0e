"""``docs/AX_COMPATIBILITY.md`` names real tests: every test file and test function it cites exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "AX_COMPATIBILITY.md"


def test_every_test_the_compatibility_table_cites_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    files = set(re.findall(r"`((?:tests/[\w/]+/)?test_\w+\.py)`", text))
    functions = set(re.findall(r"`(test_\w+)`", text))
    assert files and functions, "the table cites tests"
    sources = {path.name: path for path in (ROOT / "tests").rglob("test_*.py")}
    for cited in files:
        assert Path(cited).name in sources or (ROOT / cited).is_file(), f"{cited} is not a test file"
    defined = {name for path in sources.values() for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M)}
    missing = sorted(functions - defined)
    assert not missing, f"the compatibility table cites tests that do not exist: {missing}"

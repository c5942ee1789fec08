"""One model registry for the app, the CLI and Alembic (backend.models.load_all_models)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from backend.models import model_modules

ROOT = Path(__file__).resolve().parents[2]


def test_every_domains_models_module_is_registered() -> None:
    on_disk = {
        f"backend.{path.parent.name}.models" for path in (ROOT / "backend").glob("*/models.py")
    }
    from backend.models import EXTRA_MODEL_MODULES

    assert set(model_modules()) == on_disk | set(EXTRA_MODEL_MODULES)


def test_a_bare_process_resolves_every_foreign_key() -> None:
    """What the CLI does before any command: no other import may be needed (the old
    ``tongxin match`` crash was matches.project_id → projects, unresolved)."""
    code = (
        "from backend.models import load_all_models\n"
        "metadata = load_all_models()\n"
        "metadata.sorted_tables\n"
        "for table in metadata.tables.values():\n"
        "    for fk in table.foreign_keys:\n"
        "        fk.column\n"
        "print(len(metadata.tables))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 30

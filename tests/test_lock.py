"""The lock files pin every install (requirements/*.txt, compiled by `make lock`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(name: str) -> dict[str, tuple[str, int]]:
    """{normalized name: (version, number of hashes)} of one lock file."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line):
            current = re.sub(r"[-_.]+", "-", m.group(1)).lower()
            pins[current] = (m.group(2), 0)
        elif "--hash=sha256:" in line and current is not None:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def _names(specs: list[str]) -> set[str]:
    return {
        re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", s, maxsplit=1)[0]).lower() for s in specs
    }


def test_every_pin_has_hashes_and_dev_agrees_with_main() -> None:
    main, dev = _pins("main.txt"), _pins("dev.txt")
    assert main and dev
    assert all(hashes for _, hashes in [*main.values(), *dev.values()])
    assert {name: dev.get(name, ("missing", 0))[0] for name in main} == {
        name: version for name, (version, _) in main.items()
    }


def test_the_locks_cover_pyproject_and_keep_embedded_servers_out_of_production() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    main, dev = _pins("main.txt"), _pins("dev.txt")
    assert _names(project["dependencies"]) <= main.keys()
    assert _names(extras["dev"]) | _names(extras["embedded"]) <= dev.keys()
    assert not _names(extras["embedded"]) & main.keys()

"""galaxy.yml's dependencies and the changelog fragments (antsibull-changelog format)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ansible_collections
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
CONFIG = yaml.safe_load((REPO / "changelogs/config.yaml").read_text())
SECTIONS = {name for name, _title in CONFIG["sections"]} | {CONFIG["prelude_section_name"]}
FRAGMENTS = sorted((REPO / "changelogs/fragments").glob("*.yml"))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _satisfies(version: str, spec: str) -> bool:
    checks = {">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "==": lambda a, b: a == b}
    for raw in spec.split(","):
        clause = raw.strip()
        op = next(op for op in (">=", "==", "<") if clause.startswith(op))
        if not checks[op](_version(version), _version(clause[len(op) :])):
            return False
    return True


def _installed(name: str) -> str | None:
    """Version of a collection in the ansible package of this venv (the pinned one)."""
    namespace, collection = name.split(".")
    for root in ansible_collections.__path__:
        manifest = Path(root) / namespace / collection / "MANIFEST.json"
        if manifest.is_file():
            return str(json.loads(manifest.read_text())["collection_info"]["version"])
    return None


def test_roles_use_only_declared_collections() -> None:
    used = set()
    for path in [*REPO.glob("roles/**/*.yml"), *REPO.glob("playbooks/**/*.yml")]:
        for word in path.read_text().split():
            parts = word.strip("\"'{}()|:,").split(".")
            if len(parts) >= 3 and parts[0] in {"ansible", "community", "openstack"}:
                used.add(".".join(parts[:2]))
    used -= {"ansible.builtin", "ansible.legacy"}
    assert used <= set(GALAXY["dependencies"]), used - set(GALAXY["dependencies"])


@pytest.mark.parametrize("name", sorted(GALAXY["dependencies"]))
def test_pinned_ansible_satisfies_each_dependency(name: str) -> None:
    version = _installed(name)
    assert version is not None, f"{name} is not in the ansible package"
    assert _satisfies(version, GALAXY["dependencies"][name]), (name, version)


@pytest.mark.parametrize("path", FRAGMENTS, ids=[path.name for path in FRAGMENTS])
def test_fragment_format(path: Path) -> None:
    data: Any = yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and data, "a fragment is a mapping of section to entries"
    for section, entries in data.items():
        assert section in SECTIONS, f"unknown section {section}; see changelogs/config.yaml"
        if section == CONFIG["prelude_section_name"]:
            assert isinstance(entries, str)
        else:
            assert isinstance(entries, list) and all(isinstance(e, str) for e in entries)

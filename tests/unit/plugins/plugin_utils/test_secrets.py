"""Data-driven tests of plugins/plugin_utils/secrets.py (cases in secrets_cases.yml)."""

from __future__ import annotations

import datetime
import re
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.nimbus.cloud.plugins.plugin_utils import secrets as sut

CASES = yaml.safe_load((Path(__file__).parent / "secrets_cases.yml").read_text(encoding="utf-8"))
KINDS: dict[str, str] = CASES["kinds"]
PATH = "/etc/openstack_deploy/user_secrets.yml"


def _mask(text: str, generated: dict[str, str]) -> str:
    for value in generated.values():
        text = text.replace(value, "@GEN@")
    return text


@pytest.mark.parametrize("case", CASES["fill"], ids=[c["id"] for c in CASES["fill"]])
def test_fill(case: dict[str, Any]) -> None:
    result = sut.fill(case["text"], regen=case.get("regen", False), path=PATH)
    assert _mask(result.text, result.generated) == case["expected"]
    assert sorted(result.generated) == sorted(case["generated"])
    for key, kind in case["generated"].items():
        assert re.fullmatch(KINDS[kind], result.generated[key]), f"{key} is not a {kind}"
    assert result.kept == case["kept"]
    assert result.skipped == case.get("skipped", [])
    assert result.changed == bool(case["generated"])


@pytest.mark.parametrize("case", CASES["errors"], ids=[c["id"] for c in CASES["errors"]])
def test_errors(case: dict[str, Any]) -> None:
    with pytest.raises(sut.SecretsFileError) as err:
        sut.fill(case["text"], path=PATH)
    for part in case["message"]:
        assert part in str(err.value)
    for part in case.get("not_in_message", []):
        assert part not in str(err.value)


def test_values_are_unique() -> None:
    text = "".join(f"k{i}_password:\n" for i in range(200))
    values = sut.fill(text).generated.values()
    assert len(set(values)) == 200


def test_shipped_example_is_complete_and_empty() -> None:
    example = Path(__file__).parents[4] / "etc" / "openstack_deploy" / "user_secrets.yml"
    lines, entries = sut.parse(example.read_text(encoding="utf-8"), str(example))
    assert all(e.is_empty for e in entries), "the shipped example must not contain values"
    # Every key has a comment line right above it.
    for entry in entries:
        assert lines[entry.index - 1].startswith("# "), f"{entry.key} has no comment"
    keys = {e.key for e in entries}
    for required in (
        "keystone_auth_admin_password",
        "keystone_container_mysql_password",
        "keystone_oslomsg_rpc_password",
        "galera_root_password",
        "rabbitmq_cookie_token",
        "memcached_encryption_key",
        "haproxy_stats_password",
        "nova_metadata_proxy_secret",
        "horizon_secret_key",
    ):
        assert required in keys


def test_update_file_backup_mode_and_atomic(tmp_path: Path) -> None:
    target = tmp_path / "user_secrets.yml"
    kept = "keep"
    target.write_text(f"# c\na_password:\nb_password: {kept}\n", encoding="utf-8")
    target.chmod(0o644)
    done = sut.update_file(target)
    assert done.backup is not None
    assert done.backup.read_text(encoding="utf-8") == "# c\na_password:\nb_password: keep\n"
    for path in (target, done.backup):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert data["a_password"] == done.result.generated["a_password"]
    assert data["b_password"] == kept
    # Nothing left behind but the file and its backup.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, done.backup.name])


def test_update_file_unchanged_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "user_secrets.yml"
    target.write_text("a_password: x\n", encoding="utf-8")
    before = target.stat().st_mtime_ns
    done = sut.update_file(target)
    assert done.backup is None
    assert target.stat().st_mtime_ns == before
    assert list(tmp_path.iterdir()) == [target]


def test_update_file_through_symlink_keeps_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.yml"
    real.write_text("a_password:\n", encoding="utf-8")
    link = tmp_path / "link.yml"
    link.symlink_to(real)
    sut.update_file(link)
    assert link.is_symlink()
    assert yaml.safe_load(real.read_text(encoding="utf-8"))["a_password"]


def test_backup_path_never_reuses_a_name(tmp_path: Path) -> None:
    target = tmp_path / "user_secrets.yml"
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    first = sut.backup_path(target, now)
    first.write_text("", encoding="utf-8")
    second = sut.backup_path(target, now)
    assert first.name == "user_secrets.yml.20260102T030405.000000Z.bak"
    assert second.name == "user_secrets.yml.20260102T030405.000000Z.1.bak"


def test_update_file_missing(tmp_path: Path) -> None:
    with pytest.raises(sut.SecretsFileError, match="file not found"):
        sut.update_file(tmp_path / "nope.yml")

#!/usr/bin/env python
"""Fill the empty values of an OpenStack-Ansible style user_secrets.yml with random secrets.

    pw-token-gen.py --file /etc/openstack_deploy/user_secrets.yml [--regen]

Empty values get a new random value in the form their consumer needs (decided by the key
name); values already set are kept unless --regen is given. The old file is backed up next to
it (mode 0600) before the new one is written atomically with mode 0600. Only counts and key
names are printed, never a value. Exit status: 0 done (or nothing to do), 1 bad input.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

# The logic lives in the collection (plugins/plugin_utils/secrets.py). Load it by path from
# this script's real location so the script works from a checkout, from an installed
# collection and through a symlink on PATH, without the collection being importable.
_MODULE_PATH = Path(__file__).resolve().parent.parent / "plugins" / "plugin_utils" / "secrets.py"
_MODULE_NAME = "_nimbus_plugin_utils_secrets"  # never "secrets": that would shadow the stdlib


def _load_logic() -> ModuleType:
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, _MODULE_PATH)
    if spec is None or spec.loader is None or not _MODULE_PATH.is_file():
        sys.exit(f"ERROR: {_MODULE_PATH} not found; this script must stay inside the collection.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate the empty secrets of a user_secrets.yml file in place.",
    )
    parser.add_argument(
        "--file",
        required=True,
        help="the secrets file, e.g. /etc/openstack_deploy/user_secrets.yml",
    )
    parser.add_argument(
        "--regen",
        action="store_true",
        help="replace every value, also those already set (SSH keys are never generated); "
        "services keep their old passwords until the playbooks have run again",
    )
    return parser.parse_args(argv)


def _names(keys: list[str]) -> str:
    return ", ".join(keys) if keys else "-"


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logic = _load_logic()
    try:
        done = logic.update_file(args.file, regen=args.regen)
    except logic.SecretsFileError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # Names the path and the reason only; never the file's content.
        print(f"ERROR: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    result = done.result
    if not result.changed:
        print(f"{done.path}: nothing to do, every value is already set ({len(result.kept)} kept).")
    else:
        verb = "regenerated" if args.regen else "generated"
        print(f"{done.path}: {verb} {len(result.generated)}: {_names(list(result.generated))}")
        print(f"kept {len(result.kept)} existing value(s)")
        print(f"backup of the previous file: {done.backup}")
    if result.skipped:
        print(
            f"not generated here ({len(result.skipped)}): {_names(result.skipped)}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

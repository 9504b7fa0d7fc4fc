"""Make this checkout importable as ``ansible_collections.nimbus.cloud`` for unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_BUILD = _ROOT / ".build"
_LINK = _BUILD / "ansible_collections" / "nimbus" / "cloud"

if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(_ROOT, target_is_directory=True)
if str(_BUILD) not in sys.path:
    sys.path.insert(0, str(_BUILD))

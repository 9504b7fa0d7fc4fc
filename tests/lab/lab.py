#!/usr/bin/env python3
"""The Nimbus LXC test lab: ``lab.py create SCENARIO | destroy [SCENARIO] | status``.

Run as root on a Debian machine. See README.md ("Test lab") and tests/lab/scenarios/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _ensure_yaml() -> None:
    """PyYAML is the one dependency outside the standard library; apt provides it."""
    try:
        import yaml  # noqa: F401, PLC0415
    except ImportError:
        if os.geteuid() != 0 or sys.executable != "/usr/bin/python3":
            sys.exit(f"lab: PyYAML is missing for {sys.executable}; install python3-yaml")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "python3-yaml"], check=True, env=env)


if __name__ == "__main__":
    _ensure_yaml()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from nimbus_lab.cli import main

    sys.exit(main())

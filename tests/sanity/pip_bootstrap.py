"""Stand-in for the get-pip script ansible-test downloads into its per-test venvs.

ansible-test fetches that script from a host outside the package registries, which these
machines cannot reach. It runs the script inside a venv created without pip, passing
`pip install`-style arguments (``pip==X setuptools wheel``, ``--no-setuptools``...). This
stand-in installs the interpreter's bundled pip with ensurepip, then lets that pip install
the requested packages from the package index.
"""

from __future__ import annotations

import ensurepip
import subprocess
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    ensurepip.bootstrap(upgrade=False)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    sys.exit(main())

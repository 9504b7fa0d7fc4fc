"""What the deployment benchmarks share: reading a deployed lab's configuration directory (the
internal VIP, the admin password, the deployment CA), their common options, percentiles, and an
HTTPS client of the deployment that authenticates with Keystone.

Used by swift_throughput_bench.py and token_latency_bench.py (this directory is on their path).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

# group_vars/all/keystone.yml: keystone_service_proto https, keystone_service_port 5000 on the
# internal VIP; keystone_admin_user_name, keystone_admin_tenant_name, keystone_default_domain_name.
KEYSTONE_PORT = 5000
ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"
ADMIN_DOMAIN = "Default"
VIP_KEY = ("global_overrides", "internal_lb_vip_address")
PASSWORD_KEY = "keystone_auth_admin_password"  # noqa: S105 (the key's name, not a password)
TIMEOUT = 120.0


class ConfigError(Exception):
    """A file or a key of the deployment's configuration is missing or unusable."""


class BenchError(Exception):
    """A request failed or an object did not read back as written."""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def deployment_parser(
    doc: str | None, default_config_dir: str, environ: Mapping[str, str] | None = None
) -> argparse.ArgumentParser:
    """A benchmark's parser with the options every deployment benchmark takes: --config-dir
    (default $OSA_CONFIG_DIR, else DEFAULT_CONFIG_DIR), --cacert and --json."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(env.get("OSA_CONFIG_DIR") or default_config_dir),
        help=f"deployment configuration (default: $OSA_CONFIG_DIR or {default_config_dir})",
    )
    parser.add_argument(
        "--cacert", type=Path, default=None, help="CA file (default: CONFIG_DIR/pki/ca/ca.pem)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser


def load_yaml(path: Path, wanted: str) -> dict[str, Any]:
    """The mapping in a YAML file; WANTED names what it is read for, in the errors."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (needed for {wanted})") from None
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read it ({error.strerror}; needed for {wanted})"
        ) from None
    if text.startswith("$ANSIBLE_VAULT"):
        raise ConfigError(f"{path}: encrypted with ansible-vault; decrypt it to read {wanted}")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a YAML mapping (needed for {wanted})")
    return data


def read_vip(path: Path) -> str:
    """global_overrides.internal_lb_vip_address of an openstack_user_config.yml."""
    wanted = ".".join(VIP_KEY)
    value: Any = load_yaml(path, wanted)
    for key in VIP_KEY:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: no {wanted}")
    return value.strip()


def read_admin_password(path: Path) -> str:
    """keystone_auth_admin_password of a user_secrets.yml (never printed)."""
    value = load_yaml(path, PASSWORD_KEY).get(PASSWORD_KEY)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: no {PASSWORD_KEY} (or it is empty)")
    return value


def find_ca_cert(folder: Path) -> Path:
    """The deployment CA certificate in FOLDER (pki/ca): ca.pem, else its only certificate."""
    preferred = folder / "ca.pem"
    if preferred.is_file():
        return preferred
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        raise ConfigError(
            f"{folder}: no such directory (the deployment CA); use --cacert"
        ) from None
    certs = [p for p in files if "BEGIN CERTIFICATE" in p.read_text(errors="replace")]
    if len(certs) != 1:
        found = ", ".join(p.name for p in certs) or "none"
        raise ConfigError(f"{folder}: no single CA certificate (found: {found}); use --cacert")
    return certs[0]


def auth_request(user: str, password: str, project: str, domain: str) -> dict[str, Any]:
    """The body of a Keystone v3 password authentication scoped to a project."""
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"name": domain}, "password": password}
                },
            },
            "scope": {"project": {"name": project, "domain": {"name": domain}}},
        }
    }


def percentile(values: Sequence[float], percent: float) -> float:
    """The PERCENT-th percentile of VALUES, linear between the closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * percent / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Client:
    """HTTPS to the deployment only: the CA given, no proxy from the environment."""

    def __init__(self, cafile: Path) -> None:
        context = ssl.create_default_context(cafile=str(cafile))
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        self.token = ""

    def request(
        self,
        method: str,
        url: str,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The open response to a request (the token sent once there is one)."""
        if not url.startswith("https://"):
            raise BenchError(f"refusing a non-TLS URL: {url}")
        all_headers = dict(headers or {})
        if self.token:
            all_headers["X-Auth-Token"] = self.token
        request = urllib.request.Request(  # noqa: S310 (https only, checked above)
            url, data=data, headers=all_headers, method=method
        )
        try:
            return self.opener.open(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as error:
            error.close()
            raise BenchError(f"{method} {url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise BenchError(f"{method} {url}: {reason}") from None

    def authenticate(self, auth_url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Keep the token of a password authentication; return its catalog."""
        with self.request(
            "POST",
            f"{auth_url}/auth/tokens",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        ) as response:
            token = response.headers.get("X-Subject-Token", "")
            data = json.load(response)
        if not token:
            raise BenchError(f"POST {auth_url}/auth/tokens: no X-Subject-Token in the answer")
        self.token = token
        return data.get("token", {}).get("catalog") or []

# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""HAProxy service declarations: translation, checks and the health of the statistics.

Pure Python, no Ansible imports; the filters nimbus.cloud.haproxy_declarations,
nimbus.cloud.haproxy_problems and nimbus.cloud.haproxy_down_backends are thin wrappers.

A declaration is a dict with the native keys of the haproxy_server role (see its
meta/argument_specs.yml) or the keys of OpenStack-Ansible's haproxy_*_service dicts, which
:func:`declarations` translates into native ones.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

NATIVE_KEYS = (
    "name",
    "state",
    "frontend_port",
    "backend_port",
    "backend_group",
    "backend_hosts",
    "backup_hosts",
    "mode",
    "balance",
    "tls",
    "backend_tls",
    "external",
    "active_backup",
    "health_check",
    "health_check_method",
    "health_check_path",
    "health_check_port",
    "health_check_status",
    "health_check_body",
    "health_check_interval",
    "health_check_rise",
    "health_check_fall",
    "timeout_client",
    "timeout_server",
    "http_redirect_port",
    "frontend_extra_lines",
    "backend_extra_lines",
)

# OpenStack-Ansible key -> native key, for keys that map one to one.
OSA_KEYS = {
    "haproxy_service_name": "name",
    "haproxy_port": "frontend_port",
    "haproxy_backend_port": "backend_port",
    "haproxy_backend_nodes": "backend_hosts",
    "haproxy_backup_nodes": "backup_hosts",
    "haproxy_balance_type": "mode",
    "haproxy_balance_alg": "balance",
    "haproxy_ssl": "tls",
    "haproxy_backend_ssl": "backend_tls",
    "haproxy_timeout_client": "timeout_client",
    "haproxy_timeout_server": "timeout_server",
    "haproxy_redirect_http_port": "http_redirect_port",
    "haproxy_frontend_raw": "frontend_extra_lines",
    "haproxy_backend_arguments": "backend_extra_lines",
}

PORT_KEYS = ("frontend_port", "backend_port", "health_check_port", "http_redirect_port")
CHOICES = {
    "state": ("present", "absent"),
    "mode": ("http", "tcp"),
    "health_check": ("http", "tcp", "none"),
}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PORT_RE = re.compile(r"^[0-9]+$")
# Written between single quotes on an "http-check expect string" line.
BODY_RE = re.compile(r"[^'\"\\\x00-\x1f\x7f]+")
BACKEND_SUFFIX = "-back"


def _httpchk(words: list[str], method_index: int) -> dict[str, Any]:
    """health_check keys from the words of an OSA httpchk option ([method] path)."""
    has_method = len(words) > method_index + 1
    return {
        "health_check": "http",
        "health_check_method": words[method_index] if has_method else "GET",
        "health_check_path": words[-1] if len(words) > method_index else "/",
    }


def _translate_osa_special(svc: dict[str, Any], key: str, value: Any, external_vip: str) -> bool:
    """Apply an OpenStack-Ansible key that does not map one to one; False if unknown."""
    if key == "haproxy_backend_httpcheck":
        svc.update(_httpchk(str(value).split(), 0))
    elif key == "haproxy_backend_httpcheck_expect":
        words = str(value).split(None, 1)
        if len(words) == 2 and words[0] == "string":  # noqa: PLR2004
            svc["health_check_body"] = words[1].strip()
        else:
            svc["health_check_status"] = re.sub(r"^\s*status\s+", "", str(value)).strip()
    elif key == "haproxy_backend_options":
        for option in value:
            words = str(option).split()
            if words and words[0] == "httpchk":
                svc.update(_httpchk(words, 1))
            else:
                svc["backend_extra_lines"] = [
                    *svc.get("backend_extra_lines", []),
                    f"option {option}",
                ]
    elif key == "haproxy_bind":
        svc["external"] = external_vip in value
    else:
        return False
    return True


def _translate(raw: Mapping[str, Any], external_vip: str) -> tuple[dict[str, Any], list[str]]:
    svc: dict[str, Any] = {}
    unknown: list[str] = []
    if "haproxy_service_name" in raw:
        # OSA binds a service on both VIPs unless haproxy_bind says otherwise.
        svc["external"] = True
    for key, value in raw.items():
        if key in NATIVE_KEYS:
            svc[key] = value
        elif key in OSA_KEYS:
            svc[OSA_KEYS[key]] = value
        elif not _translate_osa_special(svc, key, value, external_vip):
            unknown.append(key)
    if "backend_port" not in svc and "frontend_port" in svc:
        svc["backend_port"] = svc["frontend_port"]
    return svc, unknown


def declarations(
    services: Iterable[Any],
    defaults: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    external_vip: str,
) -> list[dict[str, Any]]:
    """Each declaration in native form, with ``defaults`` filled in and two computed keys.

    ``_backends``: the inventory hosts behind it (``backend_hosts``, else the hosts of
    ``backend_group``); ``_unknown_keys``: keys neither native nor OpenStack-Ansible's, which
    :func:`problems` reports. A declaration that is not a dict keeps only its name.
    """
    out: list[dict[str, Any]] = []
    for raw in services:
        if not isinstance(raw, Mapping):
            out.append({"name": str(raw), "_backends": [], "_unknown_keys": ["(not a dict)"]})
            continue
        svc, unknown = _translate(raw, external_vip)
        full = {**defaults, **svc}
        if "backend_hosts" in full:
            backends = list(full["backend_hosts"])
        else:
            backends = list(groups.get(full.get("backend_group", ""), []))
        out.append({**full, "_backends": backends, "_unknown_keys": unknown})
    return out


def _as_port(value: Any) -> int:
    text = str(value)
    return int(text) if PORT_RE.match(text) else 0


def _service_problems(svc: Mapping[str, Any], all_hosts: Sequence[str]) -> list[str]:
    label = f"service {svc.get('name', '(no name)')}: "
    found: list[str] = []
    if svc.get("_unknown_keys"):
        found.append(label + "unknown keys " + ", ".join(map(str, svc["_unknown_keys"])))
    if "name" not in svc or not NAME_RE.match(str(svc["name"])):
        found.append(
            label + 'name must be lower case letters, digits, "-" and "_" (it names a file)'
        )
    for key in PORT_KEYS:
        if key in svc and not 0 < _as_port(svc[key]) < 65536:  # noqa: PLR2004
            found.append(f'{label}{key} must be a port number, not "{svc[key]}"')
    if "frontend_port" not in svc:
        found.append(label + "frontend_port is required")
    if "backend_group" not in svc and "backend_hosts" not in svc:
        found.append(label + "backend_group (an inventory group) or backend_hosts is required")
    for key, allowed in CHOICES.items():
        if key in svc and svc[key] not in allowed:
            found.append(f'{label}{key} must be one of {", ".join(allowed)}, not "{svc[key]}"')
    if "health_check_body" in svc and not BODY_RE.fullmatch(str(svc["health_check_body"])):
        found.append(
            f"{label}health_check_body must be text without quotes, backslashes or line breaks "
            f'(HAProxy matches it in the answer), not "{svc["health_check_body"]}"'
        )
    for key in ("backend_hosts", "backup_hosts"):
        if key not in svc:
            continue
        value = svc[key]
        hosts = [value] if isinstance(value, str) else list(value)
        unknown = list(dict.fromkeys(host for host in hosts if host not in all_hosts))
        if isinstance(value, str) or unknown:
            found.append(
                f"{label}{key} must be a list of inventory hosts; unknown: " + ", ".join(unknown)
            )
    return found


def problems(
    services: Sequence[Mapping[str, Any]],
    all_hosts: Sequence[str],
    stats_port: int | None = None,
) -> list[str]:
    """Every problem of the translated declarations, by service and key.

    ``stats_port``: the port of the statistics page, or None when it is off; no two frontends
    (and the statistics page) may share a port.
    """
    found: list[str] = []
    for svc in services:
        found.extend(_service_problems(svc, all_hosts))
    present = [svc for svc in services if svc.get("state") == "present"]
    ports = [_as_port(svc["frontend_port"]) for svc in present if "frontend_port" in svc]
    ports += [_as_port(svc["http_redirect_port"]) for svc in present if "http_redirect_port" in svc]
    if stats_port is not None:
        ports.append(_as_port(stats_port))
    names = Counter(str(svc.get("name", "")) for svc in services)
    for name, count in sorted(names.items()):
        if count > 1:
            found.append(f"service name {name} is declared {count} times")
    for port, count in sorted(Counter(ports).items()):
        if count > 1:
            found.append(
                f"port {port} is used {count} times (frontend_port, http_redirect_port and the "
                "statistics page haproxy_server_stats_port must differ)"
            )
    return found


def down_backends(stats_csv: str, services: Sequence[str]) -> list[str]:
    """What is wrong with the backends of ``services`` in HAProxy's statistics (``;csv``).

    A server whose status is DOWN (including "DOWN 1/2", on its way back up) or a service
    with no backend section at all is reported, naming the service and the server; servers
    in maintenance, without checks or of other proxies are not.
    """
    text = stats_csv.lstrip()
    if text.startswith("#"):
        text = text[1:].lstrip()
    seen: set[str] = set()
    found: list[str] = []
    for row in csv.DictReader(io.StringIO(text)):
        proxy = (row.get("pxname") or "").strip()
        if not proxy.endswith(BACKEND_SUFFIX):
            continue
        service = proxy[: -len(BACKEND_SUFFIX)]
        if service not in services:
            continue
        seen.add(service)
        server = (row.get("svname") or "").strip()
        status = (row.get("status") or "").strip()
        if server in ("FRONTEND", "BACKEND") or not status.startswith("DOWN"):
            continue
        detail = ", ".join(
            part
            for part in (
                (row.get("check_status") or "").strip(),
                (row.get("last_chk") or "").strip(),
            )
            if part
        )
        found.append(
            f"service {service}: server {server} is {status}" + (f" ({detail})" if detail else "")
        )
    for service in services:
        if service not in seen:
            found.append(f"service {service}: no backend {service}{BACKEND_SUFFIX} in HAProxy")
    return found

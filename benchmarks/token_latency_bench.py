"""Benchmark of Keystone's token latency through the internal VIP, with the internal TLS in use.

The figure behind "what does internal TLS cost": run it on a deployed lab, change the internal
TLS settings (e.g. ``galera_use_ssl: false`` in user_variables.yml, then ``galera.yml`` and
``keystone.yml``; or ``keystone_backend_tls: false``, then ``haproxy.yml`` and ``keystone.yml``),
run it again. As an operator would, from the deployment host:

1. the internal VIP, the admin password and the deployment CA are read from the configuration
   directory (``deployment_client.py``, shared with ``swift_throughput_bench.py``);
2. the internal TLS settings in force are read from ``user_variables.yml`` (``galera_use_ssl``,
   ``rabbitmq_use_ssl`` and ``keystone_backend_tls``, HAProxy to Keystone's uWSGI; true unless
   set false there) and printed with the figures;
3. ``--warmup`` tokens are issued and discarded, then ``--requests`` project-scoped tokens of
   the admin user are issued one after the other (``POST /v3/auth/tokens``: Keystone reads the
   user, its roles and the catalog from MariaDB), then the last one is validated as many times
   (``GET /v3/auth/tokens``), each on a new TLS connection to HAProxy, as a CLI makes them.

Usage (as root, on the deployment host; the test venv has PyYAML):

    .venv/bin/python benchmarks/token_latency_bench.py [--config-dir /etc/nimbus-lab/aio]
        [--requests 200] [--warmup 10] [--cacert FILE] [--json FILE]

It prints the Identity URL, the TLS settings and one row per phase: requests, wall seconds,
requests/s, latency p50, p95 and max in ms. The password and the tokens are never printed.
Exit status: 0 measured, 1 a request failed, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deployment_client as deployment

DEFAULT_CONFIG_DIR = "/etc/nimbus-lab/aio"
# Internal TLS switches of group_vars/all (true by default there).
TLS_SETTINGS = ("galera_use_ssl", "rabbitmq_use_ssl", "keystone_backend_tls")


class Phase(NamedTuple):
    requests: int
    wall_s: float
    per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    parser = deployment.deployment_parser(__doc__, DEFAULT_CONFIG_DIR, environ)
    parser.add_argument("--requests", type=deployment.positive_int, default=200)
    parser.add_argument("--warmup", type=int, default=10, help="tokens issued and not counted")
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error(f"--warmup must be 0 or more, not {args.warmup}")
    return args


def tls_settings(user_variables: Mapping[str, Any]) -> dict[str, bool]:
    """The internal TLS switches in force: true unless user_variables.yml sets them false."""
    settings = {}
    for name in TLS_SETTINGS:
        value = user_variables.get(name, True)
        if isinstance(value, str):
            value = value.strip().lower() not in {"false", "no", "off", "0", ""}
        settings[name] = bool(value)
    return settings


def phase(latencies_s: Sequence[float], wall_s: float) -> Phase:
    """Figures of one phase from the duration of each request and the wall time."""
    if not latencies_s:
        raise ValueError("no requests")
    if wall_s <= 0:
        raise ValueError(f"the wall time must be positive, not {wall_s}")
    ms = [s * 1000 for s in latencies_s]
    return Phase(
        requests=len(ms),
        wall_s=wall_s,
        per_s=len(ms) / wall_s,
        p50_ms=deployment.percentile(ms, 50),
        p95_ms=deployment.percentile(ms, 95),
        max_ms=max(ms),
    )


def format_report(auth_url: str, tls: Mapping[str, bool], phases: Mapping[str, Phase]) -> str:
    lines = [
        f"identity: {auth_url}",
        "internal TLS: " + ", ".join(f"{k}={'on' if v else 'off'}" for k, v in tls.items()),
        f"{'phase':<9} {'requests':>8} {'wall s':>8} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}",
    ]
    for name, p in phases.items():
        lines.append(
            f"{name:<9} {p.requests:>8} {p.wall_s:>8.1f} {p.per_s:>7.1f} "
            f"{p.p50_ms:>7.1f} {p.p95_ms:>7.1f} {p.max_ms:>7.1f}"
        )
    return "\n".join(lines)


def timed(calls: int, call: Any) -> tuple[list[float], float]:
    latencies = []
    started = time.perf_counter()
    for _call in range(calls):
        t0 = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t0)
    return latencies, time.perf_counter() - started


def benchmark(client: Any, auth_url: str, body: dict[str, Any], args: Any) -> dict[str, Phase]:
    for _token in range(args.warmup):
        client.token = ""
        client.authenticate(auth_url, body)

    def issue() -> None:
        client.token = ""
        client.authenticate(auth_url, body)

    issued, issue_wall = timed(args.requests, issue)

    def validate() -> None:
        headers = {"X-Subject-Token": client.token}
        with client.request("GET", f"{auth_url}/auth/tokens", headers=headers) as response:
            response.read()

    validated, validate_wall = timed(args.requests, validate)
    return {"issue": phase(issued, issue_wall), "validate": phase(validated, validate_wall)}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        vip = deployment.read_vip(args.config_dir / "openstack_user_config.yml")
        password = deployment.read_admin_password(args.config_dir / "user_secrets.yml")
        cafile = args.cacert or deployment.find_ca_cert(args.config_dir / "pki" / "ca")
        user_variables_file = args.config_dir / "user_variables.yml"
        user_variables = (
            deployment.load_yaml(user_variables_file, "the internal TLS settings")
            if user_variables_file.exists()
            else {}
        )
    except deployment.ConfigError as error:
        print(f"token_latency_bench: {error}", file=sys.stderr)
        return 2
    auth_url = f"https://{vip}:{deployment.KEYSTONE_PORT}/v3"
    body = deployment.auth_request(
        deployment.ADMIN_USER, password, deployment.ADMIN_PROJECT, deployment.ADMIN_DOMAIN
    )
    tls = tls_settings(user_variables)
    try:
        phases = benchmark(deployment.Client(cafile), auth_url, body, args)
    except deployment.BenchError as error:
        print(f"token_latency_bench: {error}", file=sys.stderr)
        return 1
    print(format_report(auth_url, tls, phases))
    if args.json:
        figures = {"identity": auth_url, "tls": tls}
        figures.update({name: p._asdict() for name, p in phases.items()})
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

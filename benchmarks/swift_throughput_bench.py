"""Benchmark of Swift object throughput: PUT and GET of 1 MiB objects through the internal VIP.

As an operator would, from the deployment host of a deployed lab:

1. the internal VIP (``global_overrides.internal_lb_vip_address`` of openstack_user_config.yml)
   and the admin password (``keystone_auth_admin_password`` of user_secrets.yml) are read from
   the configuration directory; TLS is verified with the deployment CA (``pki/ca/ca.pem``);
2. a project-scoped token of the admin user is asked of Keystone at
   ``https://VIP:5000/v3/auth/tokens``; the Swift URL is the ``object-store`` endpoint of the
   token's catalog (interface internal, else public);
3. a throw-away container ``nimbus-bench-<hex>`` is created, OBJECTS objects of SIZE random
   bytes are PUT by CONCURRENCY threads, then all are GET and checked (MD5 of the body and
   ETag equal to what was written);
4. the objects and the container are deleted, whatever happened (nothing is left behind).

Usage (as root, on the deployment host; the test venv has PyYAML):

    .venv/bin/python benchmarks/swift_throughput_bench.py [--config-dir /etc/nimbus-lab/ha]
        [--objects 50] [--size 1048576] [--concurrency 4] [--cacert FILE] [--json FILE]

It prints the Swift URL and the parameters, then one row for PUT and one for GET: objects,
total MB (10^6 bytes), wall seconds, MB/s and objects/s (over the wall time of the phase) and
the latency of one request (p50, p95, max, in ms; one TLS connection per request, as urllib
makes them). ``--json FILE`` also writes the figures. The password and the token are never
printed. Exit status: 0 measured, 1 a request or a check failed, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deployment_client
from deployment_client import (
    ADMIN_DOMAIN,
    ADMIN_PROJECT,
    ADMIN_USER,
    KEYSTONE_PORT,
    BenchError,
    ConfigError,
    auth_request,
    deployment_parser,
    find_ca_cert,
    percentile,
    positive_int,
    read_admin_password,
    read_vip,
)

DEFAULT_CONFIG_DIR = "/etc/nimbus-lab/ha"
MB = 1_000_000
CHUNK = 65536
CONTAINER_DELETE_TRIES = 5


class Sample(NamedTuple):
    """One request: the bytes of its object and its duration."""

    size: int
    seconds: float


class Stats(NamedTuple):
    objects: int
    total_mb: float
    wall_s: float
    mb_per_s: float
    objects_per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    parser = deployment_parser(__doc__, DEFAULT_CONFIG_DIR, environ)
    parser.add_argument("--objects", type=positive_int, default=50)
    parser.add_argument("--size", type=positive_int, default=1048576, help="bytes per object")
    parser.add_argument("--concurrency", type=positive_int, default=4)
    return parser.parse_args(argv)


def object_store_url(catalog: Iterable[Mapping[str, Any]]) -> str:
    """The URL of the object-store service of a token's catalog: internal, else public."""
    endpoints = [
        endpoint
        for service in catalog
        if service.get("type") == "object-store"
        for endpoint in service.get("endpoints") or ()
    ]
    for interface in ("internal", "public"):
        for endpoint in endpoints:
            if endpoint.get("interface") == interface and endpoint.get("url"):
                return str(endpoint["url"]).rstrip("/")
    if not endpoints:
        raise LookupError("the catalog has no object-store service (is Swift deployed?)")
    raise LookupError("the object-store service of the catalog has no internal or public URL")


def compute_stats(samples: Sequence[Sample], wall_seconds: float) -> Stats:
    """Figures of one phase: its requests (bytes, seconds) and the wall time they took."""
    if not samples:
        raise ValueError("no samples")
    if wall_seconds <= 0:
        raise ValueError(f"the wall time must be positive, not {wall_seconds}")
    total = sum(s.size for s in samples) / MB
    latencies = [s.seconds * 1000 for s in samples]
    return Stats(
        objects=len(samples),
        total_mb=total,
        wall_s=wall_seconds,
        mb_per_s=total / wall_seconds,
        objects_per_s=len(samples) / wall_seconds,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        max_ms=max(latencies),
    )


def format_report(swift_url: str, params: Mapping[str, Any], phases: Mapping[str, Stats]) -> str:
    """The printed table: the Swift URL, the parameters, one row per phase."""
    lines = [
        f"swift {swift_url}",
        " ".join(f"{key} {value}" for key, value in params.items()),
        f"{'op':<4} {'objects':>7} {'MB':>8} {'wall s':>8} {'MB/s':>8} {'obj/s':>8} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}",
    ]
    lines += [
        f"{name:<4} {s.objects:>7} {s.total_mb:>8.1f} {s.wall_s:>8.2f} {s.mb_per_s:>8.1f} "
        f"{s.objects_per_s:>8.1f} {s.p50_ms:>8.1f} {s.p95_ms:>8.1f} {s.max_ms:>8.1f}"
        for name, s in phases.items()
    ]
    return "\n".join(lines)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def payload(base: bytes, prefix: bytes) -> bytes:
    """An object's body: the shared random block with the object's own random prefix."""
    return (prefix + base[len(prefix) :])[: len(base)]


class Client(deployment_client.Client):
    """The deployment's HTTPS client with Swift's object requests."""

    def put(self, url: str, body: bytes, etag: str) -> float:
        headers = {"Content-Type": "application/octet-stream", "ETag": etag}
        started = time.perf_counter()
        with self.request("PUT", url, body, headers) as response:
            response.read()
            answered = response.headers.get("ETag", "").strip('"')
        seconds = time.perf_counter() - started
        if answered != etag:
            raise BenchError(f"PUT {url}: ETag {answered!r}, expected {etag}")
        return seconds

    def get(self, url: str, etag: str) -> tuple[int, float]:
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        started = time.perf_counter()
        with self.request("GET", url) as response:
            answered = response.headers.get("ETag", "").strip('"')
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        seconds = time.perf_counter() - started
        if digest.hexdigest() != etag or answered != etag:
            raise BenchError(
                f"GET {url}: read back MD5 {digest.hexdigest()} (ETag {answered!r}), {etag} written"
            )
        return size, seconds

    def delete(self, url: str) -> None:
        """Delete; an object or container already gone is fine."""
        try:
            with self.request("DELETE", url) as response:
                response.read()
        except BenchError as error:
            if "HTTP 404" not in str(error):
                raise


def run_phase(work: Any, items: Sequence[Any], concurrency: int) -> tuple[list[Sample], float]:
    """WORK(item) -> Sample for every item on CONCURRENCY threads; the samples and wall time."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        samples = list(pool.map(work, items))
    return samples, time.perf_counter() - started


def cleanup(
    client: Client, container_url: str, names: Sequence[str], concurrency: int
) -> list[str]:
    """Delete the objects and the container; the errors (empty when all is gone)."""
    errors = []

    def remove(name: str) -> None:
        try:
            client.delete(f"{container_url}/{name}")
        except BenchError as error:
            errors.append(str(error))

    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(remove, names))
    for attempt in range(1, CONTAINER_DELETE_TRIES + 1):
        try:
            client.delete(container_url)
            break
        except BenchError as error:  # the container listing may lag the deletes: 409 Conflict
            if "HTTP 409" not in str(error) or attempt == CONTAINER_DELETE_TRIES:
                errors.append(str(error))
                break
            time.sleep(2)
    return errors


def benchmark(client: Client, swift_url: str, args: argparse.Namespace) -> dict[str, Stats]:
    """Create the container, PUT then GET the objects, delete everything (always)."""
    container_url = f"{swift_url}/nimbus-bench-{secrets.token_hex(6)}"
    names = [f"object-{number:06d}" for number in range(args.objects)]
    base = secrets.token_bytes(args.size)
    prefixes = [secrets.token_bytes(16) for _name in names]
    etags = {
        name: md5_hex(payload(base, prefix)) for name, prefix in zip(names, prefixes, strict=True)
    }
    phases: dict[str, Stats] = {}
    try:
        with client.request("PUT", container_url) as response:
            response.read()

        def put(item: tuple[str, bytes]) -> Sample:
            name, prefix = item
            body = payload(base, prefix)
            return Sample(len(body), client.put(f"{container_url}/{name}", body, etags[name]))

        def get(name: str) -> Sample:
            return Sample(*client.get(f"{container_url}/{name}", etags[name]))

        phases["PUT"] = compute_stats(
            *run_phase(put, list(zip(names, prefixes, strict=True)), args.concurrency)
        )
        phases["GET"] = compute_stats(*run_phase(get, names, args.concurrency))
    finally:
        errors = cleanup(client, container_url, names, args.concurrency)
        for error in errors[:10]:
            print(f"swift_throughput_bench: cleanup: {error}", file=sys.stderr)
        if errors:
            print(
                f"swift_throughput_bench: {len(errors)} cleanup errors; delete {container_url} "
                "by hand",
                file=sys.stderr,
            )
    return phases


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config_dir: Path = args.config_dir
    try:
        vip = read_vip(config_dir / "openstack_user_config.yml")
        password = read_admin_password(config_dir / "user_secrets.yml")
        cacert = args.cacert or find_ca_cert(config_dir / "pki" / "ca")
        if not cacert.is_file():
            raise ConfigError(f"{cacert}: no such file (the CA certificate)")
        client = Client(cacert)
    except (ConfigError, ssl.SSLError) as error:
        print(f"swift_throughput_bench: {error}", file=sys.stderr)
        return 2
    auth_url = f"https://{vip}:{KEYSTONE_PORT}/v3"
    try:
        catalog = client.authenticate(
            auth_url, auth_request(ADMIN_USER, password, ADMIN_PROJECT, ADMIN_DOMAIN)
        )
        swift_url = object_store_url(catalog)
        host = urllib.parse.urlsplit(swift_url).hostname
        if host != vip:
            print(
                f"swift_throughput_bench: note: Swift at {host}, not the VIP {vip}", file=sys.stderr
            )
        phases = benchmark(client, swift_url, args)
    except (BenchError, LookupError) as error:
        print(f"swift_throughput_bench: {error}", file=sys.stderr)
        return 1
    params = {
        "objects": args.objects,
        "size": args.size,
        "concurrency": args.concurrency,
        "cacert": str(cacert),
    }
    print(format_report(swift_url, params, phases))
    if args.json:
        figures = {
            "swift_url": swift_url,
            **params,
            **{name.lower(): stats._asdict() for name, stats in phases.items()},
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

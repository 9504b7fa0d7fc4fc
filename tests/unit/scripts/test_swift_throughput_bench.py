"""benchmarks/swift_throughput_bench.py: its options, configuration, catalog, figures, table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "swift_throughput_bench.py"
_spec = importlib.util.spec_from_file_location("swift_throughput_bench", SCRIPT)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

Sample = bench.Sample


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (
            [],
            {},
            {"config_dir": Path("/etc/nimbus-lab/ha"), "objects": 50, "size": 1048576},
        ),
        (
            [],
            {"OSA_CONFIG_DIR": "/etc/nimbus-lab/aio"},
            {"config_dir": Path("/etc/nimbus-lab/aio")},
        ),
        ([], {"OSA_CONFIG_DIR": ""}, {"config_dir": Path("/etc/nimbus-lab/ha")}),
        (
            ["--config-dir", "/x", "--objects", "3", "--concurrency", "1", "--size", "10"],
            {"OSA_CONFIG_DIR": "/y"},
            {"config_dir": Path("/x"), "objects": 3, "concurrency": 1, "size": 10},
        ),
        (
            ["--cacert", "/etc/ssl/nimbus/ca.pem", "--json", "out.json"],
            {},
            {"cacert": Path("/etc/ssl/nimbus/ca.pem"), "json": Path("out.json"), "concurrency": 4},
        ),
    ],
)
def test_parse_args(argv, environ, expected):
    args = vars(bench.parse_args(argv, environ))
    assert {key: args[key] for key in expected} == expected


@pytest.mark.parametrize("argv", [["--objects", "0"], ["--concurrency", "-1"], ["--size", "x"]])
def test_parse_args_refuses_bad_numbers(argv):
    with pytest.raises(SystemExit):
        bench.parse_args(argv, {})


def test_read_vip_and_password(tmp_path):
    config = tmp_path / "openstack_user_config.yml"
    config.write_text(
        "cidr_networks: {management: 172.29.236.0/22}\n"
        "global_overrides:\n  internal_lb_vip_address: 172.29.236.109\n"
        "  external_lb_vip_address: 172.29.236.110\n"
    )
    secrets = tmp_path / "user_secrets.yml"
    secrets.write_text("---\nkeystone_auth_admin_password: s3cr3t\nother_password: x\n")
    assert bench.read_vip(config) == "172.29.236.109"
    assert bench.read_admin_password(secrets) == "s3cr3t"


@pytest.mark.parametrize(
    ("reader", "text", "message"),
    [
        ("read_vip", None, "no such file.*global_overrides.internal_lb_vip_address"),
        ("read_vip", "global_overrides: {}\n", "no global_overrides.internal_lb_vip_address"),
        ("read_vip", "global_overrides: [a]\n", "no global_overrides.internal_lb_vip_address"),
        ("read_vip", "- a list\n", "not a YAML mapping"),
        ("read_vip", "a: [unclosed\n", "not valid YAML"),
        ("read_admin_password", None, "no such file.*keystone_auth_admin_password"),
        ("read_admin_password", "other: x\n", "no keystone_auth_admin_password"),
        ("read_admin_password", "keystone_auth_admin_password: ''\n", "or it is empty"),
        ("read_admin_password", "$ANSIBLE_VAULT;1.1;AES256\n6162\n", "ansible-vault"),
    ],
)
def test_config_errors_name_the_file_and_the_key(tmp_path, reader, text, message):
    path = tmp_path / "config.yml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(bench.ConfigError, match=message) as raised:
        getattr(bench, reader)(path)
    assert str(path) in str(raised.value)


def test_find_ca_cert_picks_the_certificate_not_the_key(tmp_path):
    (tmp_path / "ca.key").write_text("-----BEGIN EC PRIVATE KEY-----\n")
    (tmp_path / "deployment.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    assert bench.find_ca_cert(tmp_path) == tmp_path / "deployment.crt"
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert bench.find_ca_cert(tmp_path) == tmp_path / "ca.pem"


def test_find_ca_cert_errors(tmp_path):
    (tmp_path / "ca.key").write_text("-----BEGIN EC PRIVATE KEY-----\n")
    with pytest.raises(bench.ConfigError, match=r"found: none\); use --cacert"):
        bench.find_ca_cert(tmp_path)
    with pytest.raises(bench.ConfigError, match="no such directory"):
        bench.find_ca_cert(tmp_path / "missing")


def service(kind, **urls):
    return {
        "type": kind,
        "name": kind,
        "endpoints": [
            {"interface": interface, "region": "RegionOne", "url": url}
            for interface, url in urls.items()
        ],
    }


SWIFT = "https://172.29.236.109:8080/v1/AUTH_0123"


@pytest.mark.parametrize(
    ("catalog", "url"),
    [
        (
            [
                service("identity", internal="https://172.29.236.109:5000"),
                service(
                    "object-store",
                    public="https://172.29.236.110:8080/v1/AUTH_0123",
                    internal=SWIFT,
                ),
            ],
            SWIFT,
        ),
        ([service("object-store", admin="https://a/", public=SWIFT + "/")], SWIFT),
    ],
)
def test_object_store_url(catalog, url):
    assert bench.object_store_url(catalog) == url


@pytest.mark.parametrize(
    ("catalog", "message"),
    [
        ([], "no object-store service"),
        ([service("identity", internal="https://vip:5000")], "no object-store service"),
        ([service("object-store", admin=SWIFT)], "no internal or public URL"),
    ],
)
def test_object_store_url_absent(catalog, message):
    with pytest.raises(LookupError, match=message):
        bench.object_store_url(catalog)


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([5.0], 95, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0, 5.0], 50, 3.0),
        (list(range(1, 101)), 95, 95.05),
        ([1.0, 10.0], 100, 10.0),
        ([1.0, 10.0], 0, 1.0),
    ],
)
def test_percentile(values, percent, expected):
    assert bench.percentile(values, percent) == pytest.approx(expected)


def test_compute_stats():
    samples = [Sample(1048576, seconds / 1000) for seconds in (10, 20, 30, 40, 1000)]
    stats = bench.compute_stats(samples, 2.0)
    assert stats.objects == 5
    assert stats.total_mb == pytest.approx(5.24288)
    assert stats.mb_per_s == pytest.approx(2.62144)
    assert stats.objects_per_s == pytest.approx(2.5)
    assert stats.p50_ms == pytest.approx(30.0)
    assert stats.p95_ms == pytest.approx(808.0)
    assert stats.max_ms == pytest.approx(1000.0)
    assert json.loads(json.dumps(stats._asdict()))["wall_s"] == 2.0


@pytest.mark.parametrize(("samples", "wall"), [([], 1.0), ([Sample(1, 0.1)], 0.0)])
def test_compute_stats_refuses_empty_phases(samples, wall):
    with pytest.raises(ValueError, match=r"no samples|wall time"):
        bench.compute_stats(samples, wall)


def test_format_report():
    put = bench.compute_stats([Sample(1048576, 0.05)] * 50, 1.25)
    get = bench.compute_stats([Sample(1048576, 0.02)] * 50, 0.5)
    text = bench.format_report(
        SWIFT, {"objects": 50, "size": 1048576, "concurrency": 4}, {"PUT": put, "GET": get}
    )
    lines = text.splitlines()
    assert lines[0] == f"swift {SWIFT}"
    assert lines[1] == "objects 50 size 1048576 concurrency 4"
    assert " ".join(lines[2].split()) == "op objects MB wall s MB/s obj/s p50 ms p95 ms max ms"
    assert lines[3].split() == ["PUT", "50", "52.4", "1.25", "41.9", "40.0", "50.0", "50.0", "50.0"]
    assert lines[4].split() == [
        "GET",
        "50",
        "52.4",
        "0.50",
        "104.9",
        "100.0",
        "20.0",
        "20.0",
        "20.0",
    ]
    assert len({len(line) for line in lines[2:]}) == 1  # aligned columns


@pytest.mark.parametrize("size", [1, 15, 16, 17, 1048576])
def test_payload_keeps_the_size_and_differs_per_object(size):
    base = bytes(size)
    first, second = bench.payload(base, b"a" * 16), bench.payload(base, b"b" * 16)
    assert len(first) == len(second) == size
    assert first != second

"""benchmarks/token_latency_bench.py: its options, the TLS settings it reports, its figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "token_latency_bench.py"
_spec = importlib.util.spec_from_file_location("token_latency_bench", SCRIPT)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {}, {"config_dir": Path("/etc/nimbus-lab/aio"), "requests": 200, "warmup": 10}),
        ([], {"OSA_CONFIG_DIR": "/etc/nimbus-lab/ha"}, {"config_dir": Path("/etc/nimbus-lab/ha")}),
        (["--requests", "5", "--warmup", "0"], {}, {"requests": 5, "warmup": 0}),
    ],
)
def test_options(argv, environ, expected):
    args = vars(bench.parse_args(argv, environ))
    assert {k: args[k] for k in expected} == expected


@pytest.mark.parametrize("argv", [["--requests", "0"], ["--warmup", "-1"], ["--requests", "x"]])
def test_bad_options_are_refused(argv):
    with pytest.raises(SystemExit):
        bench.parse_args(argv, {})


@pytest.mark.parametrize(
    ("user_variables", "expected"),
    [
        ({}, {"galera_use_ssl": True, "rabbitmq_use_ssl": True, "keystone_backend_tls": True}),
        (
            {"galera_use_ssl": False},
            {"galera_use_ssl": False, "rabbitmq_use_ssl": True, "keystone_backend_tls": True},
        ),
        (
            {"galera_use_ssl": "no", "rabbitmq_use_ssl": "True"},
            {"galera_use_ssl": False, "rabbitmq_use_ssl": True, "keystone_backend_tls": True},
        ),
        (
            {"rabbitmq_use_ssl": "false"},
            {"galera_use_ssl": True, "rabbitmq_use_ssl": False, "keystone_backend_tls": True},
        ),
        (
            {"keystone_backend_tls": False},
            {"galera_use_ssl": True, "rabbitmq_use_ssl": True, "keystone_backend_tls": False},
        ),
    ],
)
def test_tls_settings(user_variables, expected):
    assert bench.tls_settings(user_variables) == expected


def test_phase_figures():
    p = bench.phase([0.010, 0.020, 0.030, 0.040], wall_s=0.2)
    assert p.requests == 4
    assert p.per_s == pytest.approx(20.0)
    assert p.p50_ms == pytest.approx(25.0)
    assert p.p95_ms == pytest.approx(38.5)
    assert p.max_ms == pytest.approx(40.0)


@pytest.mark.parametrize(("latencies", "wall"), [([], 1.0), ([0.1], 0.0)])
def test_phase_needs_requests_and_time(latencies, wall):
    with pytest.raises(ValueError):
        bench.phase(latencies, wall)


def test_report_names_the_settings_and_every_phase():
    report = bench.format_report(
        "https://172.29.236.252:5000/v3",
        {"galera_use_ssl": True, "rabbitmq_use_ssl": False},
        {"issue": bench.phase([0.05], 0.05), "validate": bench.phase([0.01], 0.01)},
    )
    lines = report.splitlines()
    assert lines[0] == "identity: https://172.29.236.252:5000/v3"
    assert lines[1] == "internal TLS: galera_use_ssl=on, rabbitmq_use_ssl=off"
    assert lines[3].split()[:2] == ["issue", "1"]
    assert lines[4].split()[:2] == ["validate", "1"]


def test_a_configuration_directory_without_secrets_is_a_configuration_error(tmp_path, capsys):
    (tmp_path / "openstack_user_config.yml").write_text(
        "global_overrides:\n  internal_lb_vip_address: 172.29.236.252\n"
    )
    assert bench.main(["--config-dir", str(tmp_path)]) == 2
    assert "user_secrets.yml: no such file" in capsys.readouterr().err

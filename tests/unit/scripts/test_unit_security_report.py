"""benchmarks/unit_security_report.py: hosts, the units kept, systemd-analyze's output read,
and the report's summaries."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "benchmarks" / "unit_security_report.py"
_spec = importlib.util.spec_from_file_location("unit_security_report", SCRIPT)
assert _spec and _spec.loader
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

Result = report.Result

# systemd 257 (Debian 13), several units: each unit's details, then the summary table.
SECURITY_OUTPUT = """\
  NAME                                      DESCRIPTION                                   EXPOSURE
\u2717 SystemCallFilter=~@resources              System call deny list defined for service     0.2
\u2713 User=/DynamicUser=                        Service runs under a static non-root user
\u2717 RestrictAddressFamilies=~AF_(INET|INET6)  Service may allocate Internet sockets         0.3

\u2192 Overall exposure level for chrony.service: 3.5 OK :-)

  NAME                                      DESCRIPTION                                   EXPOSURE
  SupplementaryGroups=                      Service runs as root, option does not matter
\u2717 PrivateNetwork=                           Service has access to the host's network      0.5

\u2192 Overall exposure level for haproxy.service: 9.6 UNSAFE :-{

  NAME                                      DESCRIPTION                                   EXPOSURE

\u2192 Overall exposure level for mariadb.service: 8.6 EXPOSED :-(

UNIT                   EXPOSURE PREDICATE HAPPY
chrony.service              3.5 OK        :-)
haproxy.service             9.6 UNSAFE    :-{
keystone-uwsgi.service      5.2 MEDIUM    \U0001f610
mariadb.service             8.6 EXPOSED   :-(
"""

LIST_UNITS_OUTPUT = """\
chrony.service           loaded active running chrony, an NTP client/server
console-getty.service    loaded active running Console Getty
haproxy.service          loaded active running HAProxy Load Balancer
galera-clustercheck@3-172.29.236.111:9200-172.29.236.101:51234.service loaded active running x
keystone-uwsgi.service   loaded active running Identity API (keystone, uWSGI)
mariadb.service          loaded active running MariaDB 11.8.9 database server
ovn-northd.service       loaded active running OVN northd
ssh.service              loaded active running OpenBSD Secure Shell server
systemd-journald.service loaded active running Journal Service
"""

RESULTS = [
    Result("infra1", "haproxy.service", 9.6, "UNSAFE"),
    Result("infra1", "chrony.service", 3.5, "OK"),
    Result("infra2", "haproxy.service", 9.6, "UNSAFE"),
    Result("infra2", "chrony.service", 3.5, "OK"),
    Result("compute1", "chrony.service", 2.5, "OK"),
    Result("infra1", "mariadb.service", 8.6, "EXPOSED"),
]


def test_parse_inventory_of_the_lab():
    text = """\
# Lab scenario ha: its hosts, for smoke tests (written by lab.py).
[ha]
infra1 ansible_host=172.29.236.111 ansible_user=root
compute1 ansible_host=172.29.236.121 ansible_user=admin  # a comment
local1

[ha:vars]
ansible_python_interpreter=/usr/bin/python3

[infra]
infra1 ansible_host=172.29.236.111
"""
    assert report.parse_inventory(text) == [
        report.Host("infra1", "172.29.236.111", "root"),
        report.Host("compute1", "172.29.236.121", "admin"),
        report.Host("local1", "local1", "root"),
    ]


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("infra1=172.29.236.111", report.Host("infra1", "172.29.236.111")),
        ("a=b=c", report.Host("a", "b=c")),
    ],
)
def test_parse_host_option(value, host):
    assert report.parse_host_option(value) == host


@pytest.mark.parametrize("value", ["172.29.236.111", "=172.29.236.111", "infra1="])
def test_parse_host_option_refuses(value):
    with pytest.raises(report.argparse.ArgumentTypeError, match="NAME=ADDR"):
        report.parse_host_option(value)


@pytest.mark.parametrize(
    ("patterns", "kept"),
    [
        (
            report.DEFAULT_PATTERNS,
            [
                "chrony.service",
                "galera-clustercheck@3-172.29.236.111:9200-172.29.236.101:51234.service",
                "haproxy.service",
                "keystone-uwsgi.service",
                "mariadb.service",
                "ovn-northd.service",
            ],
        ),
        (("ssh", "maria*"), ["mariadb.service", "ssh.service"]),
        (("haproxy.service",), []),  # patterns name units without .service
        (None, sorted(report.running_services(LIST_UNITS_OUTPUT))),
    ],
)
def test_keep_units(patterns, kept):
    units = report.running_services(LIST_UNITS_OUTPUT)
    assert len(units) == 9
    assert report.keep_units(units, patterns) == kept


def role_units() -> set[str]:
    """Unit names the roles declare: *_service_name defaults and the nova and swift lists."""
    names = set()
    for path in [*REPO.glob("roles/*/defaults/main.yml"), *REPO.glob("roles/*/vars/main.yml")]:
        for key, value in (yaml.safe_load(path.read_text()) or {}).items():
            if key.endswith("_service_name") and isinstance(value, str) and "{{" not in value:
                names.add(value)
            if key in ("_nova_uwsgi_apps", "_nova_daemons", "_swift_storage_units"):
                names.update(item["name"] for item in value)
    return names


def test_default_patterns_cover_the_roles_units():
    units = role_units()
    assert {"keystone-uwsgi", "nova-compute", "swift-object-server", "neutron-api"} <= units
    services = [f"{unit}.service" for unit in units]
    assert report.keep_units(services, report.DEFAULT_PATTERNS) == sorted(services)


def test_parse_security_several_units():
    assert report.parse_security(SECURITY_OUTPUT) == {
        "chrony.service": (3.5, "OK"),
        "haproxy.service": (9.6, "UNSAFE"),
        "keystone-uwsgi.service": (5.2, "MEDIUM"),
        "mariadb.service": (8.6, "EXPOSED"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A single unit: no summary table, only its overall line.
        (
            "  NAME  DESCRIPTION  EXPOSURE\n\n"
            "\u2192 Overall exposure level for chrony.service: 3.5 OK \U0001f642\n",
            {"chrony.service": (3.5, "OK")},
        ),
        # An instance name with colons; a unit not found is only a message.
        (
            "Unit nonexist.service not found, cannot analyze.\n"
            "\u2192 Overall exposure level for "
            "galera-clustercheck@0-10.0.0.1:9200-10.0.0.2:4.service: 10.0 DANGEROUS :-{\n",
            {"galera-clustercheck@0-10.0.0.1:9200-10.0.0.2:4.service": (10.0, "DANGEROUS")},
        ),
        # Rows before the summary header are details, not units.
        ("x.service  0.2 OK\n", {}),
        ("", {}),
    ],
)
def test_parse_security_other_forms(text, expected):
    assert report.parse_security(text) == expected


@pytest.mark.parametrize(
    ("found", "merged"),
    [
        (
            {
                "galera-clustercheck@3-172.29.236.111:9200-172.29.236.101:51234.service": (
                    1.0,
                    "OK",
                ),
                "galera-clustercheck@4-172.29.236.111:9200-172.29.236.102:40400.service": (
                    1.2,
                    "OK",
                ),
                "mariadb.service": (8.6, "EXPOSED"),
            },
            {"galera-clustercheck@.service": (1.2, "OK"), "mariadb.service": (8.6, "EXPOSED")},
        ),
        ({"getty@tty1.service": (9.6, "UNSAFE")}, {"getty@.service": (9.6, "UNSAFE")}),
        ({"chrony.service": (3.5, "OK")}, {"chrony.service": (3.5, "OK")}),
    ],
)
def test_instances_reported_under_their_template(found, merged):
    assert report.by_template(found) == merged


def test_summarize_per_unit_most_exposed_first():
    assert report.summarize(RESULTS) == [
        report.UnitSummary("haproxy.service", ("infra1", "infra2"), 9.6, 9.6),
        report.UnitSummary("mariadb.service", ("infra1",), 8.6, 8.6),
        report.UnitSummary("chrony.service", ("compute1", "infra1", "infra2"), 2.5, 3.5),
    ]


def test_totals():
    total = report.totals([*RESULTS, Result("infra3", "x.service", 0.5, "WEIRD")])
    assert (total.rows, total.hosts, total.units) == (7, 4, 4)
    assert total.mean == pytest.approx((9.6 * 2 + 3.5 * 2 + 2.5 + 8.6 + 0.5) / 7)
    assert list(total.ratings.items()) == [("OK", 3), ("EXPOSED", 1), ("UNSAFE", 2), ("WEIRD", 1)]
    assert report.totals([]) == report.Totals(0, 0, 0, 0.0, {})


def test_compare_rows_in_both_largest_reduction_first():
    after = [
        Result("infra1", "haproxy.service", 4.1, "OK"),
        Result("infra1", "chrony.service", 3.5, "OK"),
        Result("infra2", "chrony.service", 3.9, "OK"),
        Result("infra3", "haproxy.service", 4.1, "OK"),  # not before
    ]
    changes = report.compare(RESULTS, after)
    assert [(c.host, c.unit, c.before, c.after, c.diff) for c in changes] == [
        ("infra1", "haproxy.service", 9.6, 4.1, -5.5),
        ("infra1", "chrony.service", 3.5, 3.5, 0.0),
        ("infra2", "chrony.service", 3.5, 3.9, 0.4),
    ]
    lines = report.compare_lines(RESULTS, after, "before.json")
    assert lines[0] == "Compared with before.json: 3 units in both, 3 only before, 1 only now"
    assert lines[2].split() == ["infra1", "haproxy.service", "9.6", "4.1", "-5.5"]
    assert lines[-1] == "Mean exposure of these units: 5.53 -> 3.83 (-1.70)"


def test_format_table_aligns_and_right_aligns_numbers():
    assert report.format_table(
        ("HOST", "UNIT", "EXPOSURE", "RATING"),
        [
            ("infra1", "haproxy.service", "9.6", "UNSAFE"),
            ("compute12", "ovn-controller", "10.0", ""),
        ],
        right=(2,),
    ) == [
        "HOST       UNIT             EXPOSURE  RATING",
        "infra1     haproxy.service       9.6  UNSAFE",
        "compute12  ovn-controller       10.0",
    ]


def test_report_lines_and_json_round_trip():
    lines = report.report_lines(RESULTS)
    assert lines[1].split() == ["infra1", "haproxy.service", "9.6", "UNSAFE"]
    assert lines[-1] == (
        "Totals: 6 units on 3 hosts (3 distinct), mean exposure 6.22; OK 3, EXPOSED 1, UNSAFE 2"
    )
    assert "Per unit:" in lines
    rows = [r._asdict() for r in report.sort_results(RESULTS)]
    assert report.load_results(rows) == report.sort_results(RESULTS)
    with pytest.raises(ValueError, match="expected a list"):
        report.load_results({"rows": rows})

"""Table tests of plugins/plugin_utils/nova_cells.py and filter nimbus.cloud.nova_cell_updates."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nimbus.cloud.plugins.filter.nova_cell_updates import FilterModule
from ansible_collections.nimbus.cloud.plugins.plugin_utils.nova_cells import (
    NovaCellsError,
    cell_updates,
    parse_cells,
)

UUID0 = "00000000-0000-0000-0000-000000000000"
UUID1 = "4d2c3b4e-8a51-4f6c-9d0e-2f4b5e6a7c81"
DB0 = "mysql+pymysql://nova_cell0:s3cr%2Ft@172.29.236.101:3306/nova_cell0?charset=utf8"
DB1 = "mysql+pymysql://nova:pw@172.29.236.101:3306/nova?charset=utf8"
MQ = "rabbit://nova:pw@172.29.236.100:5671/nova"
TLS = "&ssl_ca=/usr/local/share/ca-certificates/nimbus-ca.crt"


def listing(*rows: tuple[str, str, str, str]) -> str:
    """A list_cells --verbose table as nova-manage prints it (PrettyTable)."""
    header = ("Name", "UUID", "Transport URL", "Database Connection", "Disabled")
    table = [header] + [(*row, "False") for row in rows]
    widths = [max(len(r[i]) for r in table) + 2 for i in range(len(header))]
    rule = "+" + "+".join("-" * w for w in widths) + "+"

    def line(row):
        return "|" + "|".join(cell.center(w) for cell, w in zip(row, widths, strict=True)) + "|"

    return "\n".join([rule, line(header), rule, *(line(r) for r in table[1:]), rule])


TWO_CELLS = listing(("cell0", UUID0, "none:///", DB0), ("cell1", UUID1, MQ, DB1))
WANTED = {
    "cell0": {"transport_url": "none:///", "database_connection": DB0},
    "cell1": {"transport_url": MQ, "database_connection": DB1},
}


def test_parse_reads_every_column():
    assert parse_cells(TWO_CELLS) == [
        {"name": "cell0", "uuid": UUID0, "transport_url": "none:///", "database_connection": DB0},
        {"name": "cell1", "uuid": UUID1, "transport_url": MQ, "database_connection": DB1},
    ]


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        pytest.param(WANTED, [], id="mappings as wanted: nothing to update"),
        pytest.param(
            {**WANTED, "cell1": {"transport_url": MQ, "database_connection": DB1 + TLS}},
            [
                {
                    "name": "cell1",
                    "uuid": UUID1,
                    "transport_url": MQ,
                    "database_connection": DB1 + TLS,
                }
            ],
            id="database connection with TLS: cell1 updated",
        ),
        pytest.param(
            {
                "cell0": {"transport_url": "none:///", "database_connection": DB0 + TLS},
                "cell1": {"transport_url": MQ, "database_connection": DB1 + TLS},
            },
            [
                {
                    "name": "cell0",
                    "uuid": UUID0,
                    "transport_url": "none:///",
                    "database_connection": DB0 + TLS,
                },
                {
                    "name": "cell1",
                    "uuid": UUID1,
                    "transport_url": MQ,
                    "database_connection": DB1 + TLS,
                },
            ],
            id="both cells, in the listing's order",
        ),
        pytest.param(
            {"cell1": {"transport_url": MQ.replace("5671", "5672"), "database_connection": DB1}},
            [
                {
                    "name": "cell1",
                    "uuid": UUID1,
                    "transport_url": MQ.replace("5671", "5672"),
                    "database_connection": DB1,
                }
            ],
            id="transport URL changed; cell0 not wanted: left alone",
        ),
        pytest.param(
            {"cell2": {"transport_url": MQ, "database_connection": DB1}},
            [],
            id="a cell the listing lacks is not an update",
        ),
    ],
)
def test_cell_updates(wanted, expected):
    assert cell_updates(TWO_CELLS, wanted) == expected


@pytest.mark.parametrize(
    ("text", "wanted", "message"),
    [
        pytest.param("", WANTED, "printed no table", id="empty output"),
        pytest.param(
            "| Name | UUID |\n| cell0 | x |", WANTED, "no column Transport URL", id="not verbose"
        ),
        pytest.param(
            TWO_CELLS.replace("|\n| cell1", "| extra |\n| cell1"),
            WANTED,
            "columns, the header",
            id="ragged row",
        ),
        pytest.param(
            TWO_CELLS,
            {"cell1": {"database_connection": DB1}},
            "cell cell1: give exactly transport_url and database_connection",
            id="wanted without a transport URL",
        ),
    ],
)
def test_errors_name_the_problem_and_never_a_url(text, wanted, message):
    with pytest.raises(NovaCellsError, match=message) as err:
        cell_updates(text, wanted)
    assert "pw@" not in str(err.value) and "s3cr" not in str(err.value)


def test_filter_wraps_errors():
    flt = FilterModule().filters()["nova_cell_updates"]
    assert flt(TWO_CELLS, WANTED) == []
    with pytest.raises(AnsibleFilterError, match="nova_cell_updates: nova-manage"):
        flt("", WANTED)
    with pytest.raises(AnsibleFilterError, match="a mapping"):
        flt(TWO_CELLS, [])

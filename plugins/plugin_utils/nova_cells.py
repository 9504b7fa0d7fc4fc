# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Nova's cell mappings: read ``nova-manage cell_v2 list_cells --verbose`` and say which cells
must point at other URLs (filter nimbus.cloud.nova_cell_updates)."""

from __future__ import annotations

from collections.abc import Mapping

_COLUMNS = {
    "Name": "name",
    "UUID": "uuid",
    "Transport URL": "transport_url",
    "Database Connection": "database_connection",
}


class NovaCellsError(ValueError):
    """The listing or the wanted URLs cannot be read. The message never quotes a URL: the URLs
    carry passwords."""


def parse_cells(listing: str) -> list[dict[str, str]]:
    """The rows of ``list_cells --verbose`` (a PrettyTable), each as name, uuid,
    transport_url, database_connection."""
    rows = [
        [cell.strip() for cell in line.strip()[1:-1].split("|")]
        for line in listing.splitlines()
        if line.strip().startswith("|") and line.strip().endswith("|")
    ]
    if not rows:
        raise NovaCellsError("nova-manage cell_v2 list_cells printed no table")
    header, body = rows[0], rows[1:]
    missing = [name for name in _COLUMNS if name not in header]
    if missing:
        raise NovaCellsError(
            f"nova-manage cell_v2 list_cells --verbose has no column {', '.join(missing)}"
            f" (columns: {', '.join(header)})"
        )
    index = {key: header.index(name) for name, key in _COLUMNS.items()}
    cells = []
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise NovaCellsError(
                f"row {number} of nova-manage cell_v2 list_cells has {len(row)} columns,"
                f" the header {len(header)}"
            )
        cells.append({key: row[i] for key, i in index.items()})
    return cells


def cell_updates(listing: str, wanted: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """The cells of ``wanted`` (name -> transport_url, database_connection) whose mapping
    differs, each with its uuid and the wanted URLs, in the listing's order. A cell the listing
    lacks is not an update (create it first); cells not in ``wanted`` are left alone."""
    for name, urls in wanted.items():
        if not isinstance(urls, Mapping) or set(urls) != {"transport_url", "database_connection"}:
            raise NovaCellsError(f"cell {name}: give exactly transport_url and database_connection")
    updates = []
    for cell in parse_cells(listing):
        urls = wanted.get(cell["name"])
        if urls is None:
            continue
        if (cell["transport_url"], cell["database_connection"]) != (
            urls["transport_url"],
            urls["database_connection"],
        ):
            updates.append(
                {
                    "name": cell["name"],
                    "uuid": cell["uuid"],
                    "transport_url": urls["transport_url"],
                    "database_connection": urls["database_connection"],
                }
            )
    return updates

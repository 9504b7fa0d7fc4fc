"""Write the subunit v2 streams of cases.yml with python-subunit's own writer.

The parser under test (plugins/plugin_utils/tempest_results.py) must read what the real
writer produces, so the streams are made by it, not by a writer of ours:

    python3 -m venv /tmp/subunit && /tmp/subunit/bin/pip install python-subunit==1.4.6
    /tmp/subunit/bin/python tests/unit/plugins/plugin_utils/tempest_results/make_streams.py

Each case of cases.yml with ``events`` gets ``streams/<id>.subunit.b64`` (base64 text); an event
is a StreamResult.status() call (``file`` is written as UTF-8, ``time`` is seconds since the epoch).
"""

from __future__ import annotations

import base64
import datetime
import io
from pathlib import Path

import yaml
from subunit.v2 import StreamResultToBytes

HERE = Path(__file__).parent


def main() -> None:
    cases = yaml.safe_load((HERE / "cases.yml").read_text())["cases"]
    (HERE / "streams").mkdir(exist_ok=True)
    for case in cases:
        if "events" not in case:
            continue
        out = io.BytesIO()
        writer = StreamResultToBytes(out)
        for event in case["events"]:
            kwargs = {k: v for k, v in event.items() if k not in ("file", "time")}
            if "file" in event:
                kwargs["file_bytes"] = event["file"].encode()
                kwargs.setdefault("mime_type", "text/plain;charset=utf8")
            if "time" in event:
                kwargs["timestamp"] = datetime.datetime.fromtimestamp(
                    event["time"], tz=datetime.UTC
                )
            if "test_tags" in kwargs:
                kwargs["test_tags"] = set(kwargs["test_tags"])
            writer.status(**kwargs)
        encoded = base64.b64encode(out.getvalue()).decode()
        (HERE / "streams" / f"{case['id']}.subunit.b64").write_text(
            "".join(encoded[i : i + 76] + "\n" for i in range(0, len(encoded), 76))
        )


if __name__ == "__main__":
    main()

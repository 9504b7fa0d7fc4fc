"""oslomsg_url: one row per input shape."""

import pytest

from ansible_collections.nimbus.cloud.plugins.filter.oslomsg import OslomsgUrlError, oslomsg_url

PASSWORD = "not-a-secret"  # noqa: S105 -- a test value

CASES = [
    (["10.0.0.1"], "nova", "pw", 5671, "/nova", "rabbit://nova:pw@10.0.0.1:5671/nova"),
    (
        ["10.0.0.1", "10.0.0.2"],
        "nova",
        "pw",
        "5671",
        "nova",
        "rabbit://nova:pw@10.0.0.1:5671,nova:pw@10.0.0.2:5671/nova",
    ),
    (["fd00::1"], "u", "p", 5672, "/v", "rabbit://u:p@[fd00::1]:5672/v"),
    (["h"], "u", "p/a:s@s%", 5671, "/v", "rabbit://u:p%2Fa%3As%40s%25@h:5671/v"),
]


@pytest.mark.parametrize("case", CASES)
def test_oslomsg_url(case):
    hosts, user, password, port, vhost, expected = case
    assert oslomsg_url(hosts, userid=user, password=password, port=port, vhost=vhost) == expected


@pytest.mark.parametrize(
    ("hosts", "port", "message"),
    [([], 5671, "non-empty list"), ("10.0.0.1", 5671, "non-empty list"), (["h"], 0, "1-65535")],
)
def test_oslomsg_url_errors(hosts, port, message):
    with pytest.raises(OslomsgUrlError, match=message):
        oslomsg_url(hosts, userid="u", password=PASSWORD, port=port, vhost="/v")

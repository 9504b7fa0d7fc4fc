"""oslomsg_url: one row per input shape."""

from urllib.parse import unquote, urlsplit

import pytest

from ansible_collections.nimbus.cloud.plugins.filter.oslomsg import OslomsgUrlError, oslomsg_url

PASSWORD = "not-a-secret"  # noqa: S105 -- a test value

CASES = [
    (["10.0.0.1"], "nova", "pw", 5671, "/nova", "rabbit://nova:pw@10.0.0.1:5671/%2Fnova"),
    (
        ["10.0.0.1", "10.0.0.2"],
        "nova",
        "pw",
        "5671",
        "nova",
        "rabbit://nova:pw@10.0.0.1:5671,nova:pw@10.0.0.2:5671/nova",
    ),
    (["fd00::1"], "u", "p", 5672, "/v", "rabbit://u:p@[fd00::1]:5672/%2Fv"),
    (["h"], "u", "p/a:s@s%", 5671, "/v", "rabbit://u:p%2Fa%3As%40s%25@h:5671/%2Fv"),
    (["h"], "u", "p", 5671, "/", "rabbit://u:p@h:5671/%2F"),
]


@pytest.mark.parametrize("case", CASES)
def test_oslomsg_url(case):
    hosts, user, password, port, vhost, expected = case
    assert oslomsg_url(hosts, userid=user, password=password, port=port, vhost=vhost) == expected


@pytest.mark.parametrize("vhost", ["/nova", "nova", "/", "/a b/c"])
def test_oslomsg_url_vhost_survives_oslo_parsing(vhost):
    # oslo.messaging's TransportURL.parse: the vhost is the URL path after its first "/",
    # percent-decoded. The vhost the client opens must be the one mq_setup created.
    url = oslomsg_url(["h"], userid="u", password=PASSWORD, port=5671, vhost=vhost)
    assert unquote(urlsplit(url).path[1:]) == vhost


@pytest.mark.parametrize(
    ("hosts", "port", "message"),
    [([], 5671, "non-empty list"), ("10.0.0.1", 5671, "non-empty list"), (["h"], 0, "1-65535")],
)
def test_oslomsg_url_errors(hosts, port, message):
    with pytest.raises(OslomsgUrlError, match=message):
        oslomsg_url(hosts, userid="u", password=PASSWORD, port=port, vhost="/v")

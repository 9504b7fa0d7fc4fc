# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Filters that build oslo.messaging settings from the shared client settings."""

from __future__ import annotations

from urllib.parse import quote

DOCUMENTATION = """
name: oslomsg_url
short_description: An oslo.messaging transport URL for a list of RabbitMQ hosts
description:
  - Builds C(rabbit://user:password@host:port,user:password@host:port/vhost), the form
    oslo.messaging's C(transport_url) takes, quoting the user and password and wrapping IPv6
    addresses in brackets.
options:
  _input:
    description: Addresses of the RabbitMQ hosts, in the order clients should try them.
    type: list
    elements: str
    required: true
  userid:
    description: RabbitMQ user.
    type: str
    required: true
  password:
    description: Its password.
    type: str
    required: true
  port:
    description: AMQP port (TLS or not, as the client's C(ssl) option says).
    type: int
    required: true
  vhost:
    description:
      - Virtual host, exactly as RabbitMQ names it (C(/nova) and C(nova) are two different
        vhosts). The URL's path is C(/) followed by the name, percent-encoded, which is what
        oslo.messaging decodes back.
    type: str
    required: true
  transport:
    description: URL scheme.
    type: str
    default: rabbit
"""

EXAMPLES = """
transport_url: >-
  {{ oslomsg_rpc_servers | nimbus.cloud.oslomsg_url(userid='nova',
     password=nova_oslomsg_rpc_password, port=oslomsg_rpc_port, vhost='/nova') }}
"""

RETURN = """
_value:
  description: The transport URL.
  type: str
"""


_MAX_PORT = 65535


class OslomsgUrlError(ValueError):
    """The input cannot make a transport URL."""


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def oslomsg_url(
    hosts: list[str],
    *,
    userid: str,
    password: str,
    port: int | str,
    vhost: str,
    transport: str = "rabbit",
) -> str:
    """Return the oslo.messaging transport URL for ``hosts``."""
    if isinstance(hosts, str) or not hosts:
        raise OslomsgUrlError(
            "oslomsg_url: expected a non-empty list of RabbitMQ host addresses, got "
            f"{hosts!r}; check that the RabbitMQ host group has hosts"
        )
    if not str(port).isdigit() or not 0 < int(port) <= _MAX_PORT:
        raise OslomsgUrlError(f"oslomsg_url: port must be 1-65535, got {port!r}")
    credentials = f"{quote(str(userid), safe='')}:{quote(str(password), safe='')}"
    netlocs = ",".join(f"{credentials}@{_host(str(h))}:{int(port)}" for h in hosts)
    return f"{transport}://{netlocs}/{quote(str(vhost), safe='')}"


class FilterModule:
    """oslo.messaging filters."""

    def filters(self):
        return {"oslomsg_url": oslomsg_url}

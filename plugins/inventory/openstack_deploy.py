# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Inventory plugin: the OpenStack-Ansible style deployment configuration as an inventory."""

from __future__ import annotations

DOCUMENTATION = r"""
name: openstack_deploy
short_description: Inventory from an OpenStack-Ansible style /etc/openstack_deploy
description:
  - Reads C(openstack_user_config.yml) deep-merged with every C(conf.d/*.yml) of the
    configuration directory, and the service skeleton (C(inventory/env.d) of the collection,
    changed by the configuration directory's C(env.d/*.yml)).
  - Produces the host groups of the configuration, the service and component groups of the
    skeleton (C(galera_all), C(nova_compute), C(neutron_ovn_gateway), ...), host variables
    (C(ansible_host), C(management_address), C(container_networks), one C(<queue>_address)
    per non-management network) and the C(global_overrides) as variables of C(all).
  - Addresses on non-management networks are allocated from C(cidr_networks) (lowest free
    first) and kept in C(openstack_inventory.json) in the configuration directory, so that they
    never move when hosts are added or removed.
  - Invalid configuration stops the run with one message per problem, naming the file, the key
    and the fix; the state file is then left untouched.
  - The same logic is available on the command line as C(openstack-ansible-inventory).
author:
  - Nimbus developers (@nimbus-cloud)
options:
  plugin:
    description: Marks this file as a source for this plugin.
    required: true
    type: str
    choices:
      - nimbus.cloud.openstack_deploy
  config_dir:
    description: The configuration directory (C(openstack_user_config.yml), C(conf.d), C(env.d)).
    type: path
    default: /etc/openstack_deploy
    env:
      - name: OSA_CONFIG_DIR
"""

EXAMPLES = r"""
# inventory/openstack_deploy.yml (the file the openstack-ansible wrapper passes with -i)
plugin: nimbus.cloud.openstack_deploy

# A second deployment kept elsewhere:
# plugin: nimbus.cloud.openstack_deploy
# config_dir: /srv/cloud2/openstack_deploy
"""

from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

from ansible_collections.nimbus.cloud.plugins.plugin_utils.inventory import (
    InventoryError,
    StateError,
    generate,
)


class InventoryModule(BaseInventoryPlugin):
    """Groups, host variables and addresses from /etc/openstack_deploy."""

    NAME = "nimbus.cloud.openstack_deploy"

    # The configuration files belong to the operator, like any YAML inventory: templates in
    # global_overrides, host_vars and container_vars are meant to be rendered.
    trusted_by_default = True

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(
            ("openstack_deploy.yml", "openstack_deploy.yaml")
        )

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        config_dir = self.get_option("config_dir")
        try:
            result = generate(config_dir, write=True)
        except (InventoryError, StateError) as exc:
            raise AnsibleParserError(str(exc)) from exc

        for name in result.groups:
            self.inventory.add_group(name)
        for name, group in result.groups.items():
            for child in group["children"]:
                self.inventory.add_child(name, child)
        for host, variables in result.hostvars.items():
            self.inventory.add_host(host)
            for key, value in variables.items():
                self.inventory.set_variable(host, key, value)
        for name, group in result.groups.items():
            for host in group["hosts"]:
                self.inventory.add_child(name, host)
        for key, value in result.all_vars.items():
            self.inventory.set_variable("all", key, value)
        for warning in result.warnings:
            self.display.warning(f"inventory: {warning}")

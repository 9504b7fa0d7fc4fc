"""Nimbus inventory: openstack_user_config.yml + env.d -> groups, host variables, addresses.

Pure Python (PyYAML and the standard library only, no Ansible imports) so that the inventory
plugin, the openstack-ansible-inventory command and the unit tests share one implementation.
"""

from __future__ import annotations

from .build import WARNINGS_VAR, Inventory, configured_hosts, generate, remove_host
from .errors import InventoryError, LockTimeoutError, Problem, StateError
from .skeleton import shipped_env_dir
from .state import BACKUP_DIR, BACKUPS_KEPT, STATE_FILE

DEFAULT_CONFIG_DIR = "/etc/openstack_deploy"
CONFIG_DIR_ENV = "OSA_CONFIG_DIR"

__all__ = [
    "BACKUPS_KEPT",
    "BACKUP_DIR",
    "CONFIG_DIR_ENV",
    "DEFAULT_CONFIG_DIR",
    "STATE_FILE",
    "WARNINGS_VAR",
    "Inventory",
    "InventoryError",
    "LockTimeoutError",
    "Problem",
    "StateError",
    "configured_hosts",
    "generate",
    "remove_host",
    "shipped_env_dir",
]

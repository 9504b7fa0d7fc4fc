#!/usr/bin/python
# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)
"""Which of a list of Debian packages are not installed (read from dpkg's status file)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: packages_missing
short_description: Tell which Debian packages of a list are not installed
version_added: "0.1.0"
author:
  - Nimbus developers (@nimbus-cloud)
description:
  - Reads dpkg's status file and returns the names of the requested packages that are not
    installed (status C(install ok installed)), so that M(ansible.builtin.apt) runs only when
    there is something to install.
  - Opening APT's cache, as M(ansible.builtin.apt) does on every run, costs about a second of
    CPU per task; reading the status file costs milliseconds.
  - A name may carry an architecture (C(pkg:amd64)) or a version (C(pkg=1.2-1), compared
    exactly); a virtual package is reported missing, so apt decides.
  - Never changes anything.
options:
  names:
    description: Package names, as given to M(ansible.builtin.apt).
    type: list
    elements: str
    required: true
  status_file:
    description: dpkg's status file.
    type: path
    default: /var/lib/dpkg/status
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is nothing to show.
    support: none
"""

EXAMPLES = r"""
- name: Find which of keystone's packages are missing
  nimbus.cloud.packages_missing:
    names: "{{ keystone_system_packages }}"
  register: _keystone_packages

- name: Install the packages keystone needs
  ansible.builtin.apt:
    name: "{{ _keystone_packages.missing }}"
    state: present
    update_cache: true
  when: _keystone_packages.missing | length > 0
"""

RETURN = r"""
missing:
  description: The requested names that are not installed, in the order given, without repeats.
  returned: always
  type: list
  elements: str
  sample: [libxml2-dev]
"""

from ansible.module_utils.basic import AnsibleModule


def installed_packages(status_text: str) -> dict[tuple[str, str], str]:
    """(package, architecture) -> version of every installed package in a dpkg status file."""
    installed: dict[tuple[str, str], str] = {}
    for stanza in status_text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            key, _sep, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        # "<want> <flag> <state>": installed, and no reinstall required.
        if fields.get("package") and fields.get("status", "").split()[1:] == ["ok", "installed"]:
            installed[(fields["package"], fields.get("architecture", ""))] = fields.get(
                "version", ""
            )
    return installed


def missing_packages(names: list[str], status_text: str) -> list[str]:
    """The names in ``names`` not installed according to ``status_text``; order kept."""
    installed = installed_packages(status_text)
    missing: list[str] = []
    for name in names:
        package, _sep, version = name.partition("=")
        package, _sep, arch = package.partition(":")
        found = [
            installed_version
            for (installed_name, installed_arch), installed_version in installed.items()
            if installed_name == package and arch in ("", installed_arch)
        ]
        ok = bool(found) and (not version or version in found)
        if not ok and name not in missing:
            missing.append(name)
    return missing


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "status_file": {"type": "path", "default": "/var/lib/dpkg/status"},
        },
        supports_check_mode=True,
    )
    try:
        with open(module.params["status_file"], encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as err:
        path = module.params["status_file"]
        module.fail_json(msg=f"cannot read dpkg's status file {path}: {err}")
    module.exit_json(changed=False, missing=missing_packages(module.params["names"], text))


if __name__ == "__main__":
    main()

# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)

# This module is implemented entirely by the action plugin
# plugins/action/config_template.py; this file only carries its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config_template
short_description: Render a config template, merge operator overrides, write it like copy
description:
  - Renders the Jinja2 template O(src) on the controller with the play's variables, exactly like
    M(ansible.builtin.template).
  - Merges O(config_overrides) into the rendered text according to O(config_type)
    (V(ini), V(yaml) or V(json)).
  - Writes the result through M(ansible.builtin.copy), so O(owner), O(group), O(mode),
    O(backup), O(validate), check mode and diff mode behave as they do for copy.
  - "INI: comments, blank lines and order of the template are kept; lines that no override touches
    are written exactly as rendered. Section names are matched the way oslo.config reads them
    (C(DEFAULT) exactly, other names case-insensitively) and C(DEFAULT) is an ordinary section:
    its keys are not copied into other sections. New sections are appended at the end of the file,
    except a new C(DEFAULT) which goes first. A new key is placed right after its commented-out
    sample line (C(#key = ...)) when the template has one, otherwise after the last key of the
    section."
  - "INI values: a string, number or boolean (written as V(true)/V(false)) gives one line.
    A list gives one comma-separated value, or one line per item for a multi-value key (oslo
    C(MultiStrOpt)): a key that the template already repeats, or one named in O(multi_keys).
    The openstack-ansible form C({value1: null, value2: null}) also gives one line per mapping key.
    C(null) removes the key (see O(ignore_none_type))."
  - "YAML and JSON: mappings are merged recursively; any other value replaces the template value,
    lists too unless O(list_extend=true). C(null) is written as null. The output is normalised
    (key order kept, YAML comments dropped)."
  - In diff mode, besides the line diff from copy, the result lists which sections and keys were
    added, removed or changed (names only, never values), see RV(config_changes).
  - Bad input fails before anything is written on the target, with a message naming O(dest), the
    option and, for overrides, the path inside O(config_overrides). Messages never contain
    configuration values.
options:
  src:
    description:
      - Path of the Jinja2 template, searched like the O(ansible.builtin.template#module:src)
        of M(ansible.builtin.template) (the role's C(templates/) directory first).
    type: path
    required: true
  dest:
    description:
      - Path of the file to write on the target host. Must be a file path, not a directory.
    type: path
    required: true
  config_type:
    description:
      - Format of the rendered template, which decides how O(config_overrides) is merged.
    type: str
    required: true
    choices: [ini, yaml, json]
  config_overrides:
    description:
      - Values to merge into the rendered template. Must be a mapping.
      - For V(ini), a mapping of section names to mappings of option names to values;
        any other value for a section is an error.
      - For V(yaml) and V(json), a mapping deep-merged into the top-level mapping of the template.
    type: raw
    default: {}
  list_extend:
    description:
      - V(yaml) and V(json) only. When V(true), a list in O(config_overrides) is appended to a
        list at the same place in the template; when V(false) it replaces that list.
    type: bool
    default: false
  ignore_none_type:
    description:
      - V(ini) only. When V(true), a C(null) override removes the key (every line of it).
      - When V(false), a C(null) override writes the key alone, without C(=) and value, as
        files such as C(my.cnf) need (C(skip-name-resolve)).
    type: bool
    default: true
  multi_keys:
    description:
      - V(ini) only. Keys whose list values are written as one line per item (oslo
        C(MultiStrOpt)) instead of one comma-separated value.
      - Each entry is C(key) (in any section) or C(section.key).
      - Keys that the template already repeats within a section are multi-value without being
        listed here.
    type: list
    elements: str
    default: []
  force:
    description:
      - When V(false), the file is only written if O(dest) does not exist yet.
    type: bool
    default: true
  follow:
    description:
      - Whether to follow a symbolic link at O(dest) and write its target.
    type: bool
    default: false
notes:
  - "Rendered files often carry secrets (passwords in C(connection) or C(transport_url)).
    The line diff that diff mode shows contains the whole file, so set C(no_log: true) or
    C(diff: false) on tasks that write secret-bearing files. With C(no_log), the task result
    carries no file content and no change summary; errors caused by bad input are still printed,
    since they name options and never values."
  - Overrides are applied to the rendered template on every run, never to the file on the target,
    so a run with the same input always writes the same file.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
author:
  - Nimbus developers (@nimbus-cloud)
extends_documentation_fragment:
  # Short names as ansible.builtin.template uses them: ansible-core 2.19 does not resolve
  # the FQCN form of action_common_attributes.files.
  - action_common_attributes
  - action_common_attributes.flow
  - action_common_attributes.files
  - ansible.builtin.backup
  - ansible.builtin.files
  - ansible.builtin.validate
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: full
"""

EXAMPLES = r"""
- name: Write keystone.conf with the operator's overrides
  nimbus.cloud.config_template:
    src: etc/keystone/keystone.conf.j2
    dest: /etc/keystone/keystone.conf
    config_type: ini
    config_overrides: "{{ keystone_keystone_conf_overrides }}"
    owner: root
    group: keystone
    mode: "0640"
  no_log: true  # the file carries database and service passwords

- name: Nova, with a repeated key and a removed key
  nimbus.cloud.config_template:
    src: etc/nova/nova.conf.j2
    dest: /etc/nova/nova.conf
    config_type: ini
    multi_keys:
      - pci.device_spec
    config_overrides:
      DEFAULT:
        debug: true
        my_ip: null  # removes my_ip from the file
      pci:
        device_spec:  # one "device_spec = ..." line per item
          - '{"vendor_id": "8086", "product_id": "1520"}'
          - '{"vendor_id": "8086", "product_id": "1521"}'
      oslo_messaging_notifications:
        driver: [messagingv2, log]  # driver = messagingv2,log
    owner: root
    group: nova
    mode: "0640"

- name: my.cnf with a value-less option
  nimbus.cloud.config_template:
    src: etc/mysql/my.cnf.j2
    dest: /etc/mysql/my.cnf
    config_type: ini
    ignore_none_type: false
    config_overrides:
      mysqld:
        skip-name-resolve: null  # written as a bare "skip-name-resolve" line
    owner: root
    group: root
    mode: "0644"

- name: Policy file, extending a list from the template
  nimbus.cloud.config_template:
    src: etc/glance/policy.yaml.j2
    dest: /etc/glance/policy.yaml
    config_type: yaml
    list_extend: true
    config_overrides: "{{ glance_policy_overrides }}"
    owner: root
    group: glance
    mode: "0640"
"""

RETURN = r"""
config_changes:
  description:
    - Sections and keys that differ between the file on the target before the task and the new
      content; names only, never values.
    - INI paths look like C([DEFAULT] debug) (a whole section like C([cache])), YAML and JSON paths
      like C(a.b.c).
    - Only returned in diff mode, and not when the task has C(no_log).
  returned: diff mode
  type: dict
  contains:
    added:
      description: Sections and keys that are new.
      type: list
      elements: str
      sample: ["[cache]", "[cache] enabled"]
    removed:
      description: Sections and keys that are gone.
      type: list
      elements: str
      sample: ["[database] connection_recycle_time"]
    changed:
      description: Keys whose value changed.
      type: list
      elements: str
      sample: ["[DEFAULT] debug"]
  sample:
    added: ["[cache]", "[cache] enabled"]
    removed: []
    changed: ["[DEFAULT] debug"]
dest:
  description: Destination file path.
  returned: success
  type: str
  sample: /etc/keystone/keystone.conf
checksum:
  description: SHA1 checksum of the written file.
  returned: success
  type: str
  sample: 2a5aeecc61dc98c4d780b14b330e3282
backup_file:
  description: Name of the backup file that was created.
  returned: changed and if backup=yes
  type: str
  sample: /etc/keystone/keystone.conf.2350.2026-01-01@12:00:00~
owner:
  description: Owner of the file after the task.
  returned: success
  type: str
  sample: root
group:
  description: Group of the file after the task.
  returned: success
  type: str
  sample: keystone
mode:
  description: Permissions of the file after the task.
  returned: success
  type: str
  sample: "0640"
"""

# Copyright: Nimbus developers
# Apache License 2.0 (see LICENSE)

# This module is implemented entirely by the action plugin
# plugins/action/openstack_resources_plan.py; this file only carries its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: openstack_resources_plan
short_description: Check the declared day-one cloud resources and plan their creation
description:
  - Checks the declarations of O(openstack_user_identity) (projects, users and their role
    grants), O(openstack_user_compute) (flavors), O(openstack_user_image) (images from a file
    on the deployment host or a URL) and O(openstack_user_network) (networks with their
    subnets, routers, security groups with their rules) before any API call.
  - Fails with one line per problem naming the variable, the entry, what is wrong and where
    to fix it (unknown keys with the closest known one, non-positive sizes, missing image
    files, subnets outside their network, references to undeclared or absent projects,
    networks and subnets, resources of a service that is not deployed).
  - Returns the entries with every key filled in, split into those to create or update and
    those to delete. Runs on the controller only and never changes anything.
options:
  openstack_user_identity:
    description: "C(projects) and C(users) (see the role's defaults for the keys)."
    type: dict
    default: {}
  openstack_user_compute:
    description: "C(flavors)."
    type: dict
    default: {}
  openstack_user_image:
    description: "C(images)."
    type: dict
    default: {}
  openstack_user_network:
    description: "C(networks) (with C(subnets)), C(routers), C(security_groups)."
    type: dict
    default: {}
  services:
    description:
      - Catalog types of the services deployed (C(identity), C(compute), C(image),
        C(network)).
      - Default, those of C(nimbus_services) that are deployed and have hosts.
    type: list
    elements: str
author:
  - Nimbus developers (@nimbus-cloud)
"""

EXAMPLES = r"""
- name: Check the declared resources
  nimbus.cloud.openstack_resources_plan:
    openstack_user_identity: "{{ openstack_user_identity }}"
    openstack_user_compute: "{{ openstack_user_compute }}"
    openstack_user_image: "{{ openstack_user_image }}"
    openstack_user_network: "{{ openstack_user_network }}"
  register: plan
"""

RETURN = r"""
present:
  description: Kind -> entries to create or update (subnets and role grants flattened).
  returned: success
  type: dict
absent:
  description: Kind -> entries to delete.
  returned: success
  type: dict
absent_order:
  description: The order in which the kinds of RV(absent) are deleted.
  returned: success
  type: list
  elements: str
problems:
  description: One line per problem.
  returned: failure
  type: list
  elements: str
"""

"""The Nimbus test lab: LXC system containers that stand in for deployment target hosts.

Pure logic (scenario -> plans -> generated files) lives in ``model``, ``network``,
``lxcconf``, ``osaconfig``, ``rootfs`` and ``state``; ``system`` and ``cli`` do the side
effects. Modules use relative imports only, so the package loads both from
``tests/lab/lab.py`` and as ``ansible_collections.nimbus.cloud.tests.lab.nimbus_lab``.
"""

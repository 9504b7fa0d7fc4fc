# Nimbus: compatibility shim between the openstack.cloud collection of the pinned Ansible
# (2.5.0 reads `openstack.version.__version__` right after `import openstack`) and
# openstacksdk >= 4.15, whose package no longer imports its deprecated `version` submodule.
# Python loads this file only for the Nimbus tasks that run openstack.cloud modules (their
# interpreter is started with PYTHONPATH set to its directory); remove it once the collection
# is >= 2.6.0.
import contextlib
import importlib
import warnings

with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    # Importing the submodule sets the `openstack.version` attribute the collection reads.
    importlib.import_module("openstack.version")

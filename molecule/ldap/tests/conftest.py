"""The fixtures of tests/infra (the `inventory` helper) for this scenario's
Molecule-only test modules, which live outside tests/infra."""

from tests.infra.conftest import inventory  # noqa: F401

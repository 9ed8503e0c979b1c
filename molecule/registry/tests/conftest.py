"""The fixtures of tests/infra (`inventory`, `registry`) for this scenario's
Molecule-only test modules, which live outside tests/infra."""

from tests.infra.conftest import inventory  # noqa: F401
from tests.infra.registry.conftest import registry  # noqa: F401

"""The `registry` fixture of tests/infra/registry for this scenario's Molecule-only
test modules, which live outside tests/infra (`inventory` comes from tests.infra.plugin)."""

from tests.infra.registry.conftest import registry  # noqa: F401

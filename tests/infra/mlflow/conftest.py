"""The `cast` fixture of the MLflow tests: who plays which part (mlflow_helpers.Cast)."""

from __future__ import annotations

import pytest

from tests.infra.mlflow_helpers import Cast, pick_cast


@pytest.fixture
def cast(inventory) -> Cast:
    picked = pick_cast(list(inventory.resolved("cluster_users", []) or []))
    if picked is None:
        pytest.skip(
            "not executed here: the declaration has no two unlocked users in different projects"
        )
    return picked

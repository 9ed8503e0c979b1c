"""The `metrics` fixture: the cluster's metrics endpoints (tests/infra/monitoring_helpers.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.monitoring_helpers import Endpoints, endpoints


@pytest.fixture
def metrics(inventory: Any) -> Endpoints:
    return endpoints(inventory)

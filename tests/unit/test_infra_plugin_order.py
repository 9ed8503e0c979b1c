"""tests.infra.plugin runs the tests that change what the others check after all of them."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_tests_that_change_state_run_last_and_the_rest_keep_their_order(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_a_changes="""
        import pytest
        pytestmark = pytest.mark.changes_state
        def test_change(): pass
        def test_after_change(): pass
        """,
        test_b_reads="""
        def test_first(): pass
        def test_second(): pass
        """,
    )
    result = pytester.runpytest("-p", "tests.infra.plugin", "-v", "--strict-markers")
    result.assert_outcomes(passed=4)
    ran = [line.split(" ")[0] for line in result.outlines if " PASSED" in line]
    assert ran == [
        "test_b_reads.py::test_first",
        "test_b_reads.py::test_second",
        "test_a_changes.py::test_change",
        "test_a_changes.py::test_after_change",
    ]

"""The CLI reads some results by task name: each name must be a task of the playbook it runs.

A renamed task would otherwise leave `check`, `status` or `backup` with an empty report and
no error at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gpucluster.commands import backup, check, status

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers", "block", "rescue", "always")


def _task_names(items: object) -> Iterator[str]:
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("name"), str):
            yield item["name"]
        for key in TASK_LISTS:
            yield from _task_names(item.get(key))


@pytest.mark.parametrize(
    ("playbook", "task"),
    [
        (check.PLAYBOOK, check.REPORT_TASK),
        (status.PLAYBOOK, status.REPORT_TASK),
        (backup.RUN_PLAYBOOK, backup.ARCHIVES_BEFORE),
        (backup.RUN_PLAYBOOK, backup.ARCHIVES_AFTER),
        (backup.LIST_PLAYBOOK, backup.ARCHIVES_LISTED),
    ],
)
def test_every_captured_task_is_in_its_playbook(playbook, task):
    plays = yaml.safe_load((PLAYBOOKS / playbook).read_text(encoding="utf-8"))
    assert task in set(_task_names(plays)), f"{playbook} has no task named {task!r}"

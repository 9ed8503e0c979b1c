"""For the MLflow tests (tests/infra/mlflow): the client probe they run on nodes, and the
people they cast from the declaration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROBE = (Path(__file__).parent / "mlflow" / "mlflow_client_probe.py").read_text(encoding="utf-8")
"""MLflow's client on a node, as a user (see its docstring)."""


@dataclass(frozen=True)
class Cast:
    """Who plays which part, picked from the people declaration (cluster_users).

    A member of `project` logs; a `teammate` (same project, may be absent) reads and writes;
    an `outsider` (another project only) cannot; an `admin` reads everything; a `locked` user
    is refused. Parts nobody in the declaration can play are skipped, and say so.
    """

    project: str
    member: str
    outsider: str
    outsider_project: str
    teammate: str | None
    admin: str | None
    locked: str | None


def pick_cast(users: list[dict]) -> Cast | None:
    """The first project with a plain member and a plain user outside it; None if none."""
    active = [u for u in users if not u.get("locked")]
    plain = [u for u in active if not u.get("admin")]
    for member in plain:
        for project in member.get("projects", []):
            outsiders = [u for u in plain if u.get("projects") and project not in u["projects"]]
            if not outsiders:
                continue
            mates = [
                u["name"] for u in plain if u is not member and project in u.get("projects", [])
            ]
            admins = [u["name"] for u in active if u.get("admin")]
            locked = [u["name"] for u in users if u.get("locked")]
            return Cast(
                project=project,
                member=member["name"],
                outsider=outsiders[0]["name"],
                outsider_project=outsiders[0]["projects"][0],
                teammate=mates[0] if mates else None,
                admin=admins[0] if admins else None,
                locked=locked[0] if locked else None,
            )
    return None

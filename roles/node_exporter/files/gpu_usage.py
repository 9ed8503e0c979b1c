#!/usr/bin/python3
"""Who uses which GPU: a node_exporter textfile collector for gpucluster's GPU nodes.

NVIDIA's DCGM exporter reports each GPU; it cannot say which person or project a GPU is
working for, which is the question a shared cluster asks most. This collector joins three
facts that each live in one place:

- `nvidia-smi -q -x`: every GPU, its utilisation and memory, and the PIDs of its compute
  processes with the memory each holds;
- /proc/<pid>: the process's real uid, its effective gid and its working directory;
- the people declaration (`cluster_users`, `cluster_projects`, as the inventory has them):
  uid -> declared user -> the projects they belong to.

A process counts for the project whose directory it works in (/projects/<name>/...), else
for the project group it runs as (`sg nlp ...`), else for its user's only project; a member
of several projects who does neither is `unattributed`. A uid nobody declared is reported as
`uid:<n>` with project `none`: a process that bypasses the directory stays visible.
nvidia-smi reports utilisation per GPU, not per process, so a GPU's utilisation is shared
out by the memory each user holds on it (`..._share_ratio`); summed over time that share is
the project's GPU-hours.

It uses only the standard library: the GPU metrics role runs it with the node's python3
from a systemd timer and writes the result where node_exporter's textfile collector reads
it, replacing the file atomically so a scrape never sees half of it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from textfile import Gauges, write_atomically  # beside this file on the node

MIB = 1024 * 1024
OUTPUT_NAME = "gpucluster_gpu_usage.prom"
NO_PROJECT = "none"
UNATTRIBUTED = "unattributed"


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    memory_bytes: int


@dataclass(frozen=True)
class Gpu:
    index: int
    uuid: str
    name: str
    utilization: float | None  # 0..1; None where the driver reports N/A (some MIG modes)
    memory_used_bytes: int
    memory_total_bytes: int
    processes: tuple[GpuProcess, ...] = ()


@dataclass(frozen=True)
class ProcessOwner:
    uid: int
    gid: int  # effective
    cwd: str  # "" when it cannot be read


@dataclass(frozen=True)
class People:
    """The declaration, reduced to what attribution needs."""

    users: dict[int, tuple[str, tuple[str, ...]]]  # uid -> (name, projects)
    project_gids: dict[int, str]  # gid -> project
    projects_path: PurePosixPath


@dataclass
class Usage:
    """One (user, project) on one GPU."""

    processes: int = 0
    memory_bytes: int = 0


@dataclass
class GpuReport:
    gpu: Gpu
    usage: dict[tuple[str, str], Usage] = field(default_factory=dict)


def _mib_to_bytes(text: str | None) -> int:
    """'81559 MiB' -> bytes; 'N/A' or nothing -> 0."""
    value = (text or "").strip().removesuffix("MiB").strip()
    return int(value) * MIB if value.isdigit() else 0


def _percent_to_ratio(text: str | None) -> float | None:
    value = (text or "").strip().removesuffix("%").strip()
    try:
        return float(value) / 100
    except ValueError:
        return None


def parse_nvidia_smi_xml(text: str) -> list[Gpu]:
    """The GPUs of an `nvidia-smi -q -x` document, in nvidia-smi's index order."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(f"nvidia-smi -q -x printed no valid XML: {error}") from None
    gpus = []
    for index, element in enumerate(root.findall("gpu")):
        processes = []
        for info in element.findall("processes/process_info"):
            pid = (info.findtext("pid") or "").strip()
            if pid.isdigit():
                processes.append(GpuProcess(int(pid), _mib_to_bytes(info.findtext("used_memory"))))
        gpus.append(
            Gpu(
                index=index,
                uuid=(element.findtext("uuid") or "").strip(),
                name=(element.findtext("product_name") or "").strip(),
                utilization=_percent_to_ratio(element.findtext("utilization/gpu_util")),
                memory_used_bytes=_mib_to_bytes(element.findtext("fb_memory_usage/used")),
                memory_total_bytes=_mib_to_bytes(element.findtext("fb_memory_usage/total")),
                processes=tuple(processes),
            )
        )
    return gpus


def people_from_declaration(declaration: dict, projects_path: str = "/projects") -> People:
    """People from {"cluster_users": [...], "cluster_projects": [...]} (inventory shape)."""
    users = {
        int(user["uid"]): (str(user["name"]), tuple(str(p) for p in user.get("projects", [])))
        for user in declaration.get("cluster_users", [])
    }
    gids = {
        int(project["gid"]): str(project["name"])
        for project in declaration.get("cluster_projects", [])
    }
    return People(users, gids, PurePosixPath(projects_path))


def process_owner(proc: Path, pid: int) -> ProcessOwner | None:
    """Real uid, effective gid and working directory of a PID; None once it has exited."""
    try:
        status = (proc / str(pid) / "status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    ids: dict[str, list[str]] = {}
    for line in status.splitlines():
        key, _, values = line.partition(":")
        if key in ("Uid", "Gid"):
            ids[key] = values.split()
    if len(ids.get("Uid", [])) < 1 or len(ids.get("Gid", [])) < 2:
        return None
    try:
        cwd = str((proc / str(pid) / "cwd").readlink())
    except OSError:
        cwd = ""
    return ProcessOwner(uid=int(ids["Uid"][0]), gid=int(ids["Gid"][1]), cwd=cwd)


def attribute(owner: ProcessOwner, people: People) -> tuple[str, str]:
    """(user, project) a process counts for; see the module docstring for the order."""
    declared = people.users.get(owner.uid)
    if declared is None:
        return f"uid:{owner.uid}", NO_PROJECT
    name, projects = declared
    if owner.cwd:
        cwd = PurePosixPath(owner.cwd)
        if cwd.is_relative_to(people.projects_path) and cwd != people.projects_path:
            project = cwd.relative_to(people.projects_path).parts[0]
            if project in projects:
                return name, project
    group = people.project_gids.get(owner.gid)
    if group in projects:
        return name, group
    if len(projects) == 1:
        return name, projects[0]
    return name, UNATTRIBUTED


def usage_by_gpu(gpus: list[Gpu], people: People, proc: Path) -> list[GpuReport]:
    """Each GPU with the processes, memory and users found on it."""
    reports = []
    for gpu in gpus:
        report = GpuReport(gpu)
        for process in gpu.processes:
            owner = process_owner(proc, process.pid)
            if owner is None:
                continue
            usage = report.usage.setdefault(attribute(owner, people), Usage())
            usage.processes += 1
            usage.memory_bytes += process.memory_bytes
        reports.append(report)
    return reports


def _shares(report: GpuReport) -> dict[tuple[str, str], float]:
    """Each (user, project)'s part of the GPU: by memory held, by process count without it."""
    weights = {key: u.memory_bytes for key, u in report.usage.items()}
    if not sum(weights.values()):
        weights = {key: u.processes for key, u in report.usage.items()}
    total = sum(weights.values())
    return {key: weight / total for key, weight in weights.items()} if total else {}


METRICS = {
    "gpucluster_gpu_usage_up": "1 when nvidia-smi answered for this file, 0 when it failed.",
    "gpucluster_gpu_info": "One series per GPU, carrying its model name.",
    "gpucluster_gpu_utilization_ratio": "Part of the last sample period the GPU was busy.",
    "gpucluster_gpu_memory_used_bytes": "GPU memory in use.",
    "gpucluster_gpu_memory_total_bytes": "GPU memory in all.",
    "gpucluster_gpu_processes": "Compute processes of a user, counted for a project, on a GPU.",
    "gpucluster_gpu_process_memory_bytes": "GPU memory those processes hold.",
    "gpucluster_gpu_share_ratio": "Part of the GPU a user and project hold, by memory.",
    "gpucluster_gpu_attributed_utilization_ratio": "GPU utilisation times that share.",
}


def render(reports: list[GpuReport], up: bool = True) -> str:
    """The reports in Prometheus' text exposition format."""
    gauges = Gauges(METRICS)
    gauges.add("gpucluster_gpu_usage_up", {}, 1 if up else 0)
    for report in reports:
        gpu = report.gpu
        ids = {"gpu": str(gpu.index), "uuid": gpu.uuid}
        gauges.add("gpucluster_gpu_info", {**ids, "name": gpu.name}, 1)
        gauges.add("gpucluster_gpu_utilization_ratio", ids, gpu.utilization)
        gauges.add("gpucluster_gpu_memory_used_bytes", ids, gpu.memory_used_bytes)
        gauges.add("gpucluster_gpu_memory_total_bytes", ids, gpu.memory_total_bytes)
        shares = _shares(report)
        for (user, project), usage in sorted(report.usage.items()):
            labels = {**ids, "user": user, "project": project}
            share = shares.get((user, project), 0.0)
            gauges.add("gpucluster_gpu_processes", labels, usage.processes)
            gauges.add("gpucluster_gpu_process_memory_bytes", labels, usage.memory_bytes)
            gauges.add("gpucluster_gpu_share_ratio", labels, share)
            attributed = None if gpu.utilization is None else gpu.utilization * share
            gauges.add("gpucluster_gpu_attributed_utilization_ratio", labels, attributed)
    return gauges.text()


def read_nvidia_smi(command: str) -> str:
    """`nvidia-smi -q -x`; raises RuntimeError with its own words when it fails."""
    try:
        completed = subprocess.run(
            [command, "-q", "-x"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"{command}: {error}") from None
    if completed.returncode != 0:
        raise RuntimeError(
            f"{command} exited {completed.returncode}: {completed.stderr.strip()[:300]}"
        )
    return completed.stdout


def _failed(output_dir: Path, message: str) -> int:
    """Say why, and leave `up 0` for the alert that watches it; the unit's exit status 1."""
    print(f"gpu_usage: {message}", file=sys.stderr)
    write_atomically(output_dir, OUTPUT_NAME, render([], up=False))
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--people", type=Path, required=True, help="cluster_users, cluster_projects"
    )
    parser.add_argument("--output-dir", type=Path, required=True, help="the textfile directory")
    parser.add_argument("--nvidia-smi", default="nvidia-smi")
    parser.add_argument("--proc", type=Path, default=Path("/proc"))
    parser.add_argument("--projects-path", default="/projects")
    args = parser.parse_args(argv)
    try:
        declaration = json.loads(args.people.read_text(encoding="utf-8"))
        people = people_from_declaration(declaration, args.projects_path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return _failed(args.output_dir, f"cannot read {args.people}: {error}")
    try:
        gpus = parse_nvidia_smi_xml(read_nvidia_smi(args.nvidia_smi))
    except (RuntimeError, ValueError) as error:
        return _failed(args.output_dir, str(error))
    write_atomically(args.output_dir, OUTPUT_NAME, render(usage_by_gpu(gpus, people, args.proc)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The GPU usage collector (roles/node_exporter/files/gpu_usage.py).

The GPU side comes from `nvidia-smi -q -x` recorded on a real H100 (driver 580). That GPU
was idle, so the tests that need processes add `process_info` elements to the recorded
document, in the schema nvidia-smi uses for them (pid, type, process_name, used_memory).
The /proc side is a real directory tree in tmp_path: status files and cwd symlinks, as the
kernel lays them out. The exposition text is read back with prometheus_client's parser.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.conftest import load_collector

# The collector runs on the GPU nodes with their python3, so it lives in the role that
# installs it, not in the operator's package.
gpu_usage = load_collector("gpu_usage")

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
RECORDED_XML = (FIXTURES / "h100-driver-580.xml").read_text()
H100_UUID = "GPU-7f3fad2d-1a3c-9caf-00e0-7b6c84c67c35"
MIB = 1024 * 1024

DECLARATION = {
    "cluster_projects": [{"name": "vision", "gid": 20001}, {"name": "nlp", "gid": 20002}],
    "cluster_users": [
        {"name": "alice", "uid": 10001, "projects": ["vision"]},
        {"name": "bob", "uid": 10002, "projects": ["nlp"]},
        {"name": "carol", "uid": 10003, "projects": ["vision", "nlp"]},
    ],
}


def with_processes(xml: str, processes: list[tuple[int, int]], utilization: int = 80) -> str:
    """The recorded document with (pid, MiB) compute processes and a busy GPU."""
    root = ElementTree.fromstring(xml)
    gpu = root.find("gpu")
    assert gpu is not None
    gpu_util = gpu.find("utilization/gpu_util")
    assert gpu_util is not None
    gpu_util.text = f"{utilization} %"
    used = gpu.find("fb_memory_usage/used")
    assert used is not None
    used.text = f"{sum(mib for _, mib in processes) + 500} MiB"
    container = gpu.find("processes")
    assert container is not None
    for pid, mib in processes:
        info = ElementTree.SubElement(container, "process_info")
        for tag, text in (
            ("gpu_instance_id", "N/A"),
            ("compute_instance_id", "N/A"),
            ("pid", str(pid)),
            ("type", "C"),
            ("process_name", "python3"),
            ("used_memory", f"{mib} MiB"),
        ):
            ElementTree.SubElement(info, tag).text = text
    return ElementTree.tostring(root, encoding="unicode")


def fake_process(proc: Path, pid: int, uid: int, egid: int, cwd: str) -> None:
    """/proc/<pid>/status and /proc/<pid>/cwd as the kernel shows them."""
    directory = proc / str(pid)
    directory.mkdir(parents=True)
    (directory / "status").write_text(
        f"Name:\tpython3\nPid:\t{pid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
        f"Gid:\t{egid}\t{egid}\t{egid}\t{egid}\nGroups:\t{egid}\n"
    )
    (directory / "cwd").symlink_to(cwd)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition text, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_recorded_h100_reads_as_one_idle_gpu():
    [gpu] = gpu_usage.parse_nvidia_smi_xml(RECORDED_XML)
    assert gpu == gpu_usage.Gpu(
        index=0,
        uuid=H100_UUID,
        name="NVIDIA H100 80GB HBM3",
        utilization=0.0,
        memory_used_bytes=0,
        memory_total_bytes=81559 * MIB,
        processes=(),
    )


def test_an_idle_gpu_is_reported_with_no_user_series():
    gpus = gpu_usage.parse_nvidia_smi_xml(RECORDED_XML)
    people = gpu_usage.people_from_declaration(DECLARATION)
    text = gpu_usage.render(gpu_usage.usage_by_gpu(gpus, people, Path("/nonexistent")))
    found = samples(text)
    gpu_labels = frozenset({"gpu": "0", "uuid": H100_UUID}.items())
    assert found[("gpucluster_gpu_usage_up", frozenset())] == 1
    assert found[("gpucluster_gpu_utilization_ratio", gpu_labels)] == 0
    assert found[("gpucluster_gpu_memory_total_bytes", gpu_labels)] == 81559 * MIB
    assert not [name for name, _ in found if name == "gpucluster_gpu_processes"]


def test_processes_count_for_their_user_and_project(tmp_path):
    proc = tmp_path / "proc"
    fake_process(proc, 4001, uid=10001, egid=10001, cwd="/home/alice")  # alice: one project
    fake_process(proc, 4002, uid=10002, egid=10002, cwd="/tmp")  # bob: one project
    fake_process(proc, 4003, uid=10003, egid=10003, cwd="/projects/nlp/7")  # carol: by directory
    fake_process(proc, 4004, uid=10003, egid=20001, cwd="/home/carol")  # carol: by `sg vision`
    fake_process(proc, 4005, uid=10003, egid=10003, cwd="/home/carol")  # carol: cannot tell
    fake_process(proc, 4006, uid=0, egid=0, cwd="/")  # nobody declared root
    xml = with_processes(
        RECORDED_XML,
        [(4001, 30000), (4002, 10000), (4003, 8000), (4004, 1000), (4005, 1000), (4006, 0)],
        utilization=50,
    )
    people = gpu_usage.people_from_declaration(DECLARATION)
    reports = gpu_usage.usage_by_gpu(gpu_usage.parse_nvidia_smi_xml(xml), people, proc)
    found = samples(gpu_usage.render(reports))

    def user_series(name: str, user: str, project: str) -> float:
        labels = {"gpu": "0", "uuid": H100_UUID, "user": user, "project": project}
        return found[(name, frozenset(labels.items()))]

    assert user_series("gpucluster_gpu_process_memory_bytes", "alice", "vision") == 30000 * MIB
    assert user_series("gpucluster_gpu_process_memory_bytes", "bob", "nlp") == 10000 * MIB
    assert user_series("gpucluster_gpu_process_memory_bytes", "carol", "nlp") == 8000 * MIB
    assert user_series("gpucluster_gpu_process_memory_bytes", "carol", "vision") == 1000 * MIB
    assert user_series("gpucluster_gpu_processes", "carol", "unattributed") == 1
    assert user_series("gpucluster_gpu_processes", "uid:0", "none") == 1
    # 50 000 MiB held in all: alice holds 60% of the GPU and of its 50% utilisation.
    assert user_series("gpucluster_gpu_share_ratio", "alice", "vision") == pytest.approx(0.6)
    assert user_series(
        "gpucluster_gpu_attributed_utilization_ratio", "alice", "vision"
    ) == pytest.approx(0.3)
    shares = [value for (name, _), value in found.items() if name == "gpucluster_gpu_share_ratio"]
    assert sum(shares) == pytest.approx(1.0)


def test_a_project_directory_of_a_project_the_user_is_not_in_does_not_count(tmp_path):
    proc = tmp_path / "proc"
    fake_process(proc, 5001, uid=10001, egid=10001, cwd="/projects/nlp")  # alice is in vision only
    people = gpu_usage.people_from_declaration(DECLARATION)
    owner = gpu_usage.process_owner(proc, 5001)
    assert owner is not None
    assert gpu_usage.attribute(owner, people) == ("alice", "vision")


def test_a_process_that_exited_before_it_was_read_is_left_out(tmp_path):
    xml = with_processes(RECORDED_XML, [(6001, 2000)])
    people = gpu_usage.people_from_declaration(DECLARATION)
    [report] = gpu_usage.usage_by_gpu(gpu_usage.parse_nvidia_smi_xml(xml), people, tmp_path)
    assert report.usage == {}


def test_label_values_are_escaped():
    gpu = gpu_usage.Gpu(0, "GPU-x", 'odd "name"\\', 0.5, 1, 2)
    found = samples(gpu_usage.render([gpu_usage.GpuReport(gpu)]))
    labels = frozenset({"gpu": "0", "uuid": "GPU-x", "name": 'odd "name"\\'}.items())
    assert found[("gpucluster_gpu_info", labels)] == 1


def test_output_that_is_not_xml_is_an_error():
    with pytest.raises(ValueError, match="no valid XML"):
        gpu_usage.parse_nvidia_smi_xml("NVIDIA-SMI has failed because it couldn't communicate")


def write_people(tmp_path: Path) -> Path:
    people = tmp_path / "people.json"
    people.write_text(json.dumps(DECLARATION))
    return people


def fake_nvidia_smi(tmp_path: Path, body: str) -> Path:
    """An executable standing in for nvidia-smi: the collector runs it as a real process."""
    script = tmp_path / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def test_the_command_writes_the_textfile_in_one_piece(tmp_path):
    (tmp_path / "recorded.xml").write_text(RECORDED_XML)
    nvidia_smi = fake_nvidia_smi(tmp_path, f'[ "$*" = "-q -x" ] && cat {tmp_path}/recorded.xml')
    output = tmp_path / "textfile"
    output.mkdir()
    rc = gpu_usage.main(
        ["--people", str(write_people(tmp_path)), "--output-dir", str(output),
         "--nvidia-smi", str(nvidia_smi), "--proc", str(tmp_path)]
    )  # fmt: skip
    assert rc == 0
    assert [p.name for p in output.iterdir()] == ["gpucluster_gpu_usage.prom"]
    written = output / "gpucluster_gpu_usage.prom"
    assert written.stat().st_mode & 0o777 == 0o644
    assert samples(written.read_text())[("gpucluster_gpu_usage_up", frozenset())] == 1


def test_a_failing_nvidia_smi_leaves_up_0_and_fails_the_unit(tmp_path, capsys):
    nvidia_smi = fake_nvidia_smi(tmp_path, "echo 'Failed to initialize NVML' >&2; exit 9")
    output = tmp_path / "textfile"
    output.mkdir()
    rc = gpu_usage.main(
        ["--people", str(write_people(tmp_path)), "--output-dir", str(output),
         "--nvidia-smi", str(nvidia_smi)]
    )  # fmt: skip
    assert rc == 1
    assert "exited 9: Failed to initialize NVML" in capsys.readouterr().err
    text = (output / "gpucluster_gpu_usage.prom").read_text()
    assert samples(text) == {("gpucluster_gpu_usage_up", frozenset()): 0}

"""Molecule-only: kubernetes_worker's drain and uncordon entry points, as the roll over the GPU
nodes (playbooks/roll.yml) and remove-node run them.

This machine has no kubectl and no initialised cluster (README: what this machine cannot
exercise), so what runs here is the path that says, naming the nodes, what was NOT executed;
the kubectl drain, delete and uncordon commands themselves run only on real clusters.
"""

from __future__ import annotations

from tests.playbook_helpers import run_role

testinfra_hosts = ["ansible://k8s-mgmt01"]


def test_the_roll_drains_without_deleting_then_uncordons(tmp_path):
    rc, out = run_role(
        tmp_path, "gpu", "kubernetes_worker", "-e", "kubernetes_worker_drain_delete=false",
        tasks_from="drain",
    )  # fmt: skip
    assert rc == 0, out
    assert "so NOT executed here: drain of k8s-gpu01." in out
    rc, out = run_role(tmp_path, "gpu", "kubernetes_worker", tasks_from="uncordon")
    assert rc == 0, out
    assert "so NOT executed here: uncordon of k8s-gpu01." in out


def test_remove_node_drains_and_deletes(tmp_path):
    rc, out = run_role(tmp_path, "gpu", "kubernetes_worker", tasks_from="drain")
    assert rc == 0, out
    assert "so NOT executed here: drain and delete of k8s-gpu01." in out

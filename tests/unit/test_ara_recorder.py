"""ARA is optional: off when it is not installed or GPUCLUSTER_ARA=0, and never in the way of
ansible-runner's own callback when on."""

from __future__ import annotations

from gpucluster import ara_recorder


def test_off_when_not_installed(inventory, monkeypatch):
    monkeypatch.setattr(ara_recorder, "installed", lambda: False)
    assert ara_recorder.environment(inventory, {"ANSIBLE_CALLBACK_PLUGINS": "/runner"}) == {}


def test_on_it_adds_its_callback_after_runners_and_a_local_database(inventory, monkeypatch):
    monkeypatch.setattr(ara_recorder, "installed", lambda: True)
    monkeypatch.setattr(ara_recorder, "callback_dir", lambda: "/ara/callback")
    env = ara_recorder.environment(inventory, {"ANSIBLE_CALLBACK_PLUGINS": "/runner"})
    assert env["ANSIBLE_CALLBACK_PLUGINS"] == "/runner:/ara/callback"
    assert env["ARA_API_CLIENT"] == "offline"
    assert env["ARA_BASE_DIR"].endswith("/ara")
    monkeypatch.setenv("GPUCLUSTER_ARA", "0")
    assert ara_recorder.environment(inventory, {}) == {}

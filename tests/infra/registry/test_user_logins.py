"""Each declared, unlocked user has a registry login of their own, stored in
their home on the login node (~/.docker/config.json, 0600, theirs), that the
registry accepts for pulls and pushes; only admins may delete; a locked user
has no account. The requests are sent as the user, with the stored login."""

from __future__ import annotations

import base64
import json

import pytest

testinfra_hosts = ["ansible://login"]

# A digest no image has: a delete that passes the door is answered 404 by the registry.
NO_SUCH_MANIFEST = "/v2/gpucluster-test/none/manifests/sha256:" + "0" * 64


@pytest.fixture
def active_users(registry):
    users = registry.active_users
    assert users, "the inventory declares no unlocked user (cluster_users)"
    return users


def test_each_user_has_a_private_login_of_their_own(host, registry, active_users):
    for user in active_users:
        name = user["name"]
        home = host.user(name).home
        config = host.file(f"{home}/.docker/config.json")
        assert config.exists, f"{name} has no {config.path}"
        assert (config.user, config.mode) == (name, 0o600), (name, config.user, oct(config.mode))
        auth = json.loads(config.content_string)["auths"][registry.address]["auth"]
        login, _, password = base64.b64decode(auth).decode().partition(":")
        assert login == name
        assert password == registry.user_password(name), f"{name}'s stored login is stale"


def test_users_are_let_in_and_only_admins_may_delete(host, registry, active_users):
    for user in active_users:
        name = user["name"]
        assert registry.as_user(host, name, "GET", "/v2/") == "200", name
        deleted = registry.as_user(host, name, "DELETE", NO_SUCH_MANIFEST)
        if user.get("admin", False):
            assert deleted == "404", f"admin {name}'s delete did not reach the registry: {deleted}"
        else:
            assert deleted == "401", f"{name} (not an admin) may delete: {deleted}"


def test_locked_users_have_no_account(host, registry):
    locked = {user["name"] for user in registry.users if user.get("locked", False)}
    server = registry.host(registry.server)
    for accounts in ("users", "admins"):
        names = {
            line.split(":", 1)[0]
            for line in server.file(
                f"/etc/nginx/gpucluster-registry/{accounts}"
            ).content_string.splitlines()
            if line and not line.startswith("#")
        }
        assert not names & locked, (accounts, names & locked)
        assert registry.username in names

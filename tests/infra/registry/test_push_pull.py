"""An image built on a login node and pushed there with the registry's
generated credentials, over TLS, can be pulled on every GPU node by the
registry's cluster name, with Docker and with containerd's registry hosts
configuration; without credentials the push and the pull are refused. The
test image is deleted from the registry afterwards (deletes are enabled)."""

from __future__ import annotations

import time

import pytest

testinfra_hosts = ["ansible://login"]

# docker's message when the registry answers 401 and no login is stored.
REFUSED = ("no basic auth credentials", "unauthorized", "authentication required")


def _build_image(host, registry, image):
    rc, output = registry.run(
        host,
        "set -e; d=$(mktemp -d); echo hello > $d/hello.txt; "
        "tar -c -C $d . | docker import - %s; rm -rf $d",
        image,
    )
    assert rc == 0, output


def _digest(host, registry, directory, image):
    repository, tag = image.rsplit(":", 1)
    rc, output = registry.run(
        host,
        "curl -sf --cacert %s --netrc-file %s/netrc -o /dev/null -D - "
        "-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "
        "https://%s/v2/%s/manifests/%s",
        registry.ca_file,
        directory,
        registry.address,
        repository.split("/", 1)[1],
        tag,
    )
    assert rc == 0, output
    return next(
        line.split(":", 1)[1].strip()
        for line in output.splitlines()
        if line.lower().startswith("docker-content-digest:")
    )


def test_push_without_credentials_is_refused(host, registry):
    image = f"{registry.address}/test/refused:{host.backend.host}"
    _build_image(host, registry, image)
    try:
        rc, output = registry.run(host, "DOCKER_CONFIG=$(mktemp -d) docker push %s", image)
        assert rc != 0, output
        assert any(reason in output for reason in REFUSED), output
    finally:
        host.run("docker image rm %s", image)


def test_image_pushed_from_login_is_pulled_on_gpu_nodes(host, registry):
    gpu_nodes = sorted(host.backend.ansible_runner.get_hosts("gpu"))
    if not gpu_nodes:
        pytest.skip("not executed: the inventory has no gpu host to pull on")
    image = f"{registry.address}/test/hello:{host.backend.host}-{int(time.time())}"
    repository = image.rsplit(":", 1)[0].split("/", 1)[1]
    _build_image(host, registry, image)
    digest = None
    with registry.credentials(host) as login:
        try:
            rc, output = registry.run(host, "DOCKER_CONFIG=%s docker push %s", login, image)
            assert rc == 0, output
            pushed = host.check_output("docker image inspect --format '{{.Id}}' %s", image)
            digest = _digest(host, registry, login, image)

            for name in gpu_nodes:
                gpu = registry.host(name)
                rc, output = registry.run(gpu, "DOCKER_CONFIG=$(mktemp -d) docker pull %s", image)
                assert rc != 0, f"{name}: anonymous pull succeeded"
                assert any(reason in output for reason in REFUSED), output
                with registry.credentials(gpu) as gpu_login:
                    try:
                        rc, output = registry.run(
                            gpu, "DOCKER_CONFIG=%s docker pull %s", gpu_login, image
                        )
                        assert rc == 0, f"{name}: {output}"
                        pulled = gpu.check_output(
                            "docker image inspect --format '{{.Id}}' %s", image
                        )
                        assert pulled == pushed
                        # containerd (kubelet's runtime) through its hosts.toml and the CA.
                        rc, output = registry.run(
                            gpu,
                            "ctr -n gpucluster-test content fetch --hosts-dir "
                            "/etc/containerd/certs.d --user %s:$(cat %s/password) %s",
                            registry.username,
                            gpu_login,
                            image,
                        )
                        assert rc == 0, f"{name}: containerd fetch: {output}"
                    finally:
                        gpu.run("docker image rm %s", image)
                        gpu.run("ctr -n gpucluster-test images rm %s", image)
                        gpu.run("ctr -n gpucluster-test content prune references")
        finally:
            host.run("docker image rm %s", image)
            if digest is not None:
                rc, deleted = registry.run(
                    host,
                    "curl -s -o /dev/null -w '%%{http_code}' --cacert %s --netrc-file %s/netrc "
                    "-X DELETE https://%s/v2/%s/manifests/%s",
                    registry.ca_file,
                    login,
                    registry.address,
                    repository,
                    digest,
                )
        assert deleted == "202", f"deleting the test image answered {deleted}"
        rc, output = registry.run(
            host,
            "curl -s -o /dev/null -w '%%{http_code}' --cacert %s --netrc-file %s/netrc "
            "https://%s/v2/%s/manifests/%s",
            registry.ca_file,
            login,
            registry.address,
            repository,
            digest,
        )
        assert output == "404", f"the deleted image still answers {output}"

"""Make sure a Docker engine answers, installing and starting one if needed.

Machines without a service manager running Docker (CI runners, fresh VMs) get
Debian's docker.io and a dockerd started in the background; a workstation's
running engine is used as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
from docker.errors import DockerException

ENGINE_START_TIMEOUT_S = 90


class EngineError(RuntimeError):
    """No Docker engine could be reached or started."""


def connect() -> docker.DockerClient:
    """A client for a running engine, or EngineError."""
    try:
        client = docker.from_env(version="auto", timeout=300)
        client.ping()
    except DockerException as exc:
        raise EngineError(f"no Docker engine answers: {exc}") from exc
    return client


def _install_docker_package() -> None:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise EngineError(
            "dockerd is not installed; install Docker Engine"
            " (e.g. apt-get install docker.io) and rerun"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "docker.io"], check=True, env=env)


def ensure_engine(log_dir: Path) -> docker.DockerClient:
    """Return a client, starting (and if needed installing) dockerd first."""
    try:
        return connect()
    except EngineError:
        pass
    if shutil.which("dockerd") is None:
        _install_docker_package()
    if os.geteuid() != 0:
        raise EngineError("the Docker engine is not running and starting it needs root")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "dockerd.log"
    with log_path.open("ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + ENGINE_START_TIMEOUT_S
    last_error: EngineError | None = None
    while time.monotonic() < deadline:
        try:
            return connect()
        except EngineError as exc:
            last_error = exc
            time.sleep(1)
    raise EngineError(
        f"dockerd did not answer within {ENGINE_START_TIMEOUT_S}s (see {log_path}): {last_error}"
    )

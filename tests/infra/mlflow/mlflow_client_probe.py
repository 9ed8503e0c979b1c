"""Run on the MLflow node with the server's venv: what real MLflow clients can and cannot do.

As the administrator (credentials from the server's environment, never on a command
line) it makes two throwaway accounts. The first logs a run with the real MLflow client: a
parameter, a metric and an artifact file, then reads them back. The second, an anonymous
client and the administrator then try to read that run and its artifact. Prints one JSON
object with the outcomes; no password is printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

import requests

uri, ca = sys.argv[1], sys.argv[2]
admin = (os.environ["MLFLOW_AUTH_ADMIN_USERNAME"], os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"])
tag = secrets.token_hex(4)
owner, other = f"owner{tag}", f"other{tag}"
passwords = {name: secrets.token_urlsafe(18) for name in (owner, other)}
for name, password in passwords.items():
    created = requests.post(
        f"{uri}/api/2.0/mlflow/users/create",
        json={"username": name, "password": password},
        auth=admin,
        verify=ca,
        timeout=30,
    )
    created.raise_for_status()

os.environ.update(
    MLFLOW_TRACKING_URI=uri,
    MLFLOW_TRACKING_SERVER_CERT_PATH=ca,
    MLFLOW_TRACKING_USERNAME=owner,
    MLFLOW_TRACKING_PASSWORD=passwords[owner],
)
import mlflow  # noqa: E402  (reads the environment above when it first connects)
from mlflow import MlflowClient  # noqa: E402

workdir = Path(tempfile.mkdtemp())
artifact = workdir / "result.txt"
artifact.write_text(f"result of {tag}\n")
expected = hashlib.sha256(artifact.read_bytes()).hexdigest()
experiment_id = mlflow.create_experiment(f"molecule/{tag}")
with mlflow.start_run(experiment_id=experiment_id) as run:
    mlflow.log_param("learning_rate", "0.01")
    mlflow.log_metric("loss", 0.25)
    mlflow.log_artifact(str(artifact))
run_id = run.info.run_id
logged = MlflowClient().get_run(run_id)
downloaded = Path(MlflowClient().download_artifacts(run_id, "result.txt", str(workdir / "back")))


def status(path: str, auth: tuple[str, str] | None, **params: str) -> int:
    answer = requests.get(f"{uri}{path}", params=params, auth=auth, verify=ca, timeout=30)
    return answer.status_code


artifact_path = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/result.txt"
print(
    json.dumps(
        {
            "param": logged.data.params.get("learning_rate"),
            "metric": logged.data.metrics.get("loss"),
            "artifact_sha256": hashlib.sha256(downloaded.read_bytes()).hexdigest(),
            "expected_sha256": expected,
            "other_reads_run": status(
                "/api/2.0/mlflow/runs/get", (other, passwords[other]), run_id=run_id
            ),
            "other_reads_artifact": status(artifact_path, (other, passwords[other])),
            "anonymous_reads_run": status("/api/2.0/mlflow/runs/get", None, run_id=run_id),
            "admin_reads_run": status("/api/2.0/mlflow/runs/get", admin, run_id=run_id),
        }
    )
)

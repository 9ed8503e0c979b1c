"""Run on a node with MLflow's client, as a user: what the real client can do there.

The user's login is in ~/.mlflow/credentials and the server and its CA in the environment,
as on the cluster's login nodes; nothing here names a password. Prints one JSON object.

- `log <experiment>`: log a run with a parameter, a metric and an artifact file, read them
  back: the ids, what was read back, and both sha256 sums.
- `read <run id>`: the HTTP status the server answers this user for the run; when it is
  200, also the run's metric and the sha256 of its artifact.
- `delete <experiment id>`: delete the experiment (what a test made).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.utils.credentials import read_mlflow_creds


def _artifact_sha256(run_id: str) -> str:
    back = Path(tempfile.mkdtemp())
    return hashlib.sha256(
        Path(MlflowClient().download_artifacts(run_id, "result.txt", str(back))).read_bytes()
    ).hexdigest()


def log(experiment_name: str) -> dict:
    artifact = Path(tempfile.mkdtemp()) / "result.txt"
    artifact.write_text(f"result of {experiment_name}\n")
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.log_param("learning_rate", "0.01")
        mlflow.log_metric("loss", 0.25)
        mlflow.log_artifact(str(artifact))
    logged = MlflowClient().get_run(run.info.run_id)
    return {
        "experiment_id": run.info.experiment_id,
        "run_id": run.info.run_id,
        "param": logged.data.params.get("learning_rate"),
        "metric": logged.data.metrics.get("loss"),
        "artifact_sha256": _artifact_sha256(run.info.run_id),
        "expected_sha256": hashlib.sha256(artifact.read_bytes()).hexdigest(),
    }


def read(run_id: str) -> dict:
    login = read_mlflow_creds()
    answer = requests.get(
        f"{os.environ['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/runs/get",
        params={"run_id": run_id},
        auth=(login.username, login.password) if login.username else None,
        verify=os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"],
        timeout=30,
    )
    if answer.status_code != 200:
        return {"status": answer.status_code}
    return {
        "status": 200,
        "metric": MlflowClient().get_run(run_id).data.metrics.get("loss"),
        "artifact_sha256": _artifact_sha256(run_id),
    }


if __name__ == "__main__":
    action, argument = sys.argv[1], sys.argv[2]
    if action == "delete":
        MlflowClient().delete_experiment(argument)
        print(json.dumps({"deleted": argument}))
    else:
        print(json.dumps(log(argument) if action == "log" else read(argument)))

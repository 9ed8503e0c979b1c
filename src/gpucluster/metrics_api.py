"""Prometheus' HTTP API as the operator's tools reach it: TLS from the cluster CA, basic auth.

The prometheus role writes `<secrets>/monitoring/client.json` on every install: the URL,
the operators' account and the cluster CA's certificate. The password is the account's
generated file beside it. Nothing here is typed by the operator, so a tool cannot point
at the wrong server or trust a CA the cluster does not use.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpucluster.secrets_tracking import SECRETS_DIR_NAME

CLIENT_FILE = Path(SECRETS_DIR_NAME) / "monitoring" / "client.json"
"""Relative to the inventory directory (role cluster's default secrets directory)."""


class MetricsUnavailable(RuntimeError):
    """Prometheus cannot be asked: not installed yet, unreachable, or it refused."""


@dataclass(frozen=True)
class PrometheusApi:
    url: str
    username: str
    password: str
    ca_pem: str

    @classmethod
    def for_inventory(cls, inventory_dir: Path) -> PrometheusApi:
        """The API of the cluster this inventory describes, from what install left beside it."""
        client_file = inventory_dir / CLIENT_FILE
        try:
            client = json.loads(client_file.read_text(encoding="utf-8"))
            password_file = client_file.parent / f"{client['username']}.password"
            password = password_file.read_text(encoding="utf-8").split()[0]
            return cls(client["url"], client["username"], password, client["ca_pem"])
        except (OSError, ValueError, KeyError, IndexError) as error:
            raise MetricsUnavailable(
                f"{client_file}: cannot read Prometheus' address and login ({error}); "
                "run `gpucluster install` first"
            ) from None

    def query(self, promql: str, timeout: float = 10) -> list[dict[str, Any]]:
        """The instant vector of one PromQL expression."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
        try:
            context = ssl.create_default_context(cadata=self.ca_pem)
            with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise MetricsUnavailable(f"{self.url}: HTTP {error.code} for {promql!r}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise MetricsUnavailable(f"{self.url}: {error}") from None
        if body.get("status") != "success":
            raise MetricsUnavailable(f"{self.url}: {body.get('error', body)} for {promql!r}")
        return list(body["data"]["result"])

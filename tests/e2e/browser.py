"""A real browser for the end-to-end test: Debian's headless Chromium.

It trusts the cluster CA the way an operator's browser would (an NSS database in a
private home directory, nothing else trusted beyond the system's roots), logs in with
basic auth, and returns the page as the browser rendered it plus a screenshot. The
password travels only in the URL handed to the browser's process; nothing here
prints that URL.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

BROWSER = "chromium-headless-shell"
CERTUTIL = "certutil"
INSTALL_HINT = "scripts/bootstrap.sh installs chromium-headless-shell and libnss3-tools"


@dataclass(frozen=True)
class RenderedPage:
    dom: str
    screenshot: Path


def _run(argv: list[str], home: Path, what: str, timeout: int = 60) -> str:
    completed = subprocess.run(
        argv,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        # argv may hold the password: say what failed with the tool's own words only.
        raise AssertionError(
            f"{what} failed (rc {completed.returncode}): {completed.stderr[-2000:]}"
        )
    return completed.stdout


def open_page(
    url: str, username: str, password: str, ca_pem: str, workdir: Path, screenshot: Path
) -> RenderedPage:
    """Open `url` as `username`, trusting only the system roots and `ca_pem`."""
    for tool in (BROWSER, CERTUTIL):
        assert shutil.which(tool, path="/usr/bin:/bin"), f"{tool} is missing: {INSTALL_HINT}"
    home = workdir / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    ca_file = workdir / "cluster-ca.crt"
    ca_file.write_text(ca_pem, encoding="utf-8")
    _run([CERTUTIL, "-d", f"sql:{nssdb}", "-N", "--empty-password"], home, "certutil -N")
    _run(
        [
            CERTUTIL,
            "-d",
            f"sql:{nssdb}",
            "-A",
            "-t",
            "C,,",
            "-n",
            "gpucluster-ca",
            "-i",
            str(ca_file),
        ],
        home,
        "certutil -A",
    )
    parts = urllib.parse.urlsplit(url)
    credentials = f"{urllib.parse.quote(username, safe='')}:{urllib.parse.quote(password, safe='')}"
    with_login = parts._replace(netloc=f"{credentials}@{parts.netloc}").geturl()
    browser = [
        BROWSER,
        # The test runs as root in CI, where Chromium's own sandbox cannot start.
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={workdir / 'profile'}",
        "--window-size=1100,1500",
    ]
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [*browser, f"--screenshot={screenshot}", with_login], home, f"{BROWSER} --screenshot {url}"
    )
    dom = _run([*browser, "--dump-dom", with_login], home, f"{BROWSER} --dump-dom {url}")
    return RenderedPage(dom, screenshot)

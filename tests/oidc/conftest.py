"""Two real OpenID providers (oidc-provider from npm, run with the machine's Node.js) and the app
under uvicorn configured to trust them.

``npm ci`` installs the pinned provider into tests/oidc/provider/node_modules when missing.
Provider "alpha" is trusted for org A (西湖区慈善总会): its users become active members at once.
Provider "beta" is not trusted (org B, 三门县总工会): its users wait for approval.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, _free_port

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"


@dataclass(frozen=True)
class OP:
    name: str
    issuer: str

    def secret(self, client: str = "tongxin") -> str:
        return f"{'tongxin' if client == 'tongxin' else 'other'}-secret-{self.name}"


@dataclass(frozen=True)
class OIDCEnv:
    app: str
    alpha: OP
    beta: OP


def _pump(proc: subprocess.Popen[bytes], lines: list[str]) -> None:
    threading.Thread(
        target=lambda: lines.extend(line.decode(errors="replace") for line in proc.stdout or []),
        daemon=True,
    ).start()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="session")
def oidc_env(database_url: str, redis_url: str, demo: dict[str, Any]) -> Iterator[OIDCEnv]:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "Node.js and npm are needed for the OpenID provider: apt-get install -y nodejs npm"
        )
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True)
    app_port, alpha_port, beta_port = _free_port(), _free_port(), _free_port()
    app = f"http://127.0.0.1:{app_port}"
    config = {
        "app": app,
        "providers": [{"name": "alpha", "port": alpha_port}, {"name": "beta", "port": beta_port}],
    }
    op_lines: list[str] = []
    op = subprocess.Popen(
        [node, "server.mjs"],
        cwd=PROVIDER_DIR,
        env={**os.environ, "OP_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    _pump(op, op_lines)
    deadline = time.monotonic() + 30
    while not any("ready" in line for line in op_lines):
        if op.poll() is not None or time.monotonic() > deadline:
            _stop(op)
            raise RuntimeError("the OpenID providers did not start:\n" + "".join(op_lines[-40:]))
        time.sleep(0.1)
    alpha = OP("alpha", f"http://127.0.0.1:{alpha_port}")
    beta = OP("beta", f"http://127.0.0.1:{beta_port}")
    providers = [
        {
            "name": "alpha",
            "issuer": alpha.issuer,
            "client_id": "tongxin",
            "client_secret": alpha.secret(),
            "label": "西湖区统一身份认证",
            "organization_id": str(demo["org:charity"]),
            "trusted": True,
        },
        {
            "name": "beta",
            "issuer": beta.issuer,
            "client_id": "tongxin",
            "client_secret": beta.secret(),
            "label": "三门县总工会账号",
            "organization_id": str(demo["org:union"]),
            "role": "volunteer",
        },
    ]
    env = {
        **os.environ,
        "TONGXIN_DATABASE_URL": database_url,
        "TONGXIN_REDIS_URL": redis_url,
        "TONGXIN_PORT": str(app_port),
        "TONGXIN_LOAD_DEMO_DATA": "false",
        "TONGXIN_LOG_LEVEL": "WARNING",
        "TONGXIN_OIDC_PROVIDERS": json.dumps(providers),
    }
    app_lines: list[str] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "run", "--port", str(app_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    _pump(proc, app_lines)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(app + "/healthz", timeout=2, trust_env=False).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            _stop(op)
            raise RuntimeError("the app did not start:\n" + "".join(app_lines[-50:]))
        time.sleep(0.3)
    try:
        yield OIDCEnv(app, alpha, beta)
    finally:
        _stop(proc)
        _stop(op)

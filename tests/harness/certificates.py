"""A test CA and a server certificate it signed for 127.0.0.1 only (made with the real
openssl), for the TLS tests: a broker's (`broker.pem`, `broker.key`), a database's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness.parts import find_program


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, and a broker certificate it signed for 127.0.0.1 only."""
    openssl = find_program("openssl", hint="sudo apt-get install openssl")
    folder = tmp_path_factory.mktemp("tls")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        [
            "req",
            "-x509",
            *ec,
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=telemetry test CA",
        ],
        ["req", *ec, "-keyout", "broker.key", "-out", "broker.csr", "-subj", "/CN=127.0.0.1"],
        [
            "x509",
            "-req",
            "-in",
            "broker.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "broker.pem",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        ],
    ):
        subprocess.run([openssl, *command], cwd=folder, check=True, capture_output=True)
    return folder

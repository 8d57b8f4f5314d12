"""A throw-away certificate authority and a site certificate, made with the openssl tool."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LocalPKI:
    """A CA and one server certificate for `names`."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """What the fake site serves with."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client that trusts only this CA and checks host names."""
        return ssl.create_default_context(cafile=str(self.ca))


def make_pki(folder: Path, *names: str) -> LocalPKI:
    """Issue a certificate for `names` from a new CA in `folder`."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Facilitator test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    openssl("req", *curve, "-keyout", "site.key", "-out", "site.csr", "-subj", f"/CN={names[0]}")
    (folder / "site.ext").write_text(
        "subjectAltName=" + ",".join(f"DNS:{name}" for name in names) + "\n"
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    openssl("x509", "-req", "-in", "site.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "2",
            "-CAcreateserial", "-out", "site.pem", "-extfile", "site.ext")  # fmt: skip
    return LocalPKI(ca=folder / "ca.pem", cert=folder / "site.pem", key=folder / "site.key")

"""A node's key files. Private keys are written once, mode 0600, and never logged.

Separate keys per purpose (design §4): `tls.key` (ECDSA P-256, both ports), `signing.key`
(envelopes and receipts), `token.key` (access tokens); a central node also holds `ca.key` (the
federation CA) and `directory.key` (signs the directory). Signing, token and directory keys are of
the federation's crypto profile (Ed25519, or SM2), each a PKCS#8 file that names its algorithm.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core import algorithms
from core.algorithms import PROFILES, Profile, SigningKey
from core.errors import ConfigError
from federation.tls import TlsIdentity, chain_for
from identity.ca import CaHistory, FederationCa

__all__ = [
    "HISTORY",
    "KEY_DIR",
    "ROTATING",
    "NodeKeys",
    "cert_pem",
    "generate_node_keys",
    "load_ca_bundle",
    "load_history",
    "load_node_keys",
    "load_signing_key",
    "load_tls",
    "next_key_path",
    "next_tls_paths",
    "paths",
    "private_pem",
    "save_directory_public",
    "save_enrolment",
    "write_private",
    "write_public",
]

KEY_DIR = "keys"


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def private_pem(key: ec.EllipticCurvePrivateKey | SigningKey) -> bytes:
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return algorithms.private_pem(key)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _load_private(path: Path) -> object:
    return serialization.load_pem_private_key(_read_private(path), password=None)


def _read_private(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: missing; was this node initialised with `swnode init`?"
        ) from exc
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"{path}: private key is readable by others (mode {mode:o}); run chmod 600 {path}"
        )
    return data


def _load_signing(path: Path) -> SigningKey:
    key = algorithms.load_private_pem(_read_private(path))
    if key is None:
        raise ConfigError(f"{path}: expected an Ed25519 or SM2 private key (PKCS#8 PEM)")
    return key


def _load_ec(path: Path) -> ec.EllipticCurvePrivateKey:
    key = _load_private(path)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{path}: expected an ECDSA private key")
    return key


def _load_cert(path: Path) -> x509.Certificate | None:
    if not path.exists():
        return None
    return x509.load_pem_x509_certificate(path.read_bytes())


@dataclass(frozen=True)
class NodeKeys:
    tls_key: ec.EllipticCurvePrivateKey
    signing_key: SigningKey
    token_key: SigningKey
    # Present once the node is enrolled (a central node enrols itself at init).
    tls_cert: x509.Certificate | None
    ca_cert: x509.Certificate | None
    # The key that signs this federation's directory: private on the central, public elsewhere.
    directory_public: bytes | None
    directory_key: SigningKey | None = None
    ca_key: ec.EllipticCurvePrivateKey | None = None
    # A central rotating its directory key: the next one, announced until it signs (§2.9).
    directory_next: SigningKey | None = None
    # Every CA certificate in `ca.crt` (the first is `ca_cert`), cross certificates included,
    # during a CA rotation (§2.9); and on a central, its CAs over time.
    ca_bundle: tuple[x509.Certificate, ...] = ()
    ca_history: CaHistory | None = None

    @property
    def profile(self) -> Profile:
        """The federation's crypto profile, which this node's own keys are of."""
        return algorithms.profile_of(self.signing_key)

    def tls_identity(self) -> TlsIdentity:
        assert self.tls_cert is not None and self.ca_cert is not None
        return TlsIdentity(
            key_pem=private_pem(self.tls_key),
            chain_pem=chain_for(self.tls_cert, self.ca_bundle or (self.ca_cert,)),
        )

    @property
    def enrolled(self) -> bool:
        return (
            self.tls_cert is not None
            and self.ca_cert is not None
            and self.directory_public is not None
        )


def paths(node_dir: Path) -> dict[str, Path]:
    d = node_dir / KEY_DIR
    return {
        name: d / name
        for name in (
            "tls.key",
            "tls.crt",
            "ca.crt",
            "signing.key",
            "token.key",
            "ca.key",
            "directory.key",
            "directory.pub",
            "directory.next.key",
        )
    }


def generate_node_keys(
    node_dir: Path, *, central: bool, profile: Profile = PROFILES["ed25519"]
) -> None:
    p = paths(node_dir)
    write_private(p["tls.key"], private_pem(ec.generate_private_key(ec.SECP256R1())))
    write_private(p["signing.key"], private_pem(algorithms.generate(profile.key_algorithm)))
    write_private(p["token.key"], private_pem(algorithms.generate(profile.key_algorithm)))
    if central:
        write_private(p["ca.key"], private_pem(ec.generate_private_key(ec.SECP256R1())))
        write_private(p["directory.key"], private_pem(algorithms.generate(profile.key_algorithm)))


def load_node_keys(node_dir: Path) -> NodeKeys:
    p = paths(node_dir)
    directory_key = _load_signing(p["directory.key"]) if p["directory.key"].exists() else None
    ca_key = _load_ec(p["ca.key"]) if p["ca.key"].exists() else None
    if directory_key is not None:
        directory_public = algorithms.public_bytes(directory_key)
    elif p["directory.pub"].exists():
        directory_public = p["directory.pub"].read_bytes()
    else:
        directory_public = None
    return NodeKeys(
        tls_key=_load_ec(p["tls.key"]),
        signing_key=_load_signing(p["signing.key"]),
        token_key=_load_signing(p["token.key"]),
        tls_cert=_load_cert(p["tls.crt"]),
        ca_cert=_load_cert(p["ca.crt"]),
        directory_public=directory_public,
        directory_key=directory_key,
        ca_key=ca_key,
        directory_next=(
            _load_signing(p["directory.next.key"]) if p["directory.next.key"].exists() else None
        ),
        ca_bundle=load_ca_bundle(node_dir),
        ca_history=load_history(node_dir / KEY_DIR),
    )


def load_ca_bundle(node_dir: Path) -> tuple[x509.Certificate, ...]:
    """Every certificate in `keys/ca.crt`: the federation's CAs its clients trust (§2.9)."""
    path = paths(node_dir)["ca.crt"]
    return tuple(x509.load_pem_x509_certificates(path.read_bytes())) if path.exists() else ()


def save_enrolment(
    node_dir: Path, *, tls_cert: x509.Certificate, ca_cert: x509.Certificate, directory_key: bytes
) -> None:
    p = paths(node_dir)
    write_public(p["tls.crt"], cert_pem(tls_cert))
    write_public(p["ca.crt"], cert_pem(ca_cert))
    if directory_key and not p["directory.key"].exists():
        write_public(p["directory.pub"], directory_key)


# The keys `swnode rotate` replaces, by purpose: the file of the key in use. A rotation writes
# the new key beside it as `<name>.next.key`; the running node moves it in place once the
# directory lists it as valid (PROTOCOL.md §2.9), and the old private key is gone.
ROTATING = {"sig": "signing.key", "tok": "token.key"}


def next_key_path(node_dir: Path, purpose: str) -> Path:
    return node_dir / KEY_DIR / ROTATING[purpose].replace(".key", ".next.key")


def next_tls_paths(node_dir: Path) -> tuple[Path, Path]:
    """Where `swnode rotate --key tls` puts the new TLS key and its certificate until the
    running node presents them."""
    d = node_dir / KEY_DIR
    return d / "tls.next.key", d / "tls.next.crt"


def load_tls(
    node_dir: Path, *, pending: bool = False
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The TLS key and certificate in use (or, `pending`, those waiting to be used)."""
    p = paths(node_dir)
    key_path, cert_path = next_tls_paths(node_dir) if pending else (p["tls.key"], p["tls.crt"])
    cert = _load_cert(cert_path)
    if cert is None:
        raise ConfigError(f"{cert_path}: missing")
    return _load_ec(key_path), cert


def save_directory_public(node_dir: Path, public_key: bytes) -> None:
    """A member follows its federation's directory key rotation (§2.9)."""
    write_public(paths(node_dir)["directory.pub"], public_key)


def load_signing_key(path: Path) -> SigningKey:
    """An Ed25519 or SM2 private key file (mode 0600)."""
    return _load_signing(path)


# A central's CAs over time, once it rotated its CA (identity/ca_rotation.py).
HISTORY = "ca.history.json"


def _cert(text: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode(text))


def _key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    """A CA's private key (mode 0600, as every private key), or None once deleted."""
    return _load_ec(path) if path.exists() else None


def load_history(key_dir: Path) -> CaHistory | None:
    """The central's CAs (None on a node that holds no CA)."""
    path = key_dir / HISTORY
    if not path.exists():
        key = _key(key_dir / "ca.key")
        crt = key_dir / "ca.crt"
        if key is None or not crt.exists():
            return None
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
        return CaHistory((FederationCa(cert, "ca.key", key),))
    try:
        raw = json.loads(path.read_text())
        cas = tuple(
            FederationCa(
                certificate=_cert(e["certificate"]),
                key_file=e["key_file"],
                key=_key(key_dir / e["key_file"]),
                cross=_cert(e["cross_certificate"]) if e["cross_certificate"] else None,
                active_from_ms=int(e["active_from_unix_ms"]),
                retired_at_ms=int(e["retired_at_unix_ms"]),
            )
            for e in raw["cas"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a CA history this version writes ({exc})") from exc
    return CaHistory(cas)

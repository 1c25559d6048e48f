"""A private CA and a server certificate for the emulator's HTTPS listener.

msal only accepts https authorities (docs/graph-notes.md §0.8), so the emulator serves TLS with a
certificate issued by its own CA; clients trust that CA file explicitly (a requests.Session
with `verify=<ca file>` and `trust_env=False`, because REQUESTS_CA_BUNDLE would override it).
The files are reused when they already exist and are still valid.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server.key"
HOSTS = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")


def ensure_certificates(directory: Path, extra_hosts: tuple[str, ...] = ()) -> tuple[Path, Path, Path]:
    """Return (ca file, server cert chain, server key) in `directory`, creating them if needed."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = (directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE)
    if all(p.exists() for p in paths) and _still_valid(paths[1], extra_hosts):
        return paths
    ca_key, ca_cert = _make_ca()
    key, cert = _make_server(ca_key, ca_cert, extra_hosts)
    _write(paths[0], ca_cert.public_bytes(serialization.Encoding.PEM))
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    _write(paths[1], chain)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(paths[2], key_pem, private=True)
    return paths


def _write(path: Path, data: bytes, private: bool = False) -> None:
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_bytes(data)
    if private:
        os.chmod(temp, 0o600)
    os.replace(temp, path)


def _still_valid(cert_path: Path, extra_hosts: tuple[str, ...]) -> bool:
    try:
        cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound, OSError):
        return False
    dns = set(names.get_values_for_type(x509.DNSName))
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    return cert.not_valid_after_utc > soon and set(HOSTS + extra_hosts) <= dns


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Prextra Sync Graph emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = _name("Prextra Sync emulator CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server(ca_key, ca_cert: x509.Certificate, extra_hosts: tuple[str, ...]):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    alt_names = [x509.DNSName(h) for h in HOSTS + extra_hosts]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=397))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert

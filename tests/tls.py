"""
A throwaway self-signed certificate for TLS tests.
"""

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def writeCertificate(directory: Path) -> tuple[Path, Path]:
    """
    Write a key and a self-signed certificate for C{localhost} and
    127.0.0.1; return their paths.  The certificate is alone in
    C{directory/ca}, so that folder can serve as a client's trust roots.
    """
    from ipaddress import ip_address

    (directory / "ca").mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    keyPath = directory / "key.pem"
    certPath = directory / "ca" / "cert.pem"
    keyPath.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certPath.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return keyPath, certPath

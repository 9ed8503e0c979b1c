#!/usr/bin/python3
"""Is this host's server certificate in place and current? One round trip, read-only.

tasks/certificate.yml issues a certificate (key, signing request, signature on the CA
host, install: eight steps) only when this probe says why it must; on a converged host
it prints `current` and the role skips all of that. The answer is `current` only when
every one of these holds, else the first that does not, on one line:
- the key is an RSA key of the wanted size, owned root:<key group>, mode 0640;
- the certificate is owned root:root, mode 0644, and matches the key;
- it is signed by the CA certificate this host trusts (<CA dir>/ca.crt);
- its subject common name, DNS names and IP addresses are exactly the wanted ones,
  and it is for server authentication;
- it is valid now and for more than the renewal window.

Arguments: KEY CERT CA_CERT KEY_GROUP KEY_BITS RENEW_DAYS, then DNS names, `--ip`, and
IP addresses.
"""

from __future__ import annotations

import datetime
import grp
import ipaddress
import pwd
import stat
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def ownership(path: Path) -> str:
    """`user:group mode` of a file, as `ls -l` names them."""
    info = path.stat()
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:  # an id without a name is never the wanted owner
        owner, group = str(info.st_uid), str(info.st_gid)
    return f"{owner}:{group} {stat.S_IMODE(info.st_mode):04o}"


def why_not_current(argv: list[str]) -> str | None:
    key_file, cert_file, ca_file, key_group, key_bits, renew_days, *names = argv
    key_path, cert_path, ca_path = Path(key_file), Path(cert_file), Path(ca_file)
    split = names.index("--ip") if "--ip" in names else len(names)
    dns_names, ip_addresses = names[:split], names[split + 1 :]
    for path in (key_path, cert_path, ca_path):
        if not path.is_file():
            return f"no {path}"
    if ownership(key_path) != f"root:{key_group} 0640":
        return f"{key_path} is {ownership(key_path)}"
    if ownership(cert_path) != "root:root 0644":
        return f"{cert_path} is {ownership(cert_path)}"
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != int(key_bits):
        return f"{key_path} is not an RSA key of {key_bits} bits"
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        return "the certificate does not match the key"
    if cert.issuer != ca.subject:
        return "the certificate was not issued by the trusted CA"
    try:
        ca.public_key().verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            padding.PKCS1v15(),
            cert.signature_hash_algorithm,
        )
    except Exception:  # any failure to verify means: issue it again
        return "the certificate's signature does not verify against the trusted CA"
    common_names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if common_names != dns_names[:1]:
        return f"the common name is {common_names}"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as missing:
        return f"the certificate has no {missing.oid._name}"
    if sorted(san.get_values_for_type(x509.DNSName)) != sorted(dns_names):
        return "the DNS names differ"
    wanted_ips = sorted(ipaddress.ip_address(address) for address in ip_addresses)
    if sorted(san.get_values_for_type(x509.IPAddress)) != wanted_ips:
        return "the IP addresses differ"
    if ExtendedKeyUsageOID.SERVER_AUTH not in usage:
        return "the certificate is not for server authentication"
    not_before, not_after = validity(cert)
    # datetime.UTC is new in Python 3.11; Ubuntu jammy's is 3.10.
    now = datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
    if not_before > now:
        return "the certificate is not valid yet"
    if not_after <= now + datetime.timedelta(days=int(renew_days)):
        return "the certificate expires within the renewal window"
    return None


def validity(cert: x509.Certificate) -> tuple[datetime.datetime, datetime.datetime]:
    """Not before and not after, in UTC (cryptography 42 added the *_utc names)."""
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    utc = datetime.timezone.utc  # noqa: UP017 (Python 3.10 on jammy)
    return cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)


if __name__ == "__main__":
    try:
        print(why_not_current(sys.argv[1:]) or "current")
    except Exception as error:  # a damaged file: the role issues the certificate again
        print(f"unreadable: {error}".replace("\n", " "))

"""What a secured local instance needs: its own certificate authority and certificates, and the
security plugin's users, roles and settings.

Three users with generated passwords: ``admin`` (everything), ``writer`` (creates, writes and
replaces indices: what ``hybrid ingest`` needs) and ``reader`` (searches and reads indices and their
records: what ``hybrid search`` and the proxy need). A client certificate (CN ``hybrid-client``)
authenticates as a reader without a password. The client-side secrets live in the instance's
``credentials`` folder, readable by its owner only; a node gets only its own certificate and key.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from hybrid.local_opensearch.node import PRIVATE, Access

USERS = ("admin", "writer", "reader")
CLIENT_CN = "hybrid-client"
_VALID_DAYS = 825
# The plugin's own files the instance takes unchanged from the distribution (action groups, tenants …).
_UNCHANGED = ("action_groups.yml", "tenants.yml", "nodes_dn.yml", "allowlist.yml")


@dataclass(frozen=True)
class Credentials:
    """The client side of a secured instance: where its files are and the users' passwords."""

    folder: Path
    passwords: dict[str, str]

    @property
    def ca(self) -> Path:
        return self.folder / "root-ca.pem"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client-key.pem"

    @property
    def admin_access(self) -> Access:
        return Access(self.ca, "admin", self.passwords["admin"])

    @classmethod
    def load(cls, folder: Path) -> Credentials:
        return cls(folder, json.loads((folder / "passwords.json").read_text()))


def _private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file that only its owner may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _name(common_name: str):  # type: ignore[no-untyped-def]
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID

    return Name([NameAttribute(NameOID.ORGANIZATION_NAME, "hybrid"), NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key) -> bytes:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    # The plugin reads PKCS#8 keys.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Authority:
    """A certificate authority made for one instance."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        self.key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder().subject_name(_name("hybrid-root-ca")).issuer_name(_name("hybrid-root-ca"))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def issue(self, common_name: str, *, server: bool) -> tuple[bytes, bytes, str]:
        """A leaf certificate and key (PEM) and its subject DN as the plugin compares DNs (RFC 4514).
        A server certificate names 127.0.0.1 and localhost; every leaf may act as a TLS client too
        (nodes are each other's clients on the transport layer)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import ExtendedKeyUsageOID

        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key), cert.subject.rfc4514_string()

    @property
    def cert_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class SecuredInstance:
    """Everything made for one secured instance: the client side and what each node's config folder gets."""

    credentials: Credentials
    node_files: dict[str, bytes]  # file name -> content, copied into every node's config folder
    node_dn: str
    admin_dn: str


def create(instance: Path, index_patterns: tuple[str, ...] = ("*",)) -> SecuredInstance:
    """Make the CA, certificates and passwords of a new secured instance under ``instance/credentials``."""
    folder = instance / PRIVATE
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    authority = Authority()
    node_pem, node_key, node_dn = authority.issue("hybrid-node", server=True)
    admin_pem, admin_key, admin_dn = authority.issue("hybrid-admin", server=False)
    client_pem, client_key, _ = authority.issue(CLIENT_CN, server=False)
    (folder / "root-ca.pem").write_bytes(authority.cert_pem)
    _private(folder / "root-ca-key.pem", _pem_key(authority.key))
    (folder / "admin.pem").write_bytes(admin_pem)
    _private(folder / "admin-key.pem", admin_key)
    (folder / "client.pem").write_bytes(client_pem)
    _private(folder / "client-key.pem", client_key)
    passwords = {user: secrets.token_urlsafe(18) for user in USERS}
    _private(folder / "passwords.json", json.dumps(passwords, indent=1).encode())
    (folder / "instance.json").write_text(json.dumps({"node_dn": node_dn, "admin_dn": admin_dn,
                                                      "index_patterns": list(index_patterns)}))
    return load(instance, node_files={"node.pem": node_pem, "node-key.pem": node_key, "root-ca.pem": authority.cert_pem})


def load(instance: Path, node_files: dict[str, bytes] | None = None) -> SecuredInstance:
    """An existing secured instance. ``node_files`` are given only when the instance is created: its
    nodes' config folders already hold them afterwards."""
    folder = instance / PRIVATE
    recorded = json.loads((folder / "instance.json").read_text())
    return SecuredInstance(Credentials.load(folder), node_files or {}, recorded["node_dn"], recorded["admin_dn"])


def is_secured(instance: Path) -> bool:
    return (instance / PRIVATE / "passwords.json").is_file()


def opensearch_yml(secured: SecuredInstance) -> str:
    """The security plugin's node settings: TLS on transport and HTTP with the instance's certificates,
    the security index created from the config folder on first start, no audit log."""
    return (
        "plugins.security.ssl.transport.pemcert_filepath: node.pem\n"
        "plugins.security.ssl.transport.pemkey_filepath: node-key.pem\n"
        "plugins.security.ssl.transport.pemtrustedcas_filepath: root-ca.pem\n"
        "plugins.security.ssl.transport.enforce_hostname_verification: false\n"
        "plugins.security.ssl.http.enabled: true\n"
        "plugins.security.ssl.http.pemcert_filepath: node.pem\n"
        "plugins.security.ssl.http.pemkey_filepath: node-key.pem\n"
        "plugins.security.ssl.http.pemtrustedcas_filepath: root-ca.pem\n"
        "plugins.security.ssl.http.clientauth_mode: OPTIONAL\n"
        "plugins.security.allow_default_init_securityindex: true\n"
        f"plugins.security.authcz.admin_dn: [\"{secured.admin_dn}\"]\n"
        f"plugins.security.nodes_dn: [\"{secured.node_dn}\"]\n"
        "plugins.security.audit.type: noop\n"
        "plugins.security.restapi.roles_enabled: [\"all_access\"]\n"
        "plugins.security.system_indices.enabled: true\n"
    )


def _hash(password: str) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def _roles(patterns: list[str]) -> str:
    listed = json.dumps(patterns)
    return (
        '_meta: {type: "roles", config_version: 2}\n'
        "hybrid_writer:\n"
        '  description: "hybrid ingest: create, write, re-point aliases of and delete indices"\n'
        '  cluster_permissions: ["cluster_monitor", "cluster_composite_ops", "indices:admin/aliases",'
        ' "indices:data/read/scroll*"]\n'
        "  index_permissions:\n"
        f"    - index_patterns: {listed}\n"
        '      allowed_actions: ["indices_all"]\n'
        "hybrid_reader:\n"
        '  description: "hybrid search and the proxy: search and read indices and their records"\n'
        '  cluster_permissions: ["cluster_monitor", "cluster_composite_ops_ro", "indices:data/read/scroll*"]\n'
        "  index_permissions:\n"
        f"    - index_patterns: {listed}\n"
        '      allowed_actions: ["read", "indices_monitor", "indices:admin/mappings/get", "indices:admin/get",'
        ' "indices:admin/aliases/get"]\n'
    )


def write_security_config(secured: SecuredInstance, defaults: Path, config_dir: Path) -> None:
    """The plugin's configuration folder of one node: users with bcrypt hashes, the two roles, the
    mappings, HTTP basic and client-certificate authentication."""
    folder = config_dir / "opensearch-security"
    folder.mkdir(parents=True, exist_ok=True)
    for name in _UNCHANGED:
        shutil.copy2(defaults / name, folder / name)
    recorded = json.loads((secured.credentials.folder / "instance.json").read_text())
    (folder / "roles.yml").write_text(_roles(recorded["index_patterns"]))
    users = ['_meta: {type: "internalusers", config_version: 2}']
    for user, password in secured.credentials.passwords.items():
        users.append(f'{user}:\n  hash: "{_hash(password)}"\n  reserved: {str(user == "admin").lower()}')
    (folder / "internal_users.yml").write_text("\n".join(users) + "\n")
    (folder / "roles_mapping.yml").write_text(
        '_meta: {type: "rolesmapping", config_version: 2}\n'
        'all_access:\n  reserved: false\n  users: ["admin"]\n'
        'hybrid_writer:\n  users: ["writer"]\n'
        f'hybrid_reader:\n  users: ["reader", "{CLIENT_CN}"]\n'
    )
    (folder / "audit.yml").write_text('_meta: {type: "audit", config_version: 2}\nconfig:\n  enabled: false\n')
    (folder / "config.yml").write_text(
        '_meta: {type: "config", config_version: 2}\n'
        "config:\n"
        "  dynamic:\n"
        "    http:\n"
        "      anonymous_auth_enabled: false\n"
        "    authc:\n"
        "      clientcert_auth_domain:\n"
        "        http_enabled: true\n"
        "        transport_enabled: false\n"
        "        order: 0\n"
        "        http_authenticator: {type: clientcert, config: {username_attribute: cn}, challenge: false}\n"
        "        authentication_backend: {type: noop}\n"
        "      basic_internal_auth_domain:\n"
        "        http_enabled: true\n"
        "        transport_enabled: true\n"
        "        order: 1\n"
        "        http_authenticator: {type: basic, challenge: true}\n"
        "        authentication_backend: {type: intern}\n"
    )
    for name, content in secured.node_files.items():
        if name.endswith("-key.pem"):
            _private(config_dir / name, content)
        else:
            (config_dir / name).write_bytes(content)

"""Who may talk to the sidecar: loopback checks, CURVE keys for ZeroMQ, a WebSocket token.

Loopback needs no authentication: only programs on this machine can reach it. Anything
wider needs ZeroMQ CURVE (every client proves it holds a secret key whose public half is in
the server's clients directory) and, for the WebSocket relay, a shared token sent as the
first message. `npc-brain keys` makes both.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path

import zmq
import zmq.auth
from pydantic import BaseModel, ConfigDict
from zmq.auth.thread import ThreadAuthenticator

TOKEN_BYTES = 32


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; wildcards and interface names are not."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_is_local(endpoint: str) -> bool:
    """Whether a ZeroMQ endpoint can only be reached from this machine."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    host = rest.rpartition(":")[0]
    return scheme == "tcp" and is_loopback_host(host)


class CurveKeys(BaseModel):
    """The sidecar's CURVE identity and the public keys of the clients it lets in."""

    model_config = ConfigDict(frozen=True)

    public: bytes
    secret: bytes
    clients_dir: Path

    @classmethod
    def load(cls, secret_file: str | Path, clients_dir: str | Path) -> CurveKeys:
        public, secret = load_key_pair(secret_file)
        directory = Path(clients_dir)
        if not directory.is_dir() or not any(directory.glob("*.key")):
            raise ValueError(f"{directory} holds no client public keys (*.key)")
        return cls(public=public, secret=secret, clients_dir=directory)


def load_key_pair(secret_file: str | Path) -> tuple[bytes, bytes]:
    """(public, secret) from a `.key_secret` file made by `npc-brain keys`."""
    try:
        public, secret = zmq.auth.load_certificate(secret_file)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the key pair {secret_file}: {exc}") from None
    if secret is None:
        raise ValueError(f"{secret_file} holds no secret key (use the .key_secret file)")
    return public, secret


def load_public_key(key_file: str | Path) -> bytes:
    try:
        return zmq.auth.load_certificate(key_file)[0]
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the public key {key_file}: {exc}") from None


def make_key_pair(directory: str | Path, name: str) -> tuple[Path, Path]:
    """Write NAME.key (public, to share) and NAME.key_secret (private) into `directory`."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(out, name)
    os.chmod(secret, 0o600)
    return Path(public), Path(secret)


def make_token(path: str | Path) -> Path:
    """Write a fresh random WebSocket token, readable by its owner only."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(TOKEN_BYTES) + "\n")
    return out


def read_token(path: str | Path) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise ValueError(f"cannot read the token file {path}: {exc.strerror}") from None
    if len(token) < 16:
        raise ValueError(f"the token in {path} is shorter than 16 characters")
    return token


def token_matches(expected: str, given: bytes | str) -> bool:
    """Constant-time comparison, so timing reveals nothing about the token."""
    data = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(expected.encode(), data.strip())


def start_authenticator(
    ctx: zmq.Context, keys: CurveKeys | dict[str, CurveKeys]
) -> ThreadAuthenticator:
    """ZAP handler admitting CURVE clients whose public key is in `keys.clients_dir`.

    A dict gives each ZAP domain its own directory (one handler serves a whole context: a
    broker admits games on its front and workers on its back, each from their own list)."""
    domains = keys if isinstance(keys, dict) else {"*": keys}
    auth = ThreadAuthenticator(ctx)
    auth.start()
    for domain, domain_keys in domains.items():
        auth.configure_curve(domain=domain, location=str(domain_keys.clients_dir))
    return auth


def use_curve(sock: zmq.Socket, keys: CurveKeys, domain: str | None = None) -> None:
    """Make the next bind of `sock` a CURVE server endpoint (checked in ZAP `domain`)."""
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_server = True
    if domain is not None:
        sock.zap_domain = domain.encode()


__all__ = [
    "CurveKeys",
    "endpoint_is_local",
    "is_loopback_host",
    "load_key_pair",
    "load_public_key",
    "make_key_pair",
    "make_token",
    "read_token",
    "start_authenticator",
    "token_matches",
    "use_curve",
]

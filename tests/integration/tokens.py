"""Test tokens (PROTOCOL.md section 10), minted independently of the broker: HS256 with the
standard library, RS256 and ES256 with the `openssl` command-line tool."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(sub_allow=(), pub_allow=(), exp_in=60, **extra):
    body = {"sub": "test", "exp": int(time.time()) + exp_in,
            "sub_allow": list(sub_allow), "pub_allow": list(pub_allow)}
    body.update(extra)
    return body


def signing_input(alg, payload, header=None):
    header = header or {"alg": alg, "typ": "JWT"}
    return (b64url(json.dumps(header).encode()) + "." +
            b64url(json.dumps(payload).encode()))


def hs256(secret, payload, header=None):
    part = signing_input("HS256", payload, header)
    mac = hmac.new(secret, part.encode(), hashlib.sha256).digest()
    return part + "." + b64url(mac)


def _der_to_raw(der):
    """An ECDSA DER signature (SEQUENCE of two INTEGERs) as JWS wants it: r || s, 32 bytes
    each (RFC 7518 section 3.4)."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        length = der[i + 1]
        value = der[i + 2:i + 2 + length].lstrip(b"\x00")
        out += value.rjust(32, b"\x00")
        i += 2 + length
    return out


class KeyPair:
    """An RSA-2048 or P-256 key pair made with `openssl` in `directory`."""

    def __init__(self, directory, kind):
        self.kind = kind
        self.private = os.path.join(directory, kind + "-private.pem")
        self.public = os.path.join(directory, kind + "-public.pem")
        if kind == "rsa":
            args = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        else:
            args = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "genpkey", *args, "-out", self.private], check=True,
                       capture_output=True, timeout=60)
        subprocess.run(["openssl", "pkey", "-in", self.private, "-pubout", "-out", self.public],
                       check=True, capture_output=True, timeout=60)

    def token(self, payload):
        alg = "RS256" if self.kind == "rsa" else "ES256"
        part = signing_input(alg, payload)
        result = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.private],
                                input=part.encode(), check=True, capture_output=True,
                                timeout=60)
        signature = result.stdout if self.kind == "rsa" else _der_to_raw(result.stdout)
        return part + "." + b64url(signature)

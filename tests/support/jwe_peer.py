#!/usr/bin/env python3
"""An independent JWE implementation for interop tests of the file backend.

Usage: jwe_peer.py <joserfc|jwcrypto> decrypt <file>
       jwe_peer.py <joserfc|jwcrypto> encrypt <file> <created>   (payload on stdin)

The passphrase comes from AWS_VAULT_FILE_PASSPHRASE. `encrypt` writes the file the way
aws-vault does: compact JWE, PBES2-HS256+A128KW / A256GCM, p2c 8192, a 12-byte salt, a
`created` header, header keys sorted, mode 0600. `decrypt` prints the payload and, on stderr,
the protected header exactly as it appears in the file.
"""
import base64
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")  # joserfc warns that a passphrase is a short key

ALG = "PBES2-HS256+A128KW"
ENC = "A256GCM"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header_of(token: str) -> str:
    seg = token.split(".")[0]
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)).decode()


def decrypt(lib: str, token: str, passphrase: bytes) -> bytes:
    if lib == "joserfc":
        from joserfc import jwe
        from joserfc.jwk import OctKey
        registry = jwe.JWERegistry(algorithms=[ALG, ENC], strict_check_header=False)
        return jwe.decrypt_compact(token, OctKey.import_key(passphrase), registry=registry).plaintext
    from jwcrypto import jwe as jjwe, jwk
    key = jwk.JWK(kty="oct", k=b64url(passphrase))
    obj = jjwe.JWE()
    obj.deserialize(token, key)
    return obj.payload


def encrypt(lib: str, payload: bytes, passphrase: bytes, created: str) -> str:
    header = {"alg": ALG, "created": created, "enc": ENC, "p2c": 8192, "p2s": b64url(os.urandom(12))}
    if lib == "joserfc":
        from joserfc import jwe
        from joserfc.jwk import OctKey
        registry = jwe.JWERegistry(algorithms=[ALG, ENC], strict_check_header=False)
        return jwe.encrypt_compact(header, payload, OctKey.import_key(passphrase), registry=registry)
    from jwcrypto import jwa, jwe as jjwe, jwk
    # jwcrypto always draws a 16-byte PBES2 salt (its only 128-bit draw for A256GCM) and sets
    # p2c 8192 itself; aws-vault's salt is 12 bytes, so that one draw is narrowed here.
    random_bits = jwa._randombits
    jwa._randombits = lambda n: os.urandom(12) if n == 128 else random_bits(n)
    del header["p2c"], header["p2s"]
    key = jwk.JWK(kty="oct", k=b64url(passphrase))
    obj = jjwe.JWE(payload, protected=json.dumps(header, sort_keys=True, separators=(",", ":")))
    obj.add_recipient(key)
    return obj.serialize(compact=True)


def main() -> None:
    lib, action, path = sys.argv[1], sys.argv[2], sys.argv[3]
    passphrase = os.environ["AWS_VAULT_FILE_PASSPHRASE"].encode()
    if action == "decrypt":
        with open(path) as f:
            token = f.read().strip()
        sys.stderr.write(header_of(token))
        sys.stdout.buffer.write(decrypt(lib, token, passphrase))
    elif action == "encrypt":
        token = encrypt(lib, sys.stdin.buffer.read(), passphrase, sys.argv[4])
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        sys.stdout.write(header_of(token))
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main()

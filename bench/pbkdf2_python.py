#!/usr/bin/env python3
"""PBKDF2-HMAC-SHA256 verifications per second with Python's hashlib, the way Django checks a
pbkdf2_sha256 password: derive 32 bytes from the password and the stored salt, base64 them, and
compare in constant time. Prints one figure line ending in "ops/s: <rate>", read by bench_core."""
import argparse
import base64
import hashlib
import hmac
import platform
import secrets
import ssl
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iterations", type=int, default=720000)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    if args.iterations <= 0 or args.seconds <= 0:
        ap.error("--iterations and --seconds must be positive")

    password = b"correct horse battery staple"
    salt = secrets.token_hex(11).encode()  # 22 characters, like Django's salts
    stored = base64.b64encode(hashlib.pbkdf2_hmac("sha256", password, salt, args.iterations, 32))

    def verify() -> bool:
        derived = base64.b64encode(hashlib.pbkdf2_hmac("sha256", password, salt, args.iterations, 32))
        return hmac.compare_digest(derived, stored)

    start = time.perf_counter()
    end = start + args.seconds
    n = 0
    while n < 3 or time.perf_counter() < end:
        if not verify():
            raise SystemExit("verification failed")
        n += 1
    elapsed = time.perf_counter() - start
    backend = ssl.OPENSSL_VERSION
    print(
        f"Python {platform.python_version()} hashlib.pbkdf2_hmac ({backend})  "
        f"{n} in {elapsed:.2f} s, {1000 * elapsed / n:.1f} ms each, ops/s: {n / elapsed:.3f}"
    )


if __name__ == "__main__":
    main()

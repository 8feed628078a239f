"""Our pbkdf2_sha256 hashes verify the way Django verifies them, and Django's verify in ours.

Django's PBKDF2PasswordHasher is hashlib.pbkdf2_hmac("sha256", ...) plus base64, so the Django side
is written here from that definition. Runs under pytest or plain Python; RM_PWTOOL names the
auth_pwtool helper (ctest sets it).
"""
import base64
import hashlib
import hmac
import os
import secrets
import string
import subprocess
import unittest

PWTOOL = os.environ.get("RM_PWTOOL")
ALNUM = string.ascii_letters + string.digits


def django_encode(password, salt, iterations):
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(digest).decode("ascii"))


def django_verify(password, encoded):
    algorithm, iterations, salt, _ = encoded.split("$", 3)
    assert algorithm == "pbkdf2_sha256"
    return hmac.compare_digest(encoded.encode(), django_encode(password, salt, int(iterations)).encode())


def pwtool(*args):
    return subprocess.run([PWTOOL, *args], capture_output=True, text=True, timeout=60)


@unittest.skipUnless(PWTOOL, "RM_PWTOOL is not set (run through ctest)")
class PasswordInterop(unittest.TestCase):
    CASES = [
        ("password", "salt", 1),
        ("", "emptyPassword0123456789", 1000),
        ("pässwörd✓ 密码 🔑", "Unicode9876543210abcde", 1000),
        ("correct horse battery staple", "Y9VX2qk6ZbdM0aHvHnWwyE", 260000),
        ("hunter2", "q2KxLzEm8PBwD3cRtN7vYa", 720000),
    ]

    def test_given_salt_gives_djangos_string(self):
        for password, salt, iterations in self.CASES:
            r = pwtool("hash", password, salt, str(iterations))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), django_encode(password, salt, iterations))

    def test_random_salt_hash_verifies_in_django(self):
        r = pwtool("hash", "s3cret ünïcode", "-", "720000")
        self.assertEqual(r.returncode, 0, r.stderr)
        encoded = r.stdout.strip()
        self.assertRegex(encoded, r"^pbkdf2_sha256\$720000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=$")
        self.assertTrue(django_verify("s3cret ünïcode", encoded))
        self.assertFalse(django_verify("s3cret unicode", encoded))

    def test_django_hashes_verify_in_ours(self):
        for password, iterations in [("Django-made Pässword!", 1000), ("", 1), ("x" * 200, 600000)]:
            salt = "".join(secrets.choice(ALNUM) for _ in range(22))
            encoded = django_encode(password, salt, iterations)
            self.assertEqual(pwtool("verify", password, encoded).returncode, 0, encoded)
            self.assertEqual(pwtool("verify", password + "x", encoded).returncode, 1, encoded)


if __name__ == "__main__":
    unittest.main()

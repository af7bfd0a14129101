"""auditcheck: an audit-log verifier written from docs/AUDIT.md alone.

Independent of the C code on purpose (hashlib for SHA-256, Debian's
python3-nacl for Ed25519, the recursive tree hash of RFC 6962 rather than
the C code's compact range): when both agree on a log, the specification,
not one implementation, is what was checked.

    /usr/bin/python3 tests/auditcheck.py PUBLIC_KEY LEAVES CHECKPOINTS...

prints "ok size=N root=HEX checkpoints=K" (exit 0) or
"wrong reason=R entry=I checkpoint=C: message" (exit 1), like
tests/io/auditlog verify.
"""
import base64
import binascii
import hashlib
import re
import sys

import nacl.exceptions
import nacl.signing

DASH = "\u2014 ".encode()
NAME = rb"[\x21-\x2a\x2c-\x7e]{1,128}"  # printable ASCII, no space, no '+'
B64_32 = rb"[A-Za-z0-9+/]{43}="
B64_68 = rb"[A-Za-z0-9+/]{91}="
DEC = rb"(?:0|[1-9][0-9]{0,19})"
MAX_SIZE = 1 << 62


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_hash(hashes):
    """MTH of RFC 6962 section 2.1 over leaf hashes."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(tree_hash(hashes[:k]), tree_hash(hashes[k:]))


def key_hash(name, pub):
    return hashlib.sha256(name + b"\n\x01" + pub).digest()[:4]


def b64_exact(text, length):
    raw = base64.b64decode(text, validate=True)
    if len(raw) != length or base64.b64encode(raw) != text:
        raise ValueError("not canonical base64")
    return raw


def parse_public_key(text):
    """NAME+HASH+BASE64(0x01 || key) -> (name, key hash, key)."""
    if text.endswith(b"\n"):
        text = text[:-1]
    m = re.fullmatch(rb"(" + NAME + rb")\+([0-9a-f]{8})\+([A-Za-z0-9+/]{44})", text)
    if not m:
        raise ValueError("public key: want NAME+HASH+BASE64")
    raw = b64_exact(m.group(3), 33)
    if raw[0] != 1:
        raise ValueError("public key: not Ed25519")
    name, pub = m.group(1), raw[1:]
    if key_hash(name, pub) != binascii.unhexlify(m.group(2)):
        raise ValueError("public key: hash does not match")
    return name, key_hash(name, pub), pub


CHECKPOINT = re.compile(
    rb"(?P<body>(?P<origin>" + NAME + rb")\n(?P<size>" + DEC + rb")\n(?P<root>" + B64_32 +
    rb")\ntime-ms (?P<time>" + DEC + rb")\n)\n" + DASH + rb"(?P<signer>" + NAME + rb") (?P<sig>" +
    B64_68 + rb")\n")


def split_notes(data):
    """A checkpoints file: whole notes one after another."""
    notes, at = [], 0
    while at < len(data):
        blank = data.find(b"\n\n", at)
        end = data.find(b"\n", blank + 2) if blank >= 0 else -1
        if end < 0:
            raise ValueError("checkpoints: no whole note at byte %d" % at)
        notes.append(data[at:end + 1])
        at = end + 1
    return notes


def verify_checkpoint(key, note):
    """-> (size, root, time_ms) or raises ValueError naming what is wrong."""
    name, kh, pub = key
    m = CHECKPOINT.fullmatch(note)
    if not m:
        raise ValueError("malformed checkpoint")
    if m.group("origin") != name or m.group("signer") != name:
        raise ValueError("another log's checkpoint")
    size, t = int(m.group("size")), int(m.group("time"))
    if size > MAX_SIZE or t >= 1 << 63:
        raise ValueError("size or time out of range")
    sig = b64_exact(m.group("sig"), 68)
    if sig[:4] != kh:
        raise ValueError("signed by another key")
    try:
        nacl.signing.VerifyKey(pub).verify(m.group("body"), sig[4:])
    except nacl.exceptions.BadSignatureError:
        raise ValueError("bad signature")
    return size, b64_exact(m.group("root"), 32), t


def read_leaves(path):
    """The export form: SEQ HASHHEX BASE64 per line -> [(seq, hash, bytes)]."""
    out = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            m = re.fullmatch(rb"(0|[1-9][0-9]*) ([0-9a-f]{64}) ([A-Za-z0-9+/]*={0,2})\n", line)
            if not m:
                raise ValueError("leaves line %d: want SEQ HASH BASE64" % n)
            out.append((int(m.group(1)), binascii.unhexlify(m.group(2)),
                        base64.b64decode(m.group(3), validate=True)))
    return out


def verify(key, notes, entries):
    """-> (reason, entry, checkpoint, message, size, root), as docs/AUDIT.md says."""
    cps = []
    for i, note in enumerate(notes):
        try:
            size, root, _ = verify_checkpoint(key, note)
        except ValueError as e:
            return ("bad_checkpoint", -1, i, "checkpoint %d: %s" % (i, e), 0, None)
        cps.append((size, i, root))
    cps.sort()
    for (s1, i1, r1), (s2, i2, r2) in zip(cps, cps[1:]):
        if s1 == s2 and r1 != r2:
            return ("fork", -1, i2, "checkpoints %d and %d sign size %d differently" % (i1, i2, s1),
                    0, None)
    by_size = {}
    for size, i, root in cps:
        by_size.setdefault(size, (i, root))
    hashes, covered = [], 0
    if 0 in by_size and by_size[0][1] != tree_hash([]):
        return ("root", 0, by_size[0][0], "empty log with another root", 0, None)
    for i, (seq, stored, data) in enumerate(entries):
        if seq != i:
            why = "deleted before it" if seq > i else "reordered or repeated"
            return ("sequence", i, -1, "entry %d carries sequence %d: %s" % (i, seq, why), i, None)
        h = leaf_hash(data)
        if h != stored:
            return ("leaf_hash", i, -1, "entry %d: bytes do not give the stored hash" % i, i, None)
        hashes.append(h)
        if i + 1 in by_size:
            if tree_hash(hashes) != by_size[i + 1][1]:
                return ("root", covered, by_size[i + 1][0],
                        "entries %d..%d do not give the signed root of size %d" % (covered, i, i + 1),
                        i + 1, None)
            covered = i + 1
    n = len(entries)
    beyond = [(s, i) for s, i, _ in cps if s > n]
    if beyond:
        s, i = beyond[0]
        return ("truncated", n, i, "the log ends after %d entries, checkpoint %d signed %d" % (n, i, s),
                n, None)
    return ("ok", -1, -1, "", n, tree_hash(hashes))


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[1], "rb") as f:
            key = parse_public_key(f.read())
        notes = []
        for path in argv[3:]:
            with open(path, "rb") as f:
                notes += split_notes(f.read())
        entries = read_leaves(argv[2])
    except (OSError, ValueError) as e:
        print("auditcheck: %s" % e, file=sys.stderr)
        return 2
    reason, entry, cp, msg, size, root = verify(key, notes, entries)
    if reason == "ok":
        print("ok size=%d root=%s checkpoints=%d" % (size, root.hex(), len(notes)))
        return 0
    print("wrong reason=%s entry=%d checkpoint=%d: %s" % (reason, entry, cp, msg))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""skredis — what the Python tests need to read Redis as the workers lay it out.

A minimal RESP2 client over the redis-server's unix socket (binary safe, with
pipelining; no client library, so the tests need nothing beyond Debian's
python3), and the shard of an id as common/io/keys.c computes it.

    r = Redis(st.redis_sock)           # bulk replies as str
    r.hgetall("sk:{s3}:inv:SO-1")
    command(st.redis_sock, "XRANGE", key, "-", "+")   # one command, bulk as bytes

An error reply raises RuntimeError("redis: MESSAGE").
"""
import socket

SHARDS = 16


def shard(ident):
    """FNV-1a 32-bit mod 16, as common/io/keys.c."""
    h = 2166136261
    for b in ident.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % SHARDS


class Redis:
    """RESP2 over a unix socket. decode=True gives bulk replies as str
    (undecodable bytes replaced), decode=False as bytes."""

    def __init__(self, path, decode=True):
        self.decode = decode
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def close(self):
        self.f.close()
        self.s.close()

    @staticmethod
    def _enc(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError("redis: " + rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("utf-8", "replace") if self.decode else data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("redis: bad reply %r" % line)

    def pipe(self, cmds):
        self.s.sendall(b"".join(self._enc(c) for c in cmds))
        return [self._read() for _ in cmds]

    def cmd(self, *args):
        return self.pipe([args])[0]

    def hgetall(self, key):
        v = self.cmd("HGETALL", key)
        return dict(zip(v[0::2], v[1::2]))

    def zscore(self, key, member):
        v = self.cmd("ZSCORE", key, member)
        return None if v is None else int(float(v))

    def scan(self, pattern):
        cursor, keys = "0", []
        while True:
            cursor, batch = self.cmd("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            if isinstance(cursor, bytes):
                cursor = cursor.decode()
            keys.extend(batch)
            if cursor == "0":
                return keys


def command(path, *args):
    """One command on a fresh connection; bulk replies as bytes."""
    r = Redis(path, decode=False)
    try:
        return r.cmd(*args)
    finally:
        r.close()

"""ingest remembers the customers it has seen stored (services/ingest/ingest.c,
INGEST_KNOWN_CUSTOMERS), so an order with its own terms costs Redis no read
of its customer (an HMGET per order: a few per cent of Redis's time per
order, docs/RUNNING.md "Figures"). Customers are never deleted, so that is
safe while ingest stays connected; what a user must never notice is a Redis
that lost its data: an order for a customer Redis no longer has is rejected
`unknown_customer` as before, because ingest forgets with the connection.
"""
import os
import subprocess
import time
import unittest

import skingest
from skingest import ACCEPTED, REJECTED, Client, customer, order
from harness import Stack, wait_for


def hmget_calls(st):
    for line in st.redis_cli("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_hmget:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


class KnownCustomersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skingest.load()

    def expect(self, st, cli, env, status, reason=""):
        ack = cli.send(env)
        self.assertIsNotNone(ack, "no acknowledgement; log:\n" + st.log("ingest"))
        self.assertEqual((ack.status, ack.reason_code), (status, reason), ack.message)

    def test_customer_forgotten_when_redis_restarts_empty(self):
        with Stack() as st:
            st.start_ingest()
            cli = Client(st.ingest_endpoint)
            try:
                self.expect(st, cli, customer("K-E1", "K-C1"), ACCEPTED)
                self.expect(st, cli, order("K-E2", "K-SO1", "K-C1"), ACCEPTED)  # read, kept
                before = hmget_calls(st)
                self.expect(st, cli, order("K-E3", "K-SO2", "K-C1"), ACCEPTED)
                self.assertEqual(hmget_calls(st), before, "the known customer was read again")
                self.expect(st, cli, order("K-E4", "K-SO3", "K-NOBODY"), REJECTED,
                            "unknown_customer")

                # Redis restarts without its data (no persistence here).
                argv = st.redis.args
                st.redis.kill()
                st.redis.wait()
                os.unlink(st.redis_sock)
                st.redis = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
                wait_for(lambda: os.path.exists(st.redis_sock), what="redis-server socket")

                # The client resends until ingest, connected again, answers.
                ack, deadline = None, time.time() + 20
                while ack is None and time.time() < deadline:
                    ack = cli.send(order("K-E5", "K-SO4", "K-C1"), timeout_ms=1000)
                self.assertIsNotNone(ack, "no acknowledgement; log:\n" + st.log("ingest"))
                self.assertEqual((ack.status, ack.reason_code), (REJECTED, "unknown_customer"),
                                 ack.message)
            finally:
                cli.close()


if __name__ == "__main__":
    unittest.main()

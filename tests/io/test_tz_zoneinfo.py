"""sk_tz against an independent reading of the same tz database: Python's
zoneinfo (Debian's tzdata), for every zone it lists, 2026 and 2027.

The rule sk_tz.h promises, in one property: the instant of local time L on a
day is the first instant whose local wall-clock time reaches L. That is L
itself where L exists once, its first occurrence in an overlap, and the end
of the gap where L is skipped. Checked at 00:00 and 09:00 of every ninth
day, and every 15 minutes of each day on which a zone's offset changes.
"""
import datetime as dt
import os
import subprocess
import unittest
import zoneinfo

UTC = dt.timezone.utc
HELPER = os.path.join(os.environ.get("SK_BUILD_DIR", "build"), "tests", "io", "tz_instants")


def local_minutes(zone, ms):
    """Local wall-clock time of instant ms as minutes since 1970-01-01 local."""
    t = dt.datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)
    naive = t.replace(tzinfo=None)
    return (naive - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1) / 60


class ZoneinfoTest(unittest.TestCase):
    def test_every_zone_first_instant_reaching_local_time(self):
        start = dt.date(2026, 1, 1)
        days = [start + dt.timedelta(d) for d in range(730)]
        queries = []
        for name in sorted(zoneinfo.available_timezones()):
            zone = zoneinfo.ZoneInfo(name)
            for i, d in enumerate(days):
                if i % 9 == 0:
                    queries += [(name, d, 0), (name, d, 540)]
            # days whose offset changes: local noon of d vs d + 1
            offs = [dt.datetime(d.year, d.month, d.day, 12, tzinfo=zone).utcoffset()
                    for d in days]
            for i in range(len(days) - 1):
                if offs[i] != offs[i + 1]:
                    for d in (days[i], days[i + 1]):
                        queries += [(name, d, m) for m in range(0, 1440, 15)]
        text = "".join("%s %s %d\n" % (n, d.isoformat(), m) for n, d, m in queries)
        out = subprocess.run([HELPER], input=text, capture_output=True, text=True, check=True)
        answers = out.stdout.split("\n")[:-1]
        self.assertEqual(len(answers), len(queries))
        refused = set()
        checked = changes = 0
        for (name, d, m), a in zip(queries, answers):
            if a == "refused":
                refused.add(name)
                continue
            zone = zoneinfo.ZoneInfo(name)
            ms = int(a)
            want = (d - dt.date(1970, 1, 1)).days * 1440 + m
            got = local_minutes(zone, ms)
            before = local_minutes(zone, ms - 1000)
            self.assertGreaterEqual(got, want, (name, d, m, a))
            self.assertLess(before, want, (name, d, m, a))
            checked += 1
            changes += got != want
        # the only zone file zoneinfo lists that is no place: the machine's own
        self.assertEqual(refused - {"localtime"}, set())
        self.assertGreater(checked, 100000)
        self.assertGreater(changes, 100)  # times in gaps were among them


if __name__ == "__main__":
    unittest.main()

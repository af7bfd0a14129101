"""tests/remindplan.py, the independent reminder calculator the system test
checks against, held to cases worked out by hand from docs/REMINDERS.md and
the issue (never from our C): if this passes, a disagreement with the
workers is the workers'."""
import datetime as dt
import unittest

import remindplan as rp
from remindplan import utc

NY = "America/New_York"
D = dt.date.fromisoformat


class LocalInstantTest(unittest.TestCase):
    def test_send_hour_across_the_march_change(self):
        # the figures: 09:00 New York on either side of 2026-03-08
        self.assertEqual(rp.local_instant(NY, "2026-03-07", "09:00"), utc("2026-03-07T14:00:00Z"))
        self.assertEqual(rp.local_instant(NY, "2026-03-09", "09:00"), utc("2026-03-09T13:00:00Z"))
        self.assertEqual(rp.local_instant("America/Mexico_City", "2026-07-15", "09:00"),
                         utc("2026-07-15T15:00:00Z"))  # no summer time there since 2022
        self.assertEqual(rp.local_instant("Asia/Shanghai", "2026-07-15", "09:00"),
                         utc("2026-07-15T01:00:00Z"))

    def test_gap_moves_to_its_end_and_overlap_takes_the_first(self):
        # 02:30 does not exist on 2026-03-08 in New York: 03:00 EDT = 07:00Z
        self.assertEqual(rp.local_instant(NY, "2026-03-08", "02:30"), utc("2026-03-08T07:00:00Z"))
        self.assertEqual(rp.local_instant(NY, "2026-03-08", "03:00"), utc("2026-03-08T07:00:00Z"))
        self.assertEqual(rp.local_instant(NY, "2026-03-08", "01:59"), utc("2026-03-08T06:59:00Z"))
        # 01:30 happens twice on 2026-11-01: the first is EDT, 05:30Z
        self.assertEqual(rp.local_instant(NY, "2026-11-01", "01:30"), utc("2026-11-01T05:30:00Z"))
        # Europe/Berlin's gap: 02:30 on 2026-03-29 -> 03:00 CEST = 01:00Z
        self.assertEqual(rp.local_instant("Europe/Berlin", "2026-03-29", "02:30"),
                         utc("2026-03-29T01:00:00Z"))

    def test_a_window_closes_at_the_local_midnight_after_its_last_day(self):
        self.assertEqual(rp.day_close(NY, "2026-03-10"), utc("2026-03-11T04:00:00Z"))
        self.assertEqual(rp.day_close("Asia/Shanghai", "2026-03-10"), utc("2026-03-10T16:00:00Z"))
        self.assertEqual(rp.day_close("", "2026-03-10"), utc("2026-03-11T00:00:00Z"))  # UTC

    def test_ms(self):
        self.assertEqual(rp.ms(utc("2026-03-07T14:00:00Z")), 1772892000000)
        self.assertEqual(rp.ms(utc("1970-01-01T00:00:00.001Z")), 1)
        self.assertEqual(rp.from_ms(1772892000000), utc("2026-03-07T14:00:00Z"))


class IdentityTest(unittest.TestCase):
    def test_message_id_of_the_contract(self):
        key = rp.reminder_key("O-1", 1, "2026-03-10", 3)
        self.assertEqual(key, "r|1|2026-03-10|3|O-1")
        self.assertEqual(rp.message_id(key),
                         "<r.3587cac5538df92a602c7511beca204a@skonto.invalid>")
        self.assertEqual(rp.message_id(key, "mail.example").split("@")[1], "mail.example>")

    def test_statement_key(self):
        t = utc("2026-03-09T13:00:00Z")
        self.assertEqual(rp.statement_key("C-1", t), "s|2026-03-09T13:00:00Z|C-1")
        self.assertTrue(rp.message_id(rp.statement_key("C-1", t)).startswith("<s."))


class PlanTest(unittest.TestCase):
    """O-1: tiers ending 2026-03-06 (tier 0) and 2026-03-10 (tier 1), New
    York, leads 3 and 1, 09:00. Tier 1's reminders are scheduled 03-07
    14:00Z (before the change) and 03-09 13:00Z (after it); tier 0's 03-03
    and 03-05 at 14:00Z; tier 0 closes 03-07 05:00Z, tier 1 03-11 04:00Z."""

    LAST = ["2026-03-06", "2026-03-10"]

    def keys(self, plan):
        return [(r.key, r.due) for r in plan]

    def test_all_ahead(self):
        p = rp.plan("O-1", self.LAST, NY, utc("2026-03-01T00:00:00Z"))
        self.assertEqual(self.keys(p), [
            ("r|0|2026-03-06|3|O-1", utc("2026-03-03T14:00:00Z")),
            ("r|0|2026-03-06|1|O-1", utc("2026-03-05T14:00:00Z")),
            ("r|1|2026-03-10|3|O-1", utc("2026-03-07T14:00:00Z")),
            ("r|1|2026-03-10|1|O-1", utc("2026-03-09T13:00:00Z"))])
        self.assertEqual(p[2].message_id, "<r.3587cac5538df92a602c7511beca204a@skonto.invalid>")
        self.assertEqual(p[3].closes, utc("2026-03-11T04:00:00Z"))
        self.assertEqual(p[3].scheduled, p[3].due)

    def test_a_passed_reminder_is_due_at_once(self):
        now = utc("2026-03-07T15:00:00Z")  # tier 0 closed, tier 1's 3-day one passed
        p = rp.plan("O-1", self.LAST, NY, now)
        self.assertEqual(self.keys(p), [("r|1|2026-03-10|3|O-1", now),
                                        ("r|1|2026-03-10|1|O-1", utc("2026-03-09T13:00:00Z"))])
        self.assertEqual(p[0].scheduled, utc("2026-03-07T14:00:00Z"))

    def test_several_passed_make_one(self):
        now = utc("2026-03-09T20:00:00Z")
        self.assertEqual(self.keys(rp.plan("O-1", self.LAST, NY, now)),
                         [("r|1|2026-03-10|1|O-1", now)])
        # at the very instant of the 1-day one it counts as passed too
        now = utc("2026-03-09T13:00:00Z")
        self.assertEqual(self.keys(rp.plan("O-1", self.LAST, NY, now)),
                         [("r|1|2026-03-10|1|O-1", now)])

    def test_a_closed_window_gets_none(self):
        self.assertEqual(rp.plan("O-1", self.LAST, NY, utc("2026-03-11T04:00:00Z")), [])
        last = rp.plan("O-1", self.LAST, NY, utc("2026-03-11T03:59:59Z"))
        self.assertEqual(self.keys(last), [("r|1|2026-03-10|1|O-1", utc("2026-03-11T03:59:59Z"))])
        # the same last day in Shanghai closed hours earlier
        self.assertEqual(rp.plan("O-1", ["2026-03-10"], "Asia/Shanghai",
                                 utc("2026-03-10T16:00:00Z")), [])

    def test_other_leads_and_hour(self):
        p = rp.plan("SO-9", ["2026-03-10"], "UTC", utc("2026-03-01T00:00:00Z"), leads=(0, 7, 3),
                    hour="17:30")
        self.assertEqual([(r.lead, r.due) for r in p], [
            (7, utc("2026-03-03T17:30:00Z")), (3, utc("2026-03-07T17:30:00Z")),
            (0, utc("2026-03-10T17:30:00Z"))])


class StatementTest(unittest.TestCase):
    def test_weekly_on_monday_strictly_after(self):
        sh = "Asia/Shanghai"
        mon = utc("2026-03-09T01:00:00Z")  # Monday 09:00 in Shanghai
        self.assertEqual(rp.statement_next(sh, "weekly", utc("2026-03-08T00:00:00Z")), mon)
        self.assertEqual(rp.statement_next(sh, "weekly", mon), utc("2026-03-16T01:00:00Z"))
        self.assertEqual(rp.statement_next(sh, "", mon), utc("2026-03-16T01:00:00Z"))
        self.assertEqual(rp.statement_next(sh, "weekly", mon, weekday="Friday"),
                         utc("2026-03-13T01:00:00Z"))
        self.assertIsNone(rp.statement_next(sh, "none", mon))

    def test_daily_across_the_change(self):
        got = rp.statements_between("C-NY", NY, "daily", utc("2026-03-06T20:00:00Z"),
                                    utc("2026-03-09T13:00:00Z"))
        self.assertEqual([t for _, t, _ in got], [utc("2026-03-07T14:00:00Z"),
                                                  utc("2026-03-08T13:00:00Z"),
                                                  utc("2026-03-09T13:00:00Z")])
        key, t, mid = got[0]
        self.assertEqual(key, "s|2026-03-07T14:00:00Z|C-NY")
        self.assertEqual(mid, rp.message_id(key))


class FireTest(unittest.TestCase):
    def test_one_mail_per_window_and_none_after_it_closed(self):
        p = rp.plan("O-1", ["2026-03-06", "2026-03-10"], NY, utc("2026-03-01T00:00:00Z"))
        # the worker runs daily at 12:00Z, and once more after tier 1 closed
        ticks = [utc("2026-03-%02dT12:00:00Z" % d) for d in range(1, 11)] + \
            [utc("2026-03-11T05:00:00Z")]
        sent = [(t, r.key) for t, r in rp.fire(p, ticks)]
        self.assertEqual(sent, [(utc("2026-03-04T12:00:00Z"), "r|0|2026-03-06|3|O-1"),
                                (utc("2026-03-06T12:00:00Z"), "r|0|2026-03-06|1|O-1"),
                                (utc("2026-03-08T12:00:00Z"), "r|1|2026-03-10|3|O-1"),
                                (utc("2026-03-10T12:00:00Z"), "r|1|2026-03-10|1|O-1")])
        # a worker that sleeps through both of tier 1's reminders sends one
        sent = [r.key for _, r in rp.fire(p, [utc("2026-03-10T12:00:00Z")])]
        self.assertEqual(sent, ["r|1|2026-03-10|1|O-1"])
        # and after the window closed, none
        self.assertEqual(rp.fire(p, [utc("2026-03-11T04:00:00Z")]), [])


if __name__ == "__main__":
    unittest.main()

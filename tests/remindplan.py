"""The reminder contract computed again, independently of the C code.

What docs/REMINDERS.md and common/io/sk_remind.h promise, written from the
text alone with Python's zoneinfo (the system's tz database, as GLib reads
it) and hashlib, so that a test of the whole system (the 60-day scenario)
can say which reminders and statements must go out without asking the code
it checks. Nothing here imports or runs our C.

The rules:
  - a discount tier whose last day is D (the customer's local day) closes at
    the first instant of D + 1, local;
  - its reminder of lead L is scheduled at the send hour on D - L, local;
  - a local time that a daylight-saving change skips moves to the end of the
    gap; one that it repeats is its first occurrence;
  - planned at `now`: a closed window (closes <= now) gets nothing; of the
    reminders whose time has passed (scheduled <= now) only the one of the
    smallest lead stays, due at once (due = now); the others keep their
    scheduled instant;
  - identity: key "r|<tier>|<YYYY-MM-DD>|<lead>|<order id>" (tier: the index
    into the schedule's tiers, 0 = the first window), statement key
    "s|<YYYY-MM-DDTHH:MM:SSZ>|<customer id>", Message-ID "<r.HEX@DOMAIN>" /
    "<s.HEX@DOMAIN>" with HEX the first 32 hex digits of SHA-256(key);
  - a statement is scheduled at the send hour of the next local day strictly
    after a given instant (every day, or the statement weekday for weekly);
  - firing: at a moment the worker runs (its clock's now), a due reminder
    whose window has closed is dropped, and of several due reminders of one
    window only the one of the smallest lead is sent.

Instants are timezone-aware datetimes in UTC; `ms` turns one into the
milliseconds the Redis keys hold.
"""
import datetime as _dt
import hashlib
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = _dt.timezone.utc
EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ms(instant):
    """Milliseconds since the epoch of an aware datetime (exact, no float)."""
    return (instant - EPOCH) // _dt.timedelta(milliseconds=1)


def from_ms(n):
    return EPOCH + _dt.timedelta(milliseconds=n)


def utc(text):
    """'2026-03-07T14:00:00Z' (or with milliseconds) -> aware datetime."""
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _date(d):
    return d if isinstance(d, _dt.date) else _dt.date.fromisoformat(d)


def _zone(zone):
    return zone if isinstance(zone, _dt.tzinfo) else ZoneInfo(zone or "UTC")


def _hour(hour):
    h, m = hour.split(":")
    return int(h), int(m)


def local_instant(zone, day, hour="00:00"):
    """The UTC instant of local clock time `hour` on local day `day`."""
    z, day = _zone(zone), _date(day)
    h, m = _hour(hour)
    naive = _dt.datetime(day.year, day.month, day.day, h, m)
    first = naive.replace(tzinfo=z, fold=0)
    t = first.astimezone(UTC)
    if t.astimezone(z).replace(tzinfo=None) == naive:
        # exists; in an overlap fold=0 is the first occurrence (the larger offset)
        later = naive.replace(tzinfo=z, fold=1).astimezone(UTC)
        return min(t, later)
    # In a gap: the instant the clocks jump, i.e. the gap's end. PEP 495
    # reads a gap's time with the offset before the jump (fold=0: t, after
    # the jump) or after it (fold=1: before the jump), so the jump is
    # between the two: the first second with t's offset.
    lo = naive.replace(tzinfo=z, fold=1).astimezone(UTC)
    off_after = t.astimezone(z).utcoffset()
    lo_s, hi_s = int(lo.timestamp()), int(t.timestamp())
    while lo_s < hi_s:  # the first second whose offset is the new one
        mid = (lo_s + hi_s) // 2
        if _dt.datetime.fromtimestamp(mid, UTC).astimezone(z).utcoffset() == off_after:
            hi_s = mid
        else:
            lo_s = mid + 1
    return _dt.datetime.fromtimestamp(lo_s, UTC)


def day_close(zone, last_day):
    """When a window whose last day is last_day closes: local midnight after it."""
    return local_instant(zone, _date(last_day) + _dt.timedelta(days=1), "00:00")


def message_id(key, domain="skonto.invalid"):
    return "<%s.%s@%s>" % (key[0], hashlib.sha256(key.encode()).hexdigest()[:32], domain)


def reminder_key(order_id, tier, last_day, lead):
    return "r|%d|%s|%d|%s" % (tier, _date(last_day).isoformat(), lead, order_id)


def statement_key(customer_id, scheduled):
    return "s|%s|%s" % (scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), customer_id)


@dataclass(frozen=True)
class Reminder:
    key: str
    message_id: str
    order_id: str
    tier: int
    last_day: _dt.date
    lead: int
    scheduled: _dt.datetime  # its own send time
    due: _dt.datetime        # when it is to go out: scheduled, or `now` if that had passed
    closes: _dt.datetime     # after this, never sent


def plan(order_id, last_days, zone, now, leads=(3, 1), hour="09:00", domain="skonto.invalid"):
    """The reminders of one invoice whose discount tiers end on last_days
    (in tier order), stored at `now`: in tier order and, within a tier, in
    due order."""
    leads = sorted(set(leads), reverse=True)
    out = []
    for tier, last in enumerate(map(_date, last_days)):
        closes = day_close(zone, last)
        if closes <= now:
            continue
        mine = []
        for lead in leads:
            at = local_instant(zone, last - _dt.timedelta(days=lead), hour)
            key = reminder_key(order_id, tier, last, lead)
            mine.append(Reminder(key, message_id(key, domain), order_id, tier, last, lead, at,
                                 at if at > now else now, closes))
        passed = [r for r in mine if r.scheduled <= now]
        out += passed[-1:] + [r for r in mine if r.scheduled > now]
    return out


def statement_next(zone, cadence, after, weekday="Monday", hour="09:00"):
    """A statement's instant strictly after `after`, or None (cadence none)."""
    if cadence not in ("daily", "weekly", "", None):
        return None
    weekly = cadence != "daily"
    z = _zone(zone)
    day = after.astimezone(z).date()
    for k in range(9):
        d = day + _dt.timedelta(days=k)
        if weekly and WEEKDAYS[d.weekday()] != weekday:
            continue
        t = local_instant(z, d, hour)
        if t > after:
            return t
    raise ValueError("no weekday %r" % weekday)


def statements_between(customer_id, zone, cadence, start, end, weekday="Monday", hour="09:00",
                       domain="skonto.invalid"):
    """Every statement scheduled in (start, end]: [(key, instant, Message-ID)]."""
    out, t = [], statement_next(zone, cadence, start, weekday, hour)
    while t is not None and t <= end:
        key = statement_key(customer_id, t)
        out.append((key, t, message_id(key, domain)))
        t = statement_next(zone, cadence, t, weekday, hour)
    return out


def fire(reminders, ticks):
    """What goes out when the worker runs at each instant of `ticks`
    (ascending): [(tick, Reminder)]. A reminder is due at a tick when its due
    instant is not after it; one whose window has closed by then is dropped;
    of several due ones of one window only the smallest lead is sent."""
    pending = sorted(reminders, key=lambda r: r.due)
    sent = []
    for t in sorted(ticks):
        due = [r for r in pending if r.due <= t]
        pending = [r for r in pending if r.due > t]
        windows = {}
        for r in due:
            if r.closes <= t:
                continue
            w = (r.order_id, r.tier, r.last_day)
            if w not in windows or r.lead < windows[w].lead:
                windows[w] = r
        sent += [(t, r) for r in sorted(windows.values(), key=lambda r: (r.due, r.key))]
    return sent

#!/usr/bin/python3
"""gen_history — a realistic, deterministic ERP history as skontoctl JSON lines.

    deploy/gen_history.py [--today YYYY-MM-DD] [--seed N] [--customers 300]
                          [--orders 5000] [--days 90] [--out FILE]
                          [--bad FILE] [--highlights FILE]

Writes one event a line (the format `skontoctl send` reads, see issue 3 and
docs/RUNNING.md): the customers first, then orders, credit notes, payments and
cancellations in the order they happened over the `--days` days that end on
`--today` (default: today). The same seed and the same today give the same
bytes, so a demo or a bug report can be reproduced.

Customers have habits, each followed about four times in five:

    cash      pays the first tier's payable on the first window's last day
              (on the ship date for 2/0 terms)
    ten       pays inside the ~10-day window
    thirty    pays inside the 30-day window if the terms have one, else at net
    net       pays the full amount on (or just before) the net due date
    late      pays the full amount 5 to 45 days after net
    partial   pays part inside the ~10-day window (earning its share of the
              discount) and the rest at net
    short     pays a few days after the ~10-day window closed but still deducts
              that window's discount and calls it "full": an unearned discount

Payment amounts are computed here with the engine's rule (discount =
round-half-up(amount x rate) at the currency's precision; a partial payment P
inside a tier of rate r settles P / (1 - r)); partial payments are chosen so
that P / (1 - r) is exact, so every invoice a habit closes ends at balance 0.
Payments dated after today have not happened yet: those invoices stay open,
which is what the forecast and the customer statements show.

--bad FILE writes a few deliberately invalid events: five that ingest rejects
and keeps in the dead-letter list (bad terms twice, tax not below the amount,
an unknown customer, a payment for an unknown order) and three that skontoctl
send rejects before sending (an unknown currency, an impossible date, an
unknown field). --highlights FILE writes a
JSON object naming orders and a customer worth showing (see demo.sh).

No third-party module: runs with any Python 3.7+.
"""
import argparse
import datetime as dt
import json
import math
import random
import sys

TERMS = [
    # (terms text, weight)
    ("2/0,1/10,0.5/30,n/60", 45),
    ("2/10,n/30", 35),
    ("1/10eom,n/30eom", 20),
]
HABITS = [("cash", 18), ("ten", 25), ("thirty", 8), ("net", 20), ("late", 12),
          ("partial", 9), ("short", 8)]
CURRENCIES = [("CNY", 85), ("USD", 10), ("EUR", 5)]

CN_CITY = ["上海", "北京", "深圳", "广州", "杭州", "苏州", "南京", "成都", "武汉", "天津",
           "宁波", "青岛", "厦门", "无锡", "佛山", "东莞", "重庆", "西安", "长沙", "合肥"]
CN_WORD = ["华东", "宏达", "新星", "恒丰", "金桥", "瑞丰", "永盛", "中联", "天成", "隆信",
           "鼎盛", "汇通", "博远", "创新", "安泰", "东方", "海川", "明辉", "立德", "嘉禾"]
CN_TRADE = ["机械", "电子", "五金", "化工", "纺织", "包装", "建材", "物流", "塑胶", "光电"]
EN_WORD = ["Northwind", "Bluewater", "Harbor", "Summit", "Redwood", "Ironbridge", "Lakeside",
           "Pioneer", "Granite", "Silverline", "Oakfield", "Meridian"]
EN_TRADE = ["Trading", "Components", "Industrial Supply", "Machinery", "Electronics",
            "Packaging", "Tools"]
DE_WORD = ["Rhein", "Alpen", "Nord", "Elbe", "Main", "Isar", "Weser", "Donau"]
DE_TRADE = ["Maschinenbau GmbH", "Handels GmbH", "Technik AG", "Elektro GmbH"]


# ------------------------------------------------------------------ the engine's rule

def parse_terms(text):
    """'2/0,1/10,0.5/30,n/60' -> ([(rate_ppm, when), ...], net_when); when = (days, eom)."""
    parts = text.split(",")
    tiers = []
    for p in parts[:-1]:
        pct, when = p.split("/")
        whole, _, frac = pct.partition(".")
        ppm = int(whole) * 10000 + (int((frac + "0000")[:4]) if frac else 0)
        tiers.append((ppm, s_when(when)))
    assert parts[-1].startswith("n/")
    return tiers, s_when(parts[-1][2:])


def s_when(w):
    return (int(w[:-3]), True) if w.endswith("eom") else (int(w), False)


def end_of_month(d):
    nxt = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def resolve(when, baseline):
    days, eom = when
    return (end_of_month(baseline) if eom else baseline) + dt.timedelta(days=days)


def schedule(terms, ship, amount):
    """[(rate_ppm, last_day, discount, payable)], net_due — gross base, half-up."""
    tiers, net = parse_terms(terms)
    out = []
    for ppm, when in tiers:
        disc = (amount * ppm + 500000) // 1000000
        out.append((ppm, resolve(when, ship), disc, amount - disc))
    return out, resolve(net, ship)


def money(minor):
    return "%d.%02d" % (minor // 100, minor % 100)


# ------------------------------------------------------------------ generation

class History:
    def __init__(self, seed, today, ncust, norders, days):
        self.r = random.Random(seed)
        self.today = today
        self.first = today - dt.timedelta(days=days - 1)
        self.ncust, self.norders = ncust, norders
        self.events = []   # (date, priority, seq, event)
        self.seq = 0
        self.customers = []
        self.orders = {}   # order id -> facts for highlights

    def pick(self, table):
        return self.r.choices([v for v, _ in table], weights=[w for _, w in table])[0]

    def add(self, date, prio, ev):
        self.seq += 1
        self.events.append((date, prio, self.seq, ev))

    def make_customers(self):
        for i in range(1, self.ncust + 1):
            r = self.r
            cur = self.pick(CURRENCIES)
            if cur == "CNY":
                name = r.choice(CN_CITY) + r.choice(CN_WORD) + r.choice(CN_TRADE) + "有限公司"
                tz, locale, domain = "Asia/Shanghai", "zh-CN", "example.cn"
            elif cur == "USD":
                name = "%s %s Inc." % (r.choice(EN_WORD), r.choice(EN_TRADE))
                tz, locale, domain = r.choice(["America/New_York", "America/Chicago"]), "en-US", \
                    "example.com"
            else:
                name = "%s %s" % (r.choice(DE_WORD), r.choice(DE_TRADE))
                tz, locale, domain = "Europe/Berlin", "de-DE", "example.de"
            c = {
                "id": "C-%04d" % i, "name": name, "currency": cur, "tz": tz, "locale": locale,
                "email": "ap%04d@%s" % (i, domain),
                "terms": self.pick(TERMS), "habit": self.pick(HABITS),
                "statement": self.pick([("weekly", 70), ("daily", 15), ("none", 15)]),
                "salesperson": "S-%02d" % r.randint(1, 12),
                # A few big customers place many orders (Pareto-like, capped).
                "weight": min(r.paretovariate(1.6), 25.0),
            }
            self.customers.append(c)
            self.add(self.first - dt.timedelta(days=1), 0, {
                "type": "customer", "event_id": "EC-%04d" % i, "customer_id": c["id"],
                "name": c["name"], "email": c["email"], "timezone": c["tz"],
                "locale": c["locale"], "statement": c["statement"], "terms": c["terms"]})

    def amount_for(self, cur):
        lo, hi = (500, 200000) if cur == "CNY" else (100, 30000)
        major = math.exp(self.r.uniform(math.log(lo), math.log(hi)))
        return int(round(major * 100))

    def ship_day(self):
        while True:
            d = self.first + dt.timedelta(days=self.r.randrange((self.today - self.first).days + 1))
            if d.weekday() < 5 or self.r.random() < 0.1:  # mostly weekdays
                return d

    def make_orders(self):
        weights = [c["weight"] for c in self.customers]
        for n in range(1, self.norders + 1):
            c = self.r.choices(self.customers, weights=weights)[0]
            oid = "SO-%06d" % n
            ship = self.ship_day()
            amount = self.amount_for(c["currency"])
            tax = (amount * 13 + 56) // 113 if c["currency"] == "CNY" else 0
            # Three orders in ten name their terms; the rest use the customer's.
            own_terms = self.r.random() < 0.3
            terms = self.pick(TERMS) if own_terms else c["terms"]
            ev = {"type": "order_shipped", "event_id": "EO-%06d" % n, "order_id": oid,
                  "customer_id": c["id"], "salesperson": c["salesperson"],
                  "currency": c["currency"], "amount": money(amount)}
            if tax:
                ev["tax"] = money(tax)
            ev["ship_date"] = ship.isoformat()
            ev["invoice_date"] = (ship + dt.timedelta(days=self.r.choice([0, 0, 1]))).isoformat()
            if own_terms:
                ev["terms"] = terms
            self.add(ship, 1, ev)
            habit = c["habit"] if self.r.random() < 0.8 else self.pick(HABITS)
            o = {"id": oid, "customer": c["id"], "currency": c["currency"], "amount": amount,
                 "ship": ship, "terms": terms, "habit": habit, "paid": [], "credit": 0,
                 "cancelled": False, "unearned": False, "tier_paid": None,
                 "closed": False}
            self.orders[oid] = o
            self.corrections(o)
            if not o["cancelled"]:
                self.payments(o)

    def corrections(self, o):
        r = self.r
        x = r.random()
        ship = o["ship"]
        if x < 0.015 and o["habit"] not in ("cash",):
            # Cancelled within a few days of shipping; never paid.
            d = ship + dt.timedelta(days=r.randint(1, 6))
            if d <= self.today:
                o["cancelled"] = True
                self.add(d, 3, {"type": "order_cancelled", "event_id": "EX-" + o["id"][3:],
                                "order_id": o["id"]})
        elif x < 0.045 and o["habit"] in ("net", "late"):
            # A credit note (returned goods) before the customer pays at net.
            d = ship + dt.timedelta(days=r.randint(2, 10))
            if d <= self.today:
                credit = o["amount"] * r.randint(5, 20) // 100
                o["credit"] = credit
                self.add(d, 2, {"type": "credit_note", "event_id": "EN-" + o["id"][3:],
                                "order_id": o["id"], "issued_on": d.isoformat(),
                                "amount": money(credit)})

    def pay(self, o, date, amount, full=None, tier=None, closes=True):
        """Records a payment if it happened by today; `closes`: it ends at balance 0,
        `tier`: the window it closed the invoice in (None: at or after net)."""
        if date > self.today:
            return False  # has not happened yet: the invoice stays open
        ev = {"type": "payment_received", "event_id": "EP-%s-%d" % (o["id"][3:], len(o["paid"]) + 1),
              "order_id": o["id"], "paid_on": date.isoformat(), "amount": money(amount)}
        if full is not None:
            ev["full"] = full
        self.add(date, 4, ev)
        o["paid"].append((date, amount))
        if closes:
            o["closed"] = True
            o["tier_paid"] = tier
        return True

    def payments(self, o):
        r = self.r
        tiers, net = schedule(o["terms"], o["ship"], o["amount"])
        ship, amount, habit = o["ship"], o["amount"] - o["credit"], o["habit"]
        if o["credit"]:
            habit = "net" if habit not in ("net", "late") else habit

        def ten_tier():  # the ~10-day window: first tier whose window is longer than a day
            for i, t in enumerate(tiers):
                if t[1] > ship:
                    return i
            return None

        def day_in(i):  # a day inside tier i's window (after the previous window closed)
            lo = ship if i == 0 else tiers[i - 1][1] + dt.timedelta(days=1)
            hi = tiers[i][1]
            lo = max(lo, hi - dt.timedelta(days=4))
            return lo + dt.timedelta(days=r.randrange((hi - lo).days + 1))

        if habit == "cash" and tiers:
            early = ship + dt.timedelta(days=r.randint(0, min(2, (tiers[0][1] - ship).days)))
            self.pay(o, early, tiers[0][3], True, 0)
        elif habit == "ten" and ten_tier() is not None:
            i = ten_tier()
            self.pay(o, day_in(i), tiers[i][3], True, i)
        elif habit == "thirty" and ten_tier() is not None and len(tiers) > ten_tier() + 1:
            i = ten_tier() + 1
            self.pay(o, day_in(i), tiers[i][3], True, i)
        elif habit == "partial" and ten_tier() is not None:
            i = ten_tier()
            ppm = tiers[i][0]
            # Settle S with a payment P = S (1 - r) that is exact in minor units.
            step = 1000000 // math.gcd(1000000, 1000000 - ppm)
            settled = (amount * r.randint(30, 70) // 100) // step * step
            if settled <= 0:
                self.pay(o, net, amount, True)
                return
            paid = settled * (1000000 - ppm) // 1000000
            if self.pay(o, day_in(i), paid, False, closes=False):
                self.pay(o, net - dt.timedelta(days=r.randint(0, 3)), amount - settled, True)
        elif habit == "short" and ten_tier() is not None:
            i = ten_tier()
            d = tiers[i][1] + dt.timedelta(days=r.randint(2, 8))
            if d < net and self.pay(o, d, tiers[i][3], True, closes=False):
                o["unearned"] = True
        elif habit == "late":
            self.pay(o, net + dt.timedelta(days=r.randint(5, 45)), amount, True)
        else:  # net, or a habit the terms leave no room for
            self.pay(o, net - dt.timedelta(days=r.randint(0, 2)), amount, True)

    def bad_events(self):
        c = self.customers[0]
        day = (self.today - dt.timedelta(days=3)).isoformat()
        base = {"type": "order_shipped", "customer_id": c["id"], "salesperson": "S-01",
                "currency": "CNY", "amount": "1130.00", "tax": "130.00", "ship_date": day}
        return [
            # Rejected by ingest and kept in the dead-letter list:
            dict(base, event_id="BAD-1", order_id="SO-BAD-1", terms="1/30,2/10,n/60"),
            dict(base, event_id="BAD-2", order_id="SO-BAD-2", terms="2/90,n/60"),
            dict(base, event_id="BAD-3", order_id="SO-BAD-3", tax="1130.00"),
            dict(base, event_id="BAD-4", order_id="SO-BAD-4", customer_id="C-NOSUCH"),
            {"type": "payment_received", "event_id": "BAD-5", "order_id": "SO-NOSUCH",
             "paid_on": day, "amount": "100.00", "currency": "CNY", "full": True},
            # Lines skontoctl send cannot even convert: rejected before sending.
            dict(base, event_id="BAD-6", order_id="SO-BAD-6", currency="XYZ"),
            dict(base, event_id="BAD-7", order_id="SO-BAD-7", ship_date="2026-02-30"),
            dict(base, event_id="BAD-8", order_id="SO-BAD-8", colour="blue"),
        ]

    def highlights(self):
        today = self.today
        open_ids = [o for o in self.orders.values() if not o["closed"] and not o["cancelled"]]

        def open_window(o):
            tiers, _ = schedule(o["terms"], o["ship"], o["amount"])
            return any(t[1] >= today for t in tiers)

        windowed = [o for o in open_ids if open_window(o) and not o["credit"]]
        per_cust = {}
        for o in windowed:
            per_cust[o["customer"]] = per_cust.get(o["customer"], 0) + 1
        # A customer with open windows whose statement still fits on a screen.
        n_open = {}
        for o in open_ids:
            n_open[o["customer"]] = n_open.get(o["customer"], 0) + 1
        fits = [k for k in sorted(per_cust) if n_open[k] <= 6] or sorted(per_cust)
        cust = max(fits, key=lambda k: (per_cust[k], -n_open[k])) if fits else None
        in_window = [o for o in self.orders.values() if o["closed"] and o["tier_paid"] is not None]
        paid_in_window = [o for o in in_window if o["customer"] == cust] or in_window
        if paid_in_window:  # the best window the customer took: cash if any
            best = min(o["tier_paid"] for o in paid_in_window)
            paid_in_window = [o for o in paid_in_window if o["tier_paid"] == best]
        short = [o for o in self.orders.values() if o["unearned"]]
        mine = [o for o in windowed if o["customer"] == cust]
        return {
            "today": today.isoformat(),
            "paid_in_window": paid_in_window[-1]["id"] if paid_in_window else None,
            "open_with_window": mine[-1]["id"] if mine else None,
            "short_paid": short[-1]["id"] if short else None,
            "customer_with_windows": cust,
        }

    def lines(self):
        self.events.sort(key=lambda e: (e[0], e[1], e[2]))
        for _, _, _, ev in self.events:
            yield json.dumps(ev, ensure_ascii=False, separators=(",", ":"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--today", default=dt.date.today().isoformat(),
                    help="last day of the history (default: today)")
    ap.add_argument("--seed", type=int, default=20261102)
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--orders", type=int, default=5000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--out", default="-", help="JSON-lines file (default: stdout)")
    ap.add_argument("--bad", help="also write deliberately invalid events here")
    ap.add_argument("--highlights", help="write orders and a customer worth showing (JSON)")
    a = ap.parse_args(argv)
    try:
        today = dt.date.fromisoformat(a.today)
    except ValueError:
        ap.error("--today %r: want YYYY-MM-DD" % a.today)
    if a.customers < 1 or a.orders < 1 or a.days < 1:
        ap.error("--customers, --orders and --days must be positive")

    h = History(a.seed, today, a.customers, a.orders, a.days)
    h.make_customers()
    h.make_orders()
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    for line in h.lines():
        out.write(line + "\n")
    if out is not sys.stdout:
        out.close()
    if a.bad:
        with open(a.bad, "w", encoding="utf-8") as f:
            for ev in h.bad_events():
                f.write(json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n")
    if a.highlights:
        with open(a.highlights, "w", encoding="utf-8") as f:
            json.dump(h.highlights(), f, indent=1)
            f.write("\n")

    kinds = {}
    for _, _, _, ev in h.events:
        kinds[ev["type"]] = kinds.get(ev["type"], 0) + 1
    open_n = sum(1 for o in h.orders.values() if not o["closed"] and not o["cancelled"])
    print("gen_history: %s to %s, seed %d: %s; %d invoices still open" % (
        h.first.isoformat(), today.isoformat(), a.seed,
        ", ".join("%d %s" % (kinds[k], k) for k in sorted(kinds)), open_n), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""skinvoice — a stored invoice as the tests read it in bulk: the value of
sk:{sN}:inv:<oid> is "<rev>.<q>|" and a skonto.v1.InvoiceState
(proto/skonto/v1/invoice_state.proto, the documented contract: days after
the baseline, defaults left out), decoded with the Python code protoc
generates from it; days come back as day numbers. Tests that check one invoice
read it through `skontoctl order show --json` instead; this is for the
tests that check thousands.

    import skinvoice
    inv = skinvoice.read(redis_bytes_client, "sk:{s3}:inv:SO-1")
    inv["balance"], inv["status"], inv["payments"], inv["forecast_history"]
"""
import re

import skproto

_HEAD = re.compile(rb"^(\d+)\.(\d+)\|")
STATUS = {0: "open", 1: "paid", 2: "cancelled"}


def decode(value):
    """The dict of one stored value (bytes), or None for no value."""
    if value is None:
        return None
    m = _HEAD.match(value)
    if not m:
        raise ValueError("not a stored invoice: %r" % value[:40])
    st = skproto.load_invoice_state().InvoiceState()
    st.ParseFromString(value[m.end():])
    base = st.baseline_day  # other days are stored as days after it
    net = base + st.net_due_day
    fc_net = None
    if st.HasField("forecast_net"):  # its defaults: the balance on the net due day
        f = st.forecast_net
        fc_net = (base + f.day if f.HasField("day") else net,
                  f.amount if f.HasField("amount") else st.balance)
    fc_hist = None
    if st.HasField("forecast_history"):
        fc_hist = (base + st.forecast_history.day, st.forecast_history.amount)
    return {
        "rev": int(m.group(1)), "q": int(m.group(2)),
        "customer_id": st.customer_id, "salesperson": st.salesperson,
        "currency": st.currency, "terms": st.terms,
        "amount": st.amount, "tax": st.tax, "balance": st.balance,
        "baseline_day": base, "net_due_day": net,
        "tiers": [(t.rate_ppm, base + t.last_day, t.discount) for t in st.tiers],
        "payments": [{"day": base + p.day, "paid": p.paid, "tier": p.tier,
                      "discount": p.discount, "settled": p.settled, "unearned": p.unearned,
                      "overpaid": p.overpaid, "full": p.full} for p in st.payments],
        "discount_total": st.discount_total, "unearned_total": st.unearned_total,
        "credit_total": st.credit_total, "status": STATUS[st.status], "version": st.version,
        "forecast_history": fc_hist, "forecast_net": fc_net,
    }


def read(r, key):
    """The invoice stored under key; r is a skredis.Redis with decode=False."""
    return decode(r.cmd("GET", key))


def read_many(r, keys):
    """The invoices stored under keys, one pipelined round trip (None where none)."""
    return [decode(v) for v in r.pipe([("GET", k) for k in keys])]

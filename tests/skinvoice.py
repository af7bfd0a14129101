"""skinvoice — a stored invoice as the tests read it in bulk: the value of
sk:{sN}:inv:<oid> is "<rev>.<q>|" and a skonto.v1.InvoiceState
(proto/skonto/v1/invoice_state.proto, the documented contract), decoded
with the Python code protoc generates from it. Tests that check one invoice
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
    fc = lambda f: (f.day, f.amount) if f.amount else None
    return {
        "rev": int(m.group(1)), "q": int(m.group(2)),
        "customer_id": st.customer_id, "salesperson": st.salesperson,
        "currency": st.currency, "terms": st.terms,
        "amount": st.amount, "tax": st.tax, "balance": st.balance,
        "baseline_day": st.baseline_day, "net_due_day": st.net_due_day,
        "tiers": [(t.rate_ppm, t.last_day, t.discount) for t in st.tiers],
        "payments": [{"day": p.day, "paid": p.paid, "tier": p.tier, "discount": p.discount,
                      "settled": p.settled, "unearned": p.unearned, "overpaid": p.overpaid,
                      "full": p.full} for p in st.payments],
        "discount_total": st.discount_total, "unearned_total": st.unearned_total,
        "credit_total": st.credit_total, "status": STATUS[st.status], "version": st.version,
        "forecast_history": fc(st.forecast_history) if st.HasField("forecast_history") else None,
        "forecast_net": fc(st.forecast_net) if st.HasField("forecast_net") else None,
    }


def read(r, key):
    """The invoice stored under key; r is a skredis.Redis with decode=False."""
    return decode(r.cmd("GET", key))


def read_many(r, keys):
    """The invoices stored under keys, one pipelined round trip (None where none)."""
    return [decode(v) for v in r.pipe([("GET", k) for k in keys])]

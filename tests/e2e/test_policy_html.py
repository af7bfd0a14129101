"""skontoctl report policy --html FILE against a real stack: test_policy_report.py's
hand-worked history, the HTML rendered by Debian's headless Chromium (no network,
no JavaScript needed), the figures read back from the rendered DOM (the data-k /
data-v attributes of the table cells and chart bars) and compared with --json of
the same run; a screenshot of each locale is kept in the build dir
(artifacts/policy_html_*.png, its path printed).

Chromium is required: without it the test fails, it does not skip."""
import html.parser
import os
import re
import shutil
import subprocess
import unittest
import xml.dom.minidom

from harness import Stack
from test_policy_report import HISTORY, T


class Dom(html.parser.HTMLParser):
    """Elements with their attributes and text, and the current table row."""

    def __init__(self):
        super().__init__()
        self.els = []  # (tag, attrs, parents' attrs list)
        self.stack = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.els.append((tag, a, [x for _, x in self.stack]))
        if tag not in ("meta", "br", "img", "link", "input"):
            self.stack.append((tag, a))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        if self.stack and self.stack[-1][0] == "li":
            a = self.stack[-1][1]
            a["_text"] = a.get("_text", "") + data

    def items(self, section_id):
        """The attributes (text as _text) of the section's list items."""
        return [a for tag, a, parents in self.els
                if tag == "li" and any(p.get("id") == section_id for p in parents)]

    def rows(self, table_id):
        """{row attrs as a tuple: {data-k: data-v}} of the table's rows."""
        out = []
        for tag, a, parents in self.els:
            if tag == "td" and "data-k" in a and any(p.get("id") == table_id for p in parents):
                tr = [p for p in parents if "data-k" not in p][-1]
                if not out or out[-1][0] is not tr:
                    out.append((tr, {}))
                out[-1][1][a["data-k"]] = a.get("data-v")
        return out

    def bars(self, svg_id):
        return [a for tag, a, parents in self.els
                if tag == "rect" and any(p.get("id") == svg_id for p in parents)]


def chromium():
    exe = shutil.which("chromium")
    if not exe:
        raise AssertionError("chromium is not installed (apt-get install chromium "
                             "fonts-wqy-microhei; ./run deps): the HTML report cannot be checked")
    return exe


def render(path, png):
    """The DOM Chromium builds from the file, and a screenshot of it."""
    exe = chromium()
    # (--dump-dom reads the DOM through the page's script engine: it stays on,
    # the file is checked to hold no script at all)
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu"]
    r = subprocess.run(base + ["--dump-dom", "file://" + path], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "<html" in r.stdout, (r.returncode, r.stdout[:500],
                                                       r.stderr[-1000:])
    s = subprocess.run(base + ["--screenshot=" + png, "--window-size=1280,2400",
                               "file://" + path], capture_output=True, text=True, timeout=120)
    assert s.returncode == 0 and os.path.getsize(png) > 10000, s.stderr[-2000:]
    print("screenshot:", png, flush=True)
    return r.stdout


class PolicyHtml(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        chromium()
        cls.st = st = Stack()
        st.__enter__()
        st.env["SKONTO_TODAY"] = "2027-01-15"
        st.env.pop("SKONTO_COST_OF_CAPITAL", None)
        try:
            st.start_ingest()
            st.start_discount("discount-1")
            path = os.path.join(st.dir, "history.jsonl")
            with open(path, "w") as f:
                f.write("\n".join(HISTORY) + "\n")
            r = st.ctl("send", path, check=False)
            assert r.returncode == 0, r.stdout + r.stderr
            st.wait_drained()
        except BaseException:
            st.close()
            raise
        cls.art = os.path.join(st.build, "artifacts")
        os.makedirs(cls.art, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def write(self, locale):
        path = os.path.join(self.st.dir, "policy-%s.html" % locale)
        rep = self.st.ctl_json("report", "policy", "--to", "2026-12-31", "--html", path,
                               "--locale", locale)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        dom = Dom()
        dom.feed(render(path, os.path.join(self.art, "policy_html_%s.png" % locale)))
        return rep, text, dom

    def test_1_figures_in_the_rendered_dom_are_the_json(self):
        rep, text, dom = self.write("en")
        # self-contained: no script, nothing fetched
        low = text.lower()
        self.assertNotIn("<script", low)
        for ref in ("src=", "href=", "@import", "url("):
            self.assertNotIn(ref, low)
        xml.dom.minidom.parseString(text)  # well-formed markup, too

        tiers = dom.rows("tiers")
        self.assertEqual(len(tiers), len(rep["tiers"]))
        for tr, cells in tiers:
            j = next(t for t in rep["tiers"] if (t["terms"], t["currency"], t["tier"]) ==
                     (tr["data-terms"], tr["data-currency"], tr["data-tier"]))
            for k in ("offered", "taken"):
                self.assertEqual(int(cells[k]), j[k])
            for k in ("discounted", "value_of_earlier_cash", "net_effect", "rate",
                      "balance_rate"):
                self.assertEqual(cells[k], j[k], k)
            for k in ("share", "avg_days_before_net"):
                self.assertEqual(None if cells[k] is None else float(cells[k]), j[k], k)
            for k, sub in (("apr_vs_net", "nominal"), ("apr_vs_net", "effective"),
                           ("apr_vs_next", "effective")):
                v = cells[k + "." + sub]
                self.assertEqual(None if v is None else float(v),
                                 j[k] and j[k][sub], k + "." + sub)
        t0 = next(c for tr, c in tiers if tr["data-tier"] == "t0")
        self.assertEqual((t0["terms"], t0["share"], t0["discounted"], t0["apr_vs_net.effective"],
                          t0["net_effect"]), (T, "40.00", "30.00", "44.59", "-23.13"))

        custs = dom.rows("customers")
        self.assertEqual([c["customer"] for _, c in custs],
                         [c["customer"] for c in rep["customers"]])
        for (_, c), j in zip(custs, rep["customers"]):
            self.assertEqual((int(c["closed"]), c["preferred_tier"], float(c["on_time_share"]),
                              float(c["avg_days_before_net"]), int(c["unearned_attempts"])),
                             (j["closed"], j["preferred_tier"], j["on_time_share"],
                              j["avg_days_before_net"], j["unearned_attempts"]))
            imp = j["implied_apr"]
            self.assertEqual(c["implied_apr.nominal"] and float(c["implied_apr.nominal"]),
                             imp and imp["nominal"])
        # per salesperson: the rows and every cell are --json's salespeople[]
        # (a {CUR: money} cell reads "CUR amount; ..."; no salesperson: "-", null)
        sps = dom.rows("salespeople")
        self.assertEqual([tr["data-salesperson"] for tr, _ in sps],
                         [p["salesperson"] or "" for p in rep["salespeople"]])
        self.assertEqual(len(sps), 3)

        def cur_map(m):
            return "; ".join("%s %s" % kv for kv in sorted(m.items())) or None

        for (_, c), j in zip(sps, rep["salespeople"]):
            self.assertEqual(c["salesperson"], j["salesperson"])
            self.assertEqual((int(c["closed"]), int(c["taken"]), float(c["share"]),
                              int(c["unearned_attempts"])),
                             (j["closed"], j["taken"], j["share"], j["unearned_attempts"]))
            for k in ("discounted", "amount", "unearned_amount"):
                self.assertEqual(c[k], cur_map(j[k]), k)
            self.assertIsNone(j["overrides"])  # no audit worker in this stack
            for k in ("requested", "approved", "refused"):
                self.assertIsNone(c["overrides." + k])
        s1 = next(c for tr, c in sps if tr["data-salesperson"] == "S-1")
        self.assertEqual((s1["share"], s1["discounted"], s1["amount"]),
                         ("100.00", "CNY 30.00", "CNY 1500.00"))
        self.assertTrue(any(a.get("id") == "overrides_not_counted" for _, a, _ in dom.els))

        spans = {a["id"]: [] for tag, a, _ in dom.els if a.get("id") in ("never_take",
                                                                          "always_take")}
        self.assertEqual(set(spans), {"never_take", "always_take"})

        months = [c for tr, c in dom.rows("net_effect") if tr.get("class") == "month"]
        self.assertEqual(len(months), len(rep["net_effect"]["by_month"]))
        for c, j in zip(months, rep["net_effect"]["by_month"]):
            self.assertEqual((c["month"], c["currency"], c["tier"], c["value_of_earlier_cash"],
                              c["discounts"], c["net_effect"]),
                             (j["month"], j["currency"], j["tier"], j["value_of_earlier_cash"],
                              j["discounts"], j["net_effect"]))
        totals = [c for tr, c in dom.rows("net_effect") if tr.get("class") == "total"]
        self.assertEqual([(c["currency"], c["value_of_earlier_cash"], c["discounts"],
                           c["net_effect"]) for c in totals],
                         [(j["currency"], j["value_of_earlier_cash"], j["discounts"],
                           j["net_effect"]) for j in rep["net_effect"]["total"]])
        self.assertEqual(totals[0]["net_effect"], "-20.41")

        dso = dom.rows("dso")
        self.assertEqual([(c["currency"], c["receivables"], float(c["days"]),
                           c["receivables_at_net"], float(c["days_at_net"])) for _, c in dso],
                         [(j["currency"], j["receivables"], j["days"], j["receivables_at_net"],
                           j["days_at_net"]) for j in rep["dso"]])
        self.assertEqual(float(dso[0][1]["days"]), 10.78)

        # charts: a bar per tier row with its share, each with a <title>
        bars = dom.bars("chart-takeup")
        self.assertEqual(sorted(float(b["data-v"]) for b in bars),
                         sorted(t["share"] for t in rep["tiers"]))
        for tag, a, parents in dom.els:
            if tag == "svg":
                self.assertRegex(a.get("viewbox", a.get("viewBox", "")), r"^0 0 \d+ \d+$")
        rects = text.count("<rect")
        self.assertGreater(rects, 0)
        self.assertEqual(len(re.findall(r"<rect [^>]*><title>[^<]+</title></rect>", text)), rects)
        # per month: discounts and value of earlier cash, summed over the tiers
        bars = dom.bars("chart-months-CNY")
        by = {}
        for j in rep["net_effect"]["by_month"]:
            by.setdefault(j["month"], [0, 0])
            by[j["month"]][0] += round(float(j["discounts"]) * 100)
            by[j["month"]][1] += round(float(j["value_of_earlier_cash"]) * 100)
        got = {}
        for b in bars:
            m = b["data-label"][:7]
            got.setdefault(m, [0, 0])[b["data-k"] == "value_of_earlier_cash"] = \
                round(float(b["data-v"]) * 100)
        self.assertEqual(got, by)
        # what the discounts cost a year, against the cost of capital (8 %)
        self.assertIn("cost of capital 8%", text)
        rates = {b["data-label"][:7]: float(b["data-v"]) for b in dom.bars("chart-rate-CNY")}
        self.assertEqual(set(rates), set(by))

        # paired bars stand side by side: no two bars of a chart overlap, and
        # each month's discounts and value of earlier cash touch
        for chart in ("chart-takeup", "chart-months-CNY"):
            boxes = sorted((int(b["x"]), int(b["x"]) + int(b["width"]), b["data-label"])
                           for b in dom.bars(chart))
            self.assertGreater(len(boxes), 1, chart)
            for (x0, x1, l0), (y0, y1, l1) in zip(boxes, boxes[1:]):
                self.assertLessEqual(x1, y0, (chart, l0, l1))
        pairs = {}
        for b in dom.bars("chart-months-CNY"):
            pairs.setdefault(b["data-label"][:7], []).append(
                (int(b["x"]), int(b["width"]), b["data-k"]))
        for month, (a, b) in pairs.items():
            self.assertEqual((a[2], b[2]), ("discounts", "value_of_earlier_cash"))
            self.assertEqual(a[0] + a[1], b[0], month)  # side by side, touching
        take = sorted((int(b["x"]), int(b["width"])) for b in dom.bars("chart-takeup"))
        self.assertEqual(take[0][0] + take[0][1], take[1][0])  # t0 and net of 2/10,n/30

        # the recommendation: the same items as --json, its English sentences
        items = dom.items("recommendations")
        self.assertEqual([(i["data-kind"], i.get("data-customer"), i.get("data-tier"),
                           i["data-amount"], i["_text"]) for i in items],
                         [(j["kind"], j["customer"], j["tier"], j["amount"], j["text"])
                          for j in rep["recommendations"]])
        self.assertEqual([i["data-kind"] for i in items],
                         ["tier_above_cost", "customer_pays_at_net",
                          "customer_takes_first_tier", "customer_unearned"])

        # the receivables forecast by week: skontoctl forecast --by week's figures
        fc = self.st.ctl_json("forecast", "--by", "week")
        want = {}
        for c in fc["currencies"]:
            for row in c["rows"]:
                want[(c["currency"], row["date"], "by_history")] = row["by_history"]
                want[(c["currency"], row["date"], "at_net")] = row["at_net"]
        got = {}
        for cur in {c["currency"] for c in fc["currencies"]}:
            for b in dom.bars("chart-forecast-" + cur):
                got[(cur, b["data-week"], b["data-k"])] = b["data-v"]
        self.assertTrue(want)
        self.assertEqual(got, want)

    def test_2_chinese_labels_same_numbers(self):
        rep, text, dom = self.write("zh-CN")
        self.assertIn('lang="zh-CN"', text)
        for label in ("现金折扣政策报告", "按客户", "按销售员", "应收账款",
                      "本库中没有审计日志", "按净期付款"):
            self.assertIn(label, text)
        self.assertNotIn("no audit log", text)
        t0 = next(c for tr, c in dom.rows("tiers") if tr["data-tier"] == "t0")
        self.assertEqual((t0["share"], t0["discounted"], t0["net_effect"]),
                         ("40.00", "30.00", "-23.13"))  # not 40,00: numbers ignore the locale
        items = dom.items("recommendations")
        self.assertEqual([i["data-kind"] for i in items],
                         [j["kind"] for j in rep["recommendations"]])
        self.assertIn("138.40", items[0]["_text"])
        self.assertIn("折合每年 138.40", items[0]["_text"])
        self.assertIn("客户 C-B", items[1]["_text"])

    def test_3_names_the_file_bad_locale_unwritable_file(self):
        path = os.path.join(self.st.dir, "named.html")
        r = self.st.ctl("report", "policy", "--html", path)
        self.assertEqual(r.stdout, "wrote %s\n" % path)  # the file, not the text again
        self.assertGreater(os.path.getsize(path), 1000)
        r = self.st.ctl("report", "policy", "--html", os.path.join(self.st.dir, "x.html"),
                        "--locale", "fr", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("zh-CN or en", r.stderr)
        r = self.st.ctl("report", "policy", "--html", "/nonexistent/dir/x.html", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot write /nonexistent/dir/x.html", r.stderr)


if __name__ == "__main__":
    unittest.main()

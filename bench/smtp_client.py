"""The SMTP sink alone: how many mails per second a plain client gets through
it over one connection (smtplib, reused for every mail), so skonto-bench-mail's
figure says whether Skonto or the sink is the limit.

    /usr/bin/python3 bench/smtp_client.py HOST PORT MAIL_FILE [mails]

MAIL_FILE is one built mail (CRLF lines, as skonto-bench-mail writes it with
its SAMPLE_FILE argument); it is sent `mails` times (default 5000). Prints one line.
"""
import smtplib
import sys
import time


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    mails = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    with open(path, "rb") as f:
        data = f.read()
    s = smtplib.SMTP(host, port)
    s.ehlo()
    t0 = time.monotonic()
    for _ in range(mails):
        refused = s.sendmail("skonto@localhost", ["ap@example.com"], data)
        if refused:
            sys.exit("refused: %r" % refused)
    secs = time.monotonic() - t0
    s.quit()
    print("  sink alone (Python smtplib, one connection)  %8.1f us/mail %9.0f mails/s"
          % (secs / mails * 1e6, mails / secs))


if __name__ == "__main__":
    main()

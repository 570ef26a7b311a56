#!/usr/bin/python3
"""Simulated customers for the demo: they follow (or not) the personal
links their messages carry, over real HTTP to rekindle-tracker, and some
come back to their card afterwards.

  behave.py engage TRACKER SECRET MESSAGES.txt
      MESSAGES.txt: customer_id|message_id lines (first messages sent).
      About 35 % click (a phone's browser); of them 40 % register at once;
      5 % have only a mail gateway's scanner click; 3 % unsubscribe.
  behave.py receipts REKINDLECTL CAMPAIGN MESSAGES.txt
      MESSAGES.txt: customer_id|message_id|channel. The providers' delivery
      reports: Zalo's user_received_message for 97 % of ZNS messages, the
      SMS gateway's DELIVRD for 95 % of SMS, through RecordDeliveryReceipts.
  behave.py second-wave TRACKER SECRET MESSAGES.txt
      Of those reminded (the lines given), a quarter click and register.
  behave.py comeback OUT.csv TREATED.txt CONTROL.txt REGISTERED.txt
      Card transactions for today: 60 % of the registered, 5 % of the other
      treatment customers and 4 % of the control group spend again.

Tokens are made here from the HMAC definition (message id, HMAC-SHA256
with the tracking secret, first 8 bytes in hex). Seeded: the same run
each time."""
import datetime, hashlib, hmac, json, random, subprocess, sys, urllib.error
import urllib.request

PHONE = "Mozilla/5.0 (Linux; Android 14; SM-A556E) AppleWebKit/537.36 Mobile Safari/537.36"
SCANNER = "Mozilla/5.0 (compatible; Mimecast URL Protection)"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def token(secret, mid):
    mac = hmac.new(secret.encode(), str(mid).encode(), hashlib.sha256).hexdigest()
    return "%d.%s" % (mid, mac[:16])


def hit(base, path, ua=PHONE, post=False):
    req = urllib.request.Request(base + path, data=b"confirm=1" if post else None,
                                 headers={"User-Agent": ua}, method="POST" if post else "GET")
    try:
        with OPENER.open(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def lines(path):
    with open(path) as fh:
        return [l.strip().split("|") for l in fh if l.strip()]


def engage(base, secret, path):
    rnd = random.Random(2025)
    n = {"click": 0, "register": 0, "scanner": 0, "unsubscribe": 0, "nothing": 0}
    for cid, mid in lines(path):
        t, x = token(secret, int(mid)), rnd.random()
        if x < 0.35:
            assert hit(base, "/t/" + t) == 302
            n["click"] += 1
            if rnd.random() < 0.40:
                hit(base, "/t/%s/register" % t)
                assert hit(base, "/t/%s/register" % t, post=True) == 200
                n["register"] += 1
        elif x < 0.40:
            hit(base, "/t/" + t, ua=SCANNER)
            n["scanner"] += 1
        elif x < 0.43:
            hit(base, "/t/%s/unsubscribe" % t)
            assert hit(base, "/t/%s/unsubscribe" % t, post=True) == 200
            n["unsubscribe"] += 1
        else:
            n["nothing"] += 1
    print("  customers clicked %(click)d (registered at once %(register)d), "
          "scanner-only %(scanner)d, unsubscribed %(unsubscribe)d, did nothing %(nothing)d" % n)


def receipts(ctl, campaign, path):
    rnd = random.Random(5)
    now = datetime.datetime.now(datetime.timezone.utc)
    batch, n = [], 0
    for cid, mid, ch in lines(path) + [("", "0", "0")]:
        if ch in ("2", "3") and rnd.random() < (0.97 if ch == "3" else 0.95):
            name = "zns" if ch == "3" else "sms"
            batch.append({"channel": "CHANNEL_ZNS" if ch == "3" else "CHANNEL_SMS",
                          "tracking_id": "%s:%s:0:%s" % (campaign, cid, name),
                          "status": "user_received_message" if ch == "3" else "DELIVRD",
                          "delivery_time": (now - datetime.timedelta(seconds=rnd.randint(1, 30))
                                            ).strftime("%Y-%m-%dT%H:%M:%SZ")})
        if batch and (len(batch) == 500 or ch == "0"):
            out = subprocess.run([ctl, "call", "EngagementService/RecordDeliveryReceipts",
                                  json.dumps({"receipts": batch})], check=True,
                                 capture_output=True, text=True).stdout
            n += json.loads(out).get("recorded", 0)
            batch = []
    print("  %d delivery receipts recorded" % n)


def second_wave(base, secret, path):
    rnd = random.Random(7)
    done = 0
    for cid, mid in lines(path):
        if rnd.random() < 0.25:
            t = token(secret, int(mid))
            hit(base, "/t/" + t)
            assert hit(base, "/t/%s/register" % t, post=True) == 200
            done += 1
    print("  %d reminded customers registered after the reminder" % done)


def comeback(out, treated, control, registered):
    rnd = random.Random(11)
    reg = {l[0] for l in lines(registered)}
    now = datetime.datetime.now(datetime.timezone.utc)
    rows, n = [], {"treatment": 0, "control": 0}
    for group, path in (("treatment", treated), ("control", control)):
        for (cid,) in lines(path):
            p = 0.60 if cid in reg else 0.05 if group == "treatment" else 0.04
            if rnd.random() < p:
                when = (now - datetime.timedelta(seconds=rnd.randint(0, 2))).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
                rows.append("back-%s,%s,%s,%d,VND,5311,TIKI-01,TIKI,ecommerce" % (
                    cid, cid, when, rnd.randint(100, 2000) * 1000))
                n[group] += 1
    with open(out, "w") as fh:
        fh.write("transaction_id,customer_id,occurred_at,amount_minor,currency,mcc,"
                 "merchant_id,merchant_name,channel\n")
        fh.write("\n".join(rows) + "\n")
    print("  %(treatment)d treatment and %(control)d control customers spent again" % n)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "engage":
        engage(*sys.argv[2:5])
    elif cmd == "receipts":
        receipts(*sys.argv[2:5])
    elif cmd == "second-wave":
        second_wave(*sys.argv[2:5])
    elif cmd == "comeback":
        comeback(*sys.argv[2:6])
    else:
        sys.exit(__doc__)

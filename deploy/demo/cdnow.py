#!/usr/bin/python3
"""Turns the CDNOW master data set into rekindle CSV files.

  cdnow.py CDNOW_master.txt[.gz] OUTDIR [--before YYYY-MM-DD]

writes OUTDIR/customers.csv and OUTDIR/transactions.csv in the formats
`rekindlectl customers import` reads, and OUTDIR/labels.csv when --before
is given (customer_id, purchased: 1 if the customer bought in the 90 days
from that day). Each record of the file (customer, YYYYMMDD date, CDs,
dollar amount; Fader & Hardie, see tests/fixtures/cdnow/PROVENANCE.md)
becomes one card transaction at noon New York time on that day, in US
cents, merchant "CDNOW" (MCC 5735, record stores), channel "ecom".
Records of $0.00 are kept as they are: a transaction of no amount, which
profiling does not count as a purchase. With --before, only records
before that day are written (the evaluation's cut-off): customers are
written all the same, so one with nothing before it exists unprofiled.
"""
import csv, gzip, os, sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def records(src):
    opener = gzip.open if src.endswith(".gz") else open
    with opener(src, "rt") as f:
        for line in f:
            v = line.split()
            if len(v) != 4 or not v[1].isdigit():
                continue
            yield v[0], datetime.strptime(v[1], "%Y%m%d").date(), int(v[2]), \
                round(float(v[3]) * 100)


def main(argv):
    src, out = argv[0], argv[1]
    before = date.fromisoformat(argv[3]) if len(argv) > 3 and argv[2] == "--before" \
        else None
    ny = ZoneInfo("America/New_York")
    os.makedirs(out, exist_ok=True)
    customers, seq, bought = {}, {}, set()
    n = 0
    with open(os.path.join(out, "transactions.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["transaction_id", "customer_id", "occurred_at",
                    "amount_minor", "currency", "mcc", "merchant_id",
                    "merchant_name", "channel"])
        for cid, day, cds, cents in records(src):
            cid = "CD%05d" % int(cid)
            customers.setdefault(cid, None)
            if before is not None and day >= before:
                if day < before + timedelta(days=90) and cents > 0:
                    bought.add(cid)
                continue
            k = seq[cid, day] = seq.get((cid, day), 0) + 1
            t = datetime(day.year, day.month, day.day, 12, tzinfo=ny)
            w.writerow(["CD-%s-%s-%d" % (cid[2:], day.strftime("%Y%m%d"), k), cid,
                        t.isoformat(), cents, "USD", 5735, "CDNOW", "CDNOW",
                        "ecom"])
            n += 1
    with open(os.path.join(out, "customers.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "full_name", "time_zone", "language"])
        for cid in customers:
            w.writerow([cid, "CDNOW customer " + cid[2:], "America/New_York", "en"])
    if before is not None:
        with open(os.path.join(out, "labels.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["customer_id", "purchased"])
            for cid in customers:
                w.writerow([cid, int(cid in bought)])
    print("%d transactions, %d customers" % (n, len(customers)))


if __name__ == "__main__":
    main(sys.argv[1:])

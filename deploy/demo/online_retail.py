#!/usr/bin/python3
"""Turns UCI Online Retail invoice lines into rekindle CSV files.

  online_retail.py online_retail.csv.gz OUTDIR

writes OUTDIR/customers.csv and OUTDIR/transactions.csv in the formats
`rekindlectl customers import` reads. One card transaction per invoice:
the sum of quantity x unit price in pence (GBP), at the invoice time
(UK local time, taken as Europe/London), merchant "UCI Online Retail"
(MCC 5947, gift and souvenir shops), channel "ecom". Cancellations
("C" invoices) are refunds with negative amounts. Lines without a
customer id are dropped. The data has no contact points: customers get
no phone or e-mail, so they can never be contacted, only profiled.
"""
import csv, gzip, io, os, sys
from collections import OrderedDict
from datetime import datetime
from zoneinfo import ZoneInfo

def main(src, out):
    london = ZoneInfo("Europe/London")
    inv = OrderedDict()
    with gzip.open(src, "rt", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            cid = (r["CustomerID"] or "").strip()
            if not cid:
                continue
            cid = "UK" + cid.split(".")[0]
            key = r["InvoiceNo"]
            pence = round(float(r["Quantity"]) * float(r["UnitPrice"]) * 100)
            if key not in inv:
                t = datetime.strptime(r["InvoiceDate"], "%Y-%m-%d %H:%M:%S")
                t = t.replace(tzinfo=london)
                inv[key] = [cid, t, 0, r["Country"]]
            inv[key][2] += pence
    os.makedirs(out, exist_ok=True)
    countries = {}
    with open(os.path.join(out, "transactions.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["transaction_id", "customer_id", "occurred_at",
                    "amount_minor", "currency", "mcc", "merchant_id",
                    "merchant_name", "channel"])
        for key, (cid, t, pence, country) in inv.items():
            countries.setdefault(cid, country)
            w.writerow(["OR-" + key, cid, t.isoformat(), pence, "GBP", 5947,
                        "UCI-ONLINE-RETAIL", "UCI Online Retail", "ecom"])
    with open(os.path.join(out, "customers.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "full_name", "time_zone", "language"])
        for cid, country in countries.items():
            w.writerow([cid, "Online Retail customer %s (%s)" % (cid[2:], country),
                        "Europe/London", "en"])
    print("%d invoices, %d customers" % (len(inv), len(countries)))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

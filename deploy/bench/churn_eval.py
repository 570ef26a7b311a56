#!/usr/bin/python3
"""The churn evaluation of issue 16, one data set at a time.

  churn_eval.py cut DIR CUTOFF
      DIR/customers.csv, DIR/transactions.csv (a converter's output) ->
      DIR/cut/{customers,transactions,labels}.csv: transactions before
      CUTOFF (YYYY-MM-DD) only; label 1 = no purchase (amount > 0) in
      [CUTOFF, CUTOFF + 90 days).
  churn_eval.py score DIR PROTOSET ADDR TOKEN
      reads every profile through the API (ListProfiles, paged, from
      Debian's python3-grpcio with the server's descriptor set) and
      prints, over the customers who bought before the cut-off, the AUC
      of churn risk (with its 95 % bootstrap interval), of recency alone and of 1 - P(alive) against the
      labels, and the reliability table of the churn risk.
  churn_eval.py reference DIR CUTOFF
      the scikit-learn reference of issue 16, measured in this run on the
      same customers and label: StandardScaler + LogisticRegression and
      HistGradientBoosting on eleven features (recency, frequency,
      monetary, average ticket, tenure, median gap, overdue, spend in the
      last 90 days and the 90 before, trend, weekend share) trained one
      horizon earlier (features as of CUTOFF - 90 days, label: no purchase
      in [CUTOFF - 90, CUTOFF)), scored as of CUTOFF on the customers who
      bought before it. Needs python3-sklearn.
"""
import csv, os, random, sys
from datetime import date, datetime, timedelta


def cut(d, cutoff):
    c = date.fromisoformat(cutoff)
    end = c + timedelta(days=90)
    out = os.path.join(d, "cut")
    os.makedirs(out, exist_ok=True)
    bought = set()
    with open(os.path.join(d, "transactions.csv"), newline="") as f, \
            open(os.path.join(out, "transactions.csv"), "w", newline="") as g:
        r, w = csv.reader(f), csv.writer(g)
        head = next(r)
        w.writerow(head)
        at, amt, cid = head.index("occurred_at"), head.index("amount_minor"), \
            head.index("customer_id")
        for row in r:
            day = datetime.fromisoformat(row[at]).date()
            if day < c:
                w.writerow(row)
            elif day < end and int(row[amt]) > 0:
                bought.add(row[cid])
    with open(os.path.join(d, "customers.csv"), newline="") as f, \
            open(os.path.join(out, "customers.csv"), "w", newline="") as g, \
            open(os.path.join(out, "labels.csv"), "w", newline="") as h:
        r, w, lw = csv.reader(f), csv.writer(g), csv.writer(h)
        w.writerow(next(r))
        lw.writerow(["customer_id", "churned"])
        for row in r:
            w.writerow(row)
            lw.writerow([row[0], int(row[0] not in bought)])


def reference_features(purchases, cut):
    """The reference's features as of cut and its label (no purchase in
    [cut, cut + 90 days)), for each customer with a purchase before cut."""
    import statistics
    X, y, ids = [], [], []
    for c, rs in purchases.items():
        before = [(d, a) for d, a in rs if d < cut]
        if not before:
            continue
        days = sorted({d for d, _ in before})
        rec, ten = (cut - days[-1]).days, (cut - days[0]).days
        spend = sum(a for _, a in before)
        gaps = [(b - a).days for a, b in zip(days, days[1:])] or [0]
        med = float(statistics.median(gaps))
        s90 = sum(a for d, a in before if (cut - d).days <= 90)
        p90 = sum(a for d, a in before if 90 < (cut - d).days <= 180)
        X.append([rec, len(before), spend, spend / len(before), ten, med,
                  rec / med if med > 0 else 0, s90, p90,
                  (s90 - p90) / max(s90 + p90, 1),
                  sum(a for d, a in before if d.weekday() >= 5) / spend])
        y.append(0 if any(cut <= d < cut + timedelta(days=90) for d, _ in rs) else 1)
        ids.append(c)
    return X, y, ids


def reference(d, cutoff):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    c = date.fromisoformat(cutoff)
    purchases = {}
    with open(os.path.join(d, "transactions.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if int(row["amount_minor"]) > 0:
                purchases.setdefault(row["customer_id"], []).append(
                    (datetime.fromisoformat(row["occurred_at"]).date(),
                     int(row["amount_minor"])))
    Xr, yr, _ = reference_features(purchases, c - timedelta(days=90))
    Xt, yt, _ = reference_features(purchases, c)
    sc = StandardScaler().fit(Xr)
    lr = LogisticRegression(max_iter=5000).fit(sc.transform(Xr), yr)
    hgb = HistGradientBoostingClassifier(random_state=0).fit(Xr, yr)
    a_lr = auc(list(lr.predict_proba(sc.transform(Xt))[:, 1]), yt)
    a_hgb = auc(list(hgb.predict_proba(Xt)[:, 1]), yt)
    print("scikit-learn reference, this run (%d customers): logistic %.4f, "
          "gradient boosting %.4f" % (len(yt), a_lr, a_hgb))
    print("REFERENCE %.4f" % max(a_lr, a_hgb))


def auc(scores, labels):
    """Mann-Whitney AUC, ties averaged; labels 1 = churned."""
    pairs = sorted(zip(scores, labels))
    rank, ranks, i = 0, [], 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        ranks += [(i + 1 + j) / 2.0] * (j - i)
        i = j
    pos = sum(l for _, l in pairs)
    neg = len(pairs) - pos
    rs = sum(r for r, (_, l) in zip(ranks, pairs) if l)
    return (rs - pos * (pos + 1) / 2) / (pos * neg)


def bootstrap_interval(scores, labels, rounds=200, seed=16):
    """The AUC's 95 % percentile interval over customers resampled with
    replacement (seeded): how far the figure moves with the sample alone,
    so that a gap to the reference can be read against it."""
    rng, n, got = random.Random(seed), len(scores), []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        got.append(auc([scores[i] for i in idx], [labels[i] for i in idx]))
    got.sort()
    return got[int(0.025 * rounds)], got[int(0.975 * rounds) - 1]


def score(d, protoset, addr, token):
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    fds = descriptor_pb2.FileDescriptorSet()
    with open(protoset, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    cls = lambda n: factory.GetPrototype(pool.FindMessageTypeByName(n))
    Req, Resp = cls("rekindle.v1.ListProfilesRequest"), cls("rekindle.v1.ListProfilesResponse")
    ch = grpc.insecure_channel(addr, options=[("grpc.max_receive_message_length", 64 << 20)])
    call = ch.unary_unary("/rekindle.v1.ProfileService/ListProfiles",
                          request_serializer=Req.SerializeToString,
                          response_deserializer=Resp.FromString)
    labels = {}
    with open(os.path.join(d, "cut", "labels.csv"), newline="") as f:
        for row in csv.DictReader(f):
            labels[row["customer_id"]] = int(row["churned"])
    prof, tok = {}, ""
    while True:
        r = call(Req(page_size=1000, page_token=tok), metadata=[("authorization",
                                                                  "Bearer " + token)])
        for p in r.profiles:
            prof[p.customer_id] = p
        tok = r.next_page_token
        if not tok:
            break
    bought = [c for c, p in prof.items() if p.transaction_count > 0 and c in labels]
    y = [labels[c] for c in bought]
    unscored = [c for c in bought if not prof[c].HasField("churn_risk")]
    risk = [prof[c].churn_risk.value if prof[c].HasField("churn_risk") else 0.5
            for c in bought]
    rec = [prof[c].days_since_last_transaction.value for c in bought]
    print("customers who bought before the cut-off: %d (churned %d, %.1f %%); "
          "unscored %d" % (len(bought), sum(y), 100.0 * sum(y) / len(bought),
                           len(unscored)))
    lo, hi = bootstrap_interval(risk, y)
    print("AUC churn risk        %.4f (95 %% bootstrap interval %.4f-%.4f)" % (
        auc(risk, y), lo, hi))
    print("AUC recency alone     %.4f" % auc(rec, y))
    pa = [c for c in bought if prof[c].HasField("p_alive")]
    if pa:
        print("AUC 1 - P(alive)      %.4f (%d customers; rounded to 1e-9)" % (
            auc([round(1 - prof[c].p_alive.value, 9) for c in pa],
                [labels[c] for c in pa]), len(pa)))
    else:
        print("AUC 1 - P(alive)      not scored (no informative BTYD fit)")
    print("reliability of churn risk at the cut-off: predicted -> observed (customers)")
    for b in range(10):
        sel = [(r, l) for r, l in zip(risk, y) if min(int(r * 10), 9) == b]
        if sel:
            print("  %.2f -> %.2f (%d)%s" % (
                sum(r for r, _ in sel) / len(sel), sum(l for _, l in sel) / len(sel),
                len(sel), "" if len(sel) < 200 or abs(
                    sum(r for r, _ in sel) / len(sel) - sum(l for _, l in sel) / len(sel))
                <= 0.05 else "  (off by more than 0.05)"))
    reasons = sum(1 for c in bought if prof[c].HasField("churn_risk") and
                  prof[c].churn_risk.value >= 0.5 and not prof[c].churn_reasons)
    print("risk >= 0.5 without a reason: %d" % reasons)
    return auc(risk, y)


if __name__ == "__main__":
    if sys.argv[1] == "cut":
        cut(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    else:
        score(*sys.argv[2:6])

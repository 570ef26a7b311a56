#!/usr/bin/python3
"""Telesales agents for the demo, each with their own API token (role
agent), working through rekindlectl: claim the next ticket, read its
context, call (logged through the contact governor), resolve.

  agents.py REKINDLECTL CALLS_PER_AGENT AGENT=TOKEN...

Outcomes are drawn (seeded): 35 % register, 30 % not interested, 20 %
unreachable, 15 % call back in two policy hours."""
import json, os, random, subprocess, sys, time

ctl = sys.argv[1]
per_agent = int(sys.argv[2])
agents = [a.split("=", 1) for a in sys.argv[3:]]
rnd = random.Random(3)


def call(token, method, body):
    r = subprocess.run([ctl, "call", method, json.dumps(body)], capture_output=True,
                       text=True, env=dict(os.environ, REKINDLE_TOKEN=token))
    if r.returncode != 0:
        return None, (r.stderr.strip().splitlines() or ["?"])[0]
    return json.loads(r.stdout), None


handled, shown, refused = {}, False, False
for n in range(per_agent):
    for agent, token in agents:
        t, err = call(token, "TicketService/ClaimNextTicket", {"request_id": "demo-%s-%d" % (agent, n)})
        if t is None:
            print("  %s: %s" % (agent, err))
            continue
        tid = t["ticket_id"]
        if not shown:
            print("  %s claims ticket %s for customer %s. Context:" % (agent, tid, t["customer_id"]))
            print("    " + t["context_summary"])
            for p in t.get("talking_points", []):
                print("    - " + p)
            shown = True
        reached = rnd.random() < 0.8
        _, err = call(token, "TicketService/LogCallAttempt",
                      {"request_id": "call-%s" % tid, "ticket_id": tid, "reached": reached})
        if err:
            print("  %s: call refused: %s" % (agent, err))
            continue
        if not refused:
            # A second advertising call to the same customer today.
            _, err = call(token, "TicketService/LogCallAttempt",
                          {"request_id": "call2-%s" % tid, "ticket_id": tid, "reached": True})
            print("  a second call to the same customer today: %s" % (err or "allowed?!"))
            refused = True
        x = rnd.random()
        if not reached:
            res = "RESOLUTION_UNREACHABLE"
        elif x < 0.35:
            res = "RESOLUTION_REGISTERED"
        elif x < 0.65:
            res = "RESOLUTION_NOT_INTERESTED"
        elif x < 0.85:
            res = "RESOLUTION_UNREACHABLE"
        else:
            res = "RESOLUTION_CALL_BACK"
        body = {"request_id": "res-%s" % tid, "ticket_id": tid, "resolution": res,
                "note": "Demo: %s" % res.split("_", 1)[1].lower().replace("_", " ")}
        if res == "RESOLUTION_CALL_BACK":
            body["call_back_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                   time.gmtime(time.time() + 3600))
        _, err = call(token, "TicketService/ResolveTicket", body)
        if err:
            print("  %s: resolve failed: %s" % (agent, err))
            continue
        handled.setdefault(agent, {}).setdefault(res.split("_", 1)[1].lower(), 0)
        handled[agent][res.split("_", 1)[1].lower()] += 1
for agent, counts in sorted(handled.items()):
    print("  %s handled %d tickets: %s" % (agent, sum(counts.values()),
          ", ".join("%s %d" % kv for kv in sorted(counts.items()))))

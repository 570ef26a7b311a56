"""CampaignService definitions and lifecycle from Debian's python3-grpcio
through server reflection: a campaign is checked whole, names what exists,
changes only in draft, and moves between states only as allowed."""
import time, unittest

import grpc

from harness import Rekindle, bad_request

K = "rekindle.v1.CampaignService"
O = "rekindle.v1.OfferService"
EMAIL, SMS, ZNS, PUSH = 1, 2, 3, 4
DORMANT, AT_RISK = 4, 3


class CampaignTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = rk = Rekindle(profilers=0)
        now = int(time.time())
        ts = lambda s: rk.msg("google.protobuf.Timestamp", seconds=s)
        for oid, partner, cat, fb in (("TIKI-V", "TIKI", "", False),
                                      ("FLY-5", "", "travel", False),
                                      ("ANY-1", "", "", True)):
            rk.call(O, "CreateOffer", rk.msg("rekindle.v1.CreateOfferRequest", offer=rk.msg(
                "rekindle.v1.Offer", offer_id=oid, title="Ưu đãi " + oid, kind=3,
                partner_id=partner, category=cat, fallback=fb,
                amount=rk.msg("rekindle.v1.Money", amount_minor=50000, currency="VND"),
                valid_from=ts(now - 60), valid_until=ts(now + 86400 * 30),
                landing_url="https://bank.example/uu-dai",
                templates=[rk.msg("rekindle.v1.MessageTemplate", channel=SMS,
                                  body="{name}: {offer} {link}")])))

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def campaign(self, cid, **kw):
        rk = self.rk
        base = dict(campaign_id=cid, name="Đánh thức khách hàng ngủ đông",
                    audience=rk.msg("rekindle.v1.AudienceRule", states=[DORMANT, AT_RISK],
                                    min_dormant_days=90, max_dormant_days=365,
                                    min_churn_risk=0.5, segments=["At risk", "Hibernating"],
                                    categories=["travel"], partner_ids=["TIKI"],
                                    exclude_in_running_campaign=True, cooldown_days=14),
                    offer_ids=["TIKI-V", "FLY-5"], fallback_offer_id="ANY-1",
                    holdout_percent=10, channel_order=[PUSH, ZNS, SMS, EMAIL],
                    send_window_start="08:00", send_window_end="21:00",
                    provider_rate_per_second=200,
                    reminders=rk.msg("rekindle.v1.ReminderPolicy", delay_hours=48,
                                     max_reminders=2, interval_hours=72, channels=[SMS],
                                     escalate_to_ticket=True, ticket_team_id="telesales-hn"))
        base.update(kw)
        return rk.msg("rekindle.v1.Campaign", **base)

    def create(self, cp, rid=""):
        return self.rk.call(K, "CreateCampaign", self.rk.msg(
            "rekindle.v1.CreateCampaignRequest", campaign=cp, request_id=rid))

    def test_create_round_trips_every_field(self):
        rk = self.rk
        for _ in range(2):
            got = self.create(self.campaign("WAKE-1"), rid="camp-1")
        self.assertEqual(got.state, 1)   # draft
        self.assertEqual(list(got.audience.states), [DORMANT, AT_RISK])
        self.assertEqual(list(got.audience.segments), ["At risk", "Hibernating"])
        self.assertEqual((got.audience.max_dormant_days, got.audience.cooldown_days), (365, 14))
        self.assertEqual(list(got.channel_order), [PUSH, ZNS, SMS, EMAIL])
        self.assertEqual((got.send_window_start, got.send_window_end), ("08:00", "21:00"))
        self.assertEqual((got.reminders.max_reminders, got.reminders.ticket_team_id),
                         (2, "telesales-hn"))
        self.assertEqual(got.attribution_days, 30)   # the default
        self.assertEqual(rk.call(K, "GetCampaign", rk.msg(
            "rekindle.v1.GetCampaignRequest", campaign_id="WAKE-1")), got)
        with self.assertRaises(grpc.RpcError) as e:
            self.create(self.campaign("WAKE-1"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)

    def test_bad_campaigns_name_the_field_and_write_nothing(self):
        rk = self.rk
        aud = lambda **kw: rk.msg("rekindle.v1.AudienceRule", **kw)
        cases = [
            (dict(holdout_percent=60), "campaign.holdout_percent"),
            (dict(channel_order=[]), "campaign.channel_order"),
            (dict(channel_order=[SMS, SMS]), "campaign.channel_order[1]"),
            (dict(channel_order=[5]), "campaign.channel_order[0]"),
            (dict(send_window_start="8h"), "campaign.send_window_start"),
            (dict(send_window_start="21:00", send_window_end="08:00"),
             "campaign.send_window_end"),
            (dict(audience=aud(min_dormant_days=200, max_dormant_days=100)),
             "campaign.audience.max_dormant_days"),
            (dict(audience=aud(segments=["VIP"])), "campaign.audience.segments[0]"),
            (dict(audience=aud(min_churn_risk=1.5)), "campaign.audience.max_churn_risk"),
            (dict(audience=aud(min_churn_risk=float("nan"))),
             "campaign.audience.max_churn_risk"),
            (dict(audience=aud(min_p_alive=-0.1)), "campaign.audience.max_p_alive"),
            (dict(audience=aud(min_p_alive=0.6, max_p_alive=0.4)),
             "campaign.audience.max_p_alive"),
            (dict(audience=aud(max_p_alive=float("inf"))), "campaign.audience.max_p_alive"),
            (dict(offer_ids=[], fallback_offer_id=""), "campaign.offer_ids"),
            (dict(reminders=rk.msg("rekindle.v1.ReminderPolicy", max_reminders=1)),
             "campaign.reminders.delay_hours"),
        ]
        for i, (kw, fld) in enumerate(cases):
            with self.assertRaises(grpc.RpcError) as e:
                self.create(self.campaign("BAD-%d" % i, **kw))
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, fld)
            self.assertIn(fld, bad_request(e.exception))
        # names that do not exist, each pointed at
        with self.assertRaises(grpc.RpcError) as e:
            self.create(self.campaign("BAD-REF", offer_ids=["TIKI-V", "NOPE"],
                                      fallback_offer_id="GONE",
                                      audience=aud(categories=["casino"],
                                                   partner_ids=["NOBODY"])))
        v = bad_request(e.exception)
        for fld in ("campaign.offer_ids[1]", "campaign.fallback_offer_id",
                    "campaign.audience.categories[0]", "campaign.audience.partner_ids[0]"):
            self.assertIn(fld, v)
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.campaigns "
                                   "WHERE campaign_id LIKE 'BAD%'"), "0")

    def test_update_checks_the_whole_campaign_and_only_in_draft(self):
        rk = self.rk
        self.create(self.campaign("UPD-C"))
        upd = lambda cp, *paths: rk.call(K, "UpdateCampaign", rk.msg(
            "rekindle.v1.UpdateCampaignRequest", campaign=cp,
            update_mask=rk.msg("google.protobuf.FieldMask", paths=list(paths))))
        got = upd(rk.msg("rekindle.v1.Campaign", campaign_id="UPD-C", holdout_percent=20,
                         name="ignored: not in the mask"), "holdout_percent")
        self.assertEqual((got.holdout_percent, got.name),
                         (20, "Đánh thức khách hàng ngủ đông"))
        # one end of the window alone would leave a half window: refused
        with self.assertRaises(grpc.RpcError) as e:
            upd(rk.msg("rekindle.v1.Campaign", campaign_id="UPD-C", send_window_end=""),
                "send_window_end")
        self.assertIn("campaign.send_window_end", bad_request(e.exception))
        with self.assertRaises(grpc.RpcError) as e:
            upd(rk.msg("rekindle.v1.Campaign", campaign_id="UPD-C", state=3), "state")
        self.assertIn("update_mask.paths[0]", bad_request(e.exception))
        with self.assertRaises(grpc.RpcError) as e:
            upd(rk.msg("rekindle.v1.Campaign", campaign_id="NONE", name="x"), "name")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_lifecycle_transitions(self):
        rk = self.rk
        self.create(self.campaign("LIFE-1"))
        act = lambda verb, reason="": rk.call(K, verb + "Campaign", rk.msg(
            "rekindle.v1.CampaignActionRequest", campaign_id="LIFE-1", reason=reason))
        for verb in ("Pause", "Resume"):       # a draft is neither running nor paused
            with self.assertRaises(grpc.RpcError) as e:
                act(verb)
            self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        rk.db.sql("UPDATE rekindle.campaigns SET state = 3 WHERE campaign_id = 'LIFE-1'")
        self.assertEqual(act("Pause", "budget review").state, 4)
        self.assertEqual(act("Pause").state, 4)     # again: nothing changes
        with self.assertRaises(grpc.RpcError) as e:   # definitions are fixed now
            rk.call(K, "UpdateCampaign", rk.msg(
                "rekindle.v1.UpdateCampaignRequest",
                campaign=rk.msg("rekindle.v1.Campaign", campaign_id="LIFE-1", name="x"),
                update_mask=rk.msg("google.protobuf.FieldMask", paths=["name"])))
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(act("Resume").state, 3)
        self.assertEqual(act("Cancel", "wrong audience").state, 6)
        with self.assertRaises(grpc.RpcError) as e:
            act("Resume")
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(rk.db.sql("SELECT state_reason FROM rekindle.campaigns "
                                   "WHERE campaign_id = 'LIFE-1'"), "wrong audience")
        listed = rk.call(K, "ListCampaigns", rk.msg("rekindle.v1.ListCampaignsRequest",
                                                    states=[6]))
        self.assertEqual([c.campaign_id for c in listed.campaigns], ["LIFE-1"])
        # A listed campaign is the campaign GetCampaign gives.
        every = rk.call(K, "ListCampaigns", rk.msg("rekindle.v1.ListCampaignsRequest")).campaigns
        self.assertGreater(len(every), 1)
        for cp in every:
            self.assertEqual(cp, rk.call(K, "GetCampaign", rk.msg(
                "rekindle.v1.GetCampaignRequest", campaign_id=cp.campaign_id)))


if __name__ == "__main__":
    unittest.main()

"""OfferService from Debian's python3-grpcio through server reflection:
offers tied to partners and categories, templates checked when saved,
budgets and caps that cannot be set below what is spent, voucher pools."""
import time, unittest

import grpc

from harness import Rekindle, bad_request

O = "rekindle.v1.OfferService"
CH_EMAIL, CH_SMS, CH_ZNS, CH_PUSH = 1, 2, 3, 4


class OfferTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rk = Rekindle(profilers=0)

    @classmethod
    def tearDownClass(cls):
        cls.rk.close()

    def ts(self, s):
        return self.rk.msg("google.protobuf.Timestamp", seconds=int(s))

    def money(self, v):
        return self.rk.msg("rekindle.v1.Money", amount_minor=v, currency="VND")

    def tmpl(self, channel, **kw):
        return self.rk.msg("rekindle.v1.MessageTemplate", channel=channel, **kw)

    def offer(self, oid, **kw):
        now = time.time()
        base = dict(offer_id=oid, title="Tiki giảm 100.000đ", kind=1,
                    partner_id="TIKI", amount=self.money(100000),
                    valid_from=self.ts(now - 3600), valid_until=self.ts(now + 30 * 86400),
                    budget=self.money(1000000), quantity_cap=10,
                    landing_url="https://tiki.vn/khuyen-mai",
                    templates=[
                        self.tmpl(CH_SMS, body="{name} oi, {partner} tang ban {offer}, "
                                               "ma {code}, HSD {expiry}: {link}"),
                        self.tmpl(CH_EMAIL, subject="{name}, quà từ {partner} đang chờ bạn",
                                  body="Chào {name},\nMã của bạn: {code}\n{link}",
                                  html_body="<p>Chào {name}</p><a href=\"{link}\">Nhận</a>"),
                        self.tmpl(CH_ZNS, provider_template_id="231456"),
                        self.tmpl(CH_PUSH, subject="Quà từ {partner}",
                                  body="{offer} – hết hạn {expiry}")])
        base.update(kw)
        return self.rk.msg("rekindle.v1.Offer", **base)

    def create(self, offer, request_id=""):
        return self.rk.call(O, "CreateOffer", self.rk.msg(
            "rekindle.v1.CreateOfferRequest", offer=offer, request_id=request_id))

    def test_create_get_list(self):
        rk = self.rk
        # A repeated request_id answers the same and writes once. The very
        # same offer is sent twice: built twice, its clock-derived validity
        # could cross a second and make it another request.
        offer = self.offer("TIKI-100K")
        for _ in range(2):
            got = self.create(offer, request_id="offer-1")
        self.assertEqual(got.offer_id, "TIKI-100K")
        self.assertEqual(got.title, "Tiki giảm 100.000đ")
        self.assertEqual(len(got.templates), 4)
        self.assertEqual(got.budget_used.amount_minor, 0)
        with self.assertRaises(grpc.RpcError) as e:
            self.create(self.offer("TIKI-100K"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        self.create(self.offer("TRAVEL-5PCT", kind=2, partner_id="", category="travel",
                               cashback_percent=5, title="Hoàn 5% vé máy bay",
                               templates=[self.tmpl(CH_SMS, body="Hoan 5% ve: {link}")]))
        self.create(self.offer("ANY-50K", kind=3, partner_id="", fallback=True,
                               templates=[self.tmpl(CH_PUSH, subject="Quà", body="{offer}")]))
        by_cat = rk.call(O, "ListOffers", rk.msg("rekindle.v1.ListOffersRequest",
                                                 category="travel"))
        self.assertEqual([o.offer_id for o in by_cat.offers], ["TRAVEL-5PCT"])
        page = rk.call(O, "ListOffers", rk.msg("rekindle.v1.ListOffersRequest", page_size=2))
        rest = rk.call(O, "ListOffers", rk.msg("rekindle.v1.ListOffersRequest", page_size=2,
                                               page_token=page.next_page_token))
        self.assertEqual([o.offer_id for o in page.offers] + [o.offer_id for o in rest.offers],
                         ["ANY-50K", "TIKI-100K", "TRAVEL-5PCT"])
        self.assertEqual(rest.next_page_token, "")
        # A listed offer is the offer GetOffer gives, templates and all.
        for o in list(page.offers) + list(rest.offers):
            self.assertEqual(o, rk.call(O, "GetOffer", rk.msg("rekindle.v1.GetOfferRequest",
                                                              offer_id=o.offer_id)))
        self.assertEqual([len(o.templates) for o in page.offers] + [len(rest.offers[0].templates)],
                         [1, 4, 1])
        got = rk.call(O, "GetOffer", rk.msg("rekindle.v1.GetOfferRequest",
                                            offer_id="TRAVEL-5PCT"))
        self.assertEqual((got.kind, got.cashback_percent, got.category), (2, 5.0, "travel"))
        with self.assertRaises(grpc.RpcError) as e:
            rk.call(O, "GetOffer", rk.msg("rekindle.v1.GetOfferRequest", offer_id="NOPE"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_bad_offers_say_which_field_and_write_nothing(self):
        rk = self.rk
        cases = [
            (self.offer("B1", partner_id="", category=""), "offer.partner_id"),
            (self.offer("B2", kind=2), "offer.cashback_percent"),
            (self.offer("B3", valid_until=self.ts(time.time() - 60)), "offer.valid_until"),
            (self.offer("B4", landing_url="tiki.vn"), "offer.landing_url"),
            (self.offer("B5", templates=[self.tmpl(CH_SMS, body="Chào {ten}")]),
             "offer.templates[0].body"),
            (self.offer("B6", templates=[self.tmpl(CH_EMAIL, body="x")]),
             "offer.templates[0].subject"),
            (self.offer("B7", templates=[self.tmpl(CH_ZNS)]),
             "offer.templates[0].provider_template_id"),
            (self.offer("B8", templates=[self.tmpl(CH_SMS, body="{name} {offer} {partner} "
                                                   "{link} " + "Ưu đãi lớn " * 12)]),
             "offer.templates[0].body"),
            (self.offer("B9", templates=[self.tmpl(CH_PUSH, subject="a", body="b"),
                                         self.tmpl(CH_PUSH, subject="a", body="b")]),
             "offer.templates[1].channel"),
            (self.offer("B10", amount=rk.msg("rekindle.v1.Money", amount_minor=5,
                                             currency="dong")), "offer.amount.currency"),
        ]
        for offer, fld in cases:
            with self.assertRaises(grpc.RpcError) as e:
                self.create(offer)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, fld)
            self.assertIn(fld, bad_request(e.exception))
        with self.assertRaises(grpc.RpcError) as e:
            self.create(self.offer("B11", partner_id="NOBODY"))
        self.assertIn("offer.partner_id", bad_request(e.exception))
        self.assertEqual(rk.db.sql("SELECT count(*) FROM rekindle.offers "
                                   "WHERE offer_id LIKE 'B%'"), "0")

    def test_update_never_below_what_is_spent(self):
        rk = self.rk
        self.create(self.offer("UPD-1"))
        mask = lambda *p: rk.msg("google.protobuf.FieldMask", paths=list(p))
        upd = lambda offer, *p: rk.call(O, "UpdateOffer", rk.msg(
            "rekindle.v1.UpdateOfferRequest", offer=offer, update_mask=mask(*p)))
        got = upd(rk.msg("rekindle.v1.Offer", offer_id="UPD-1", title="Tiki 200K",
                         quantity_cap=20), "title", "quantity_cap")
        self.assertEqual((got.title, got.quantity_cap, got.partner_id), ("Tiki 200K", 20, "TIKI"))
        # Spend some (as a campaign launch would), then try to cap below it.
        rk.db.sql("UPDATE rekindle.offers SET quantity_used = 5, "
                  "budget_used_minor = 500000 WHERE offer_id = 'UPD-1'")
        for offer, path in ((rk.msg("rekindle.v1.Offer", offer_id="UPD-1", quantity_cap=4),
                             "quantity_cap"),
                            (rk.msg("rekindle.v1.Offer", offer_id="UPD-1",
                                    budget=self.money(400000)), "budget")):
            with self.assertRaises(grpc.RpcError) as e:
                upd(offer, path)
            self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        with self.assertRaises(grpc.RpcError) as e:
            upd(rk.msg("rekindle.v1.Offer", offer_id="UPD-1", partner_id="SHOPEE"), "partner_id")
        self.assertIn("update_mask.paths[0]", bad_request(e.exception))
        got = upd(rk.msg("rekindle.v1.Offer", offer_id="UPD-1", templates=[
            self.tmpl(CH_SMS, body="Ma {code}: {link}")]), "templates")
        self.assertEqual([t.channel for t in got.templates], [CH_SMS])
        with self.assertRaises(grpc.RpcError) as e:
            upd(rk.msg("rekindle.v1.Offer", offer_id="NOPE", title="x"), "title")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        # The database holds the cap too, whatever writes to it.
        with self.assertRaises(Exception):
            rk.db.sql("UPDATE rekindle.offers SET quantity_used = 21 "
                      "WHERE offer_id = 'UPD-1'")

    def test_voucher_codes(self):
        rk = self.rk
        self.create(self.offer("CODES-1"))
        add = lambda codes, rid="", oid="CODES-1": rk.call(O, "AddVoucherCodes", rk.msg(
            "rekindle.v1.AddVoucherCodesRequest", offer_id=oid, codes=codes, request_id=rid))
        r = add(["TK-%04d" % i for i in range(100)], rid="codes-a")
        self.assertEqual((r.added, r.duplicate), (100, 0))
        r = add(["TK-%04d" % i for i in range(100)], rid="codes-a")  # replayed
        self.assertEqual((r.added, r.duplicate), (100, 0))
        r = add(["TK-%04d" % i for i in range(90, 110)])
        self.assertEqual((r.added, r.duplicate), (10, 10))
        got = rk.call(O, "GetOffer", rk.msg("rekindle.v1.GetOfferRequest", offer_id="CODES-1"))
        self.assertEqual(got.codes_available, 110)
        with self.assertRaises(grpc.RpcError) as e:
            add(["bad code"])
        self.assertIn("codes[0]", bad_request(e.exception))
        self.create(self.offer("CASH-1", kind=3))
        with self.assertRaises(grpc.RpcError) as e:
            add(["X1"], oid="CASH-1")
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)


if __name__ == "__main__":
    unittest.main()

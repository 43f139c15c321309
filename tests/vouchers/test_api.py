"""The partner API of a firm's point of sale: tokens and scopes, checking, exactly-once redemption,
reversal, refusals as JSON with a reason, and the lockout that stops codes from being guessed."""

import hashlib
import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from livinglab import services as core
from livinglab.models import AuditEntry
from tests.vouchers.conftest import mistyped
from vouchers import tokens
from vouchers.codes import check_character, format_code, generate_code
from vouchers.errors import VoucherError
from vouchers.factories import EnrolmentFactory, SolutionFactory, VoucherFactory
from vouchers.models import LedgerEntry, PartnerToken, Voucher

ALL_SCOPES = ["check", "redeem", "reverse"]
EUR = Decimal


@pytest.fixture
def till(firm, cashier):
    """The firm's till token, allowed to do everything, and its secret."""
    return tokens.create_partner_token(firm, "Till 1", ALL_SCOPES, acting_user=cashier)


@pytest.fixture
def other_till(other_sme, other_firm_cashier, programme):
    """A token of another firm enrolled in the same programme."""
    EnrolmentFactory(solution=SolutionFactory(firm=other_sme), programme=programme)
    return tokens.create_partner_token(other_sme, "Loire till", ALL_SCOPES, acting_user=other_firm_cashier)


@pytest.fixture
def voucher(programme, holder, firm):
    return VoucherFactory(programme=programme, holder=holder)


def call(operation, body, secret=None, *, address="192.0.2.10", **headers):
    client = Client(REMOTE_ADDR=address)
    if secret is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    response = client.post(
        f"/api/vouchers/{operation}", data=json.dumps(body), content_type="application/json", **headers
    )
    return response, response.json()


def unknown_code() -> str:
    """A well-formed code that no voucher has."""
    payload = generate_code()[:16]
    return payload + check_character(payload)


# ------------------------------------------------------------------------------------ tokens, scopes


def test_requests_without_a_valid_token_are_refused_with_401(till, voucher, cashier):
    token, secret = till
    assert call("check", {"code": voucher.code})[0].status_code == 401
    response, body = call("check", {"code": voucher.code}, "not-a-token")
    assert response.status_code == 401 and body["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"

    tokens.revoke_partner_token(token, acting_user=cashier)
    response, body = call("check", {"code": voucher.code}, secret)
    assert response.status_code == 401
    assert "balance" not in body
    assert AuditEntry.objects.filter(action="vouchers.partnertoken.revoke", object_id=str(token.pk)).exists()


def test_a_token_without_the_redeem_scope_cannot_redeem(firm, cashier, voucher):
    _, secret = tokens.create_partner_token(firm, "Kiosk", ["check"], acting_user=cashier)
    response, body = call(
        "redeem", {"code": voucher.code, "amount": "500.00", "idempotency_key": "k1"}, secret
    )
    assert response.status_code == 403
    assert body["code"] == "scope_missing" and body["detail"]
    assert not voucher.entries.filter(kind=LedgerEntry.Kind.REDEEM).exists()
    assert call("check", {"code": voucher.code}, secret)[0].status_code == 200


def test_a_token_stops_working_when_its_creator_leaves_the_firm(till, voucher, cashier, staff_user):
    _, secret = till
    core.end_membership(cashier.memberships.get(), acting_user=staff_user)
    response, body = call("check", {"code": voucher.code}, secret)
    assert response.status_code == 403 and body["code"] == "token_owner_not_allowed"
    assert "balance" not in body


def test_a_request_that_is_not_json_is_refused_without_a_server_error(till):
    response = Client().post(
        "/api/vouchers/check",
        data="code=1234",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {till[1]}",
    )
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_the_secret_is_not_stored_only_its_hash(till):
    token, secret = till
    token.refresh_from_db()
    stored = [str(getattr(token, f.attname)) for f in PartnerToken._meta.concrete_fields]
    assert not any(secret in value for value in stored)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:8] and len(secret) >= 40
    assert AuditEntry.objects.filter(action="vouchers.partnertoken.create", object_id=str(token.pk)).exists()
    assert secret not in json.dumps(list(AuditEntry.objects.values_list("data", "object_repr")))


def test_only_the_firms_administrators_or_cluster_staff_create_and_revoke_its_tokens(
    firm, other_firm_cashier, staff_user, cashier
):
    with pytest.raises(VoucherError):
        tokens.create_partner_token(firm, "Intruder", ["redeem"], acting_user=other_firm_cashier)
    token, _ = tokens.create_partner_token(firm, "Set up by the cluster", ["check"], acting_user=staff_user)
    with pytest.raises(VoucherError):
        tokens.revoke_partner_token(token, acting_user=other_firm_cashier)
    assert PartnerToken.objects.get(pk=token.pk).revoked_at is None
    tokens.revoke_partner_token(token, acting_user=cashier)
    assert PartnerToken.objects.get(pk=token.pk).revoked_at is not None


# ------------------------------------------------------------------------------------------- check


def test_check_shows_the_balance_expiry_and_programme(till, voucher, programme):
    _, secret = till
    response, body = call("check", {"code": format_code(voucher.code).lower()}, secret)
    assert response.status_code == 200
    assert body["balance"] == "500.00"
    assert body["usable"] is True and body["reason"] is None
    assert body["status"] == "issued"
    assert body["programme"]["slug"] == programme.slug
    assert body["expires_at"].startswith(str(timezone.localdate(voucher.expires_at))[:4])
    assert PartnerToken.objects.get(pk=till[0].pk).last_used_at is not None


def test_a_malformed_code_is_refused_with_422_and_the_reason_before_any_lookup(till, voucher):
    _, secret = till
    with CaptureQueriesContext(connection) as queries:
        response, body = call("check", {"code": mistyped(voucher.code)}, secret)
    assert response.status_code == 422
    assert body["code"] == "malformed_code" and "typing mistakes" in body["detail"]
    assert not any('"vouchers_voucher"' in q["sql"] for q in queries.captured_queries)


def test_an_unknown_code_is_refused_with_404(till):
    response, body = call("check", {"code": unknown_code()}, till[1])
    assert response.status_code == 404 and body["code"] == "unknown_code"


def test_an_expired_voucher_is_refused_with_the_reason(till, voucher):
    _, secret = till
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now() - timedelta(days=1))
    response, body = call("check", {"code": voucher.code}, secret)
    assert response.status_code == 200
    assert body["usable"] is False and "valid until" in body["reason"]

    response, body = call(
        "redeem", {"code": voucher.code, "amount": "100.00", "idempotency_key": "x"}, secret
    )
    assert response.status_code == 409
    assert body["code"] == "refused" and "valid until" in body["detail"]
    assert not voucher.entries.filter(kind=LedgerEntry.Kind.REDEEM).exists()


# ------------------------------------------------------------------------------------------ redeem


def test_redeeming_twice_with_the_same_key_writes_one_ledger_entry_and_answers_the_same(till, voucher):
    _, secret = till
    request = {
        "code": voucher.code,
        "amount": "120.50",
        "purchase_price": "900.00",
        "idempotency_key": "sale-1",
    }
    first, first_body = call("redeem", request, secret)
    second, second_body = call("redeem", request, secret)
    assert first.status_code == second.status_code == 200
    assert first_body == second_body
    assert first_body["amount"] == "120.50" and first_body["balance_after"] == "379.50"
    assert voucher.entries.filter(kind=LedgerEntry.Kind.REDEEM).count() == 1
    assert voucher.balance() == EUR("379.50")


def test_the_idempotency_key_header_is_accepted(till, voucher):
    _, secret = till
    body = {"code": voucher.code, "amount": "500.00"}
    first = call("redeem", body, secret, HTTP_IDEMPOTENCY_KEY="sale-h")[1]
    again = call("redeem", body, secret, HTTP_IDEMPOTENCY_KEY="sale-h")[1]
    assert first == again and first["balance_after"] == "0.00"
    assert voucher.entries.filter(kind=LedgerEntry.Kind.REDEEM).count() == 1
    response, problem = call("redeem", body, secret)
    assert response.status_code == 422 and problem["code"] == "idempotency_key_missing"


def test_a_holder_name_that_does_not_match_refuses_the_redemption_without_revealing_the_name(till, voucher):
    _, secret = till
    body = {"code": voucher.code, "amount": "500.00", "idempotency_key": "sale-n", "holder_name": "Martin"}
    response, refusal = call("redeem", body, secret)
    assert response.status_code == 409 and refusal["code"] == "refused"
    assert "does not match" in refusal["detail"] and "Goff" not in refusal["detail"]
    assert not voucher.entries.filter(kind=LedgerEntry.Kind.REDEEM).exists()


def test_the_holders_family_name_without_accents_or_case_confirms_the_redemption(till, voucher):
    _, secret = till
    body = {
        "code": voucher.code,
        "amount": "500.00",
        "idempotency_key": "sale-m",
        "holder_name": " le  GOFF ",
    }
    response, redemption = call("redeem", body, secret)
    assert response.status_code == 200 and redemption["balance_after"] == "0.00"


def test_the_schema_documents_the_optional_holder_name(db):
    schema = Client().get("/api/vouchers/openapi.json").json()
    redeem_in = schema["components"]["schemas"]["RedeemIn"]
    assert "holder_name" in redeem_in["properties"] and "holder_name" not in redeem_in.get("required", [])
    assert "family name" in redeem_in["properties"]["holder_name"]["description"]


def test_reusing_a_key_for_a_different_redemption_is_refused_with_409(till, voucher, programme, firm):
    _, secret = till
    other = VoucherFactory(programme=programme)
    call("redeem", {"code": voucher.code, "amount": "100.00", "idempotency_key": "sale-2"}, secret)
    for conflicting in (
        {"code": voucher.code, "amount": "200.00", "idempotency_key": "sale-2"},
        {"code": other.code, "amount": "100.00", "idempotency_key": "sale-2"},
    ):
        response, body = call("redeem", conflicting, secret)
        assert response.status_code == 409
        assert body["code"] == "idempotency_key_reused" and body["detail"]
    assert LedgerEntry.objects.filter(firm=firm, kind=LedgerEntry.Kind.REDEEM).count() == 1
    assert other.balance() == EUR("500.00")


@pytest.mark.parametrize("amount", [12.5, "12.5.0", "abc", "-5.00", "0.00", "1.005", None])
def test_amounts_must_be_positive_decimal_strings(till, voucher, amount):
    _, secret = till
    response, body = call("redeem", {"code": voucher.code, "amount": amount, "idempotency_key": "k"}, secret)
    assert response.status_code == 422
    assert body["detail"] and body["code"] in {"invalid_request", "invalid_amount"}
    assert voucher.balance() == EUR("500.00")


def test_a_second_firm_cannot_spend_a_voucher_already_used(till, other_till, voucher):
    call("redeem", {"code": voucher.code, "amount": "500.00", "idempotency_key": "a"}, till[1])
    response, body = call(
        "redeem", {"code": voucher.code, "amount": "1.00", "idempotency_key": "a"}, other_till[1]
    )
    assert response.status_code == 409 and "already been used" in body["detail"]
    assert voucher.balance() == EUR("0.00")


# ----------------------------------------------------------------------------------------- reverse


def test_a_redemption_is_reversed_within_the_time_limit_and_not_after(till, voucher, programme):
    _, secret = till
    redemption = call("redeem", {"code": voucher.code, "amount": "500.00", "idempotency_key": "r1"}, secret)[
        1
    ]
    response, body = call("reverse", {"redemption_id": redemption["redemption_id"]}, secret)
    assert response.status_code == 200
    assert body["amount"] == "500.00" and body["balance_after"] == "500.00"
    assert voucher.balance() == EUR("500.00")

    late = VoucherFactory(programme=programme)
    old = call("redeem", {"code": late.code, "amount": "500.00", "idempotency_key": "r2"}, secret)[1]
    LedgerEntry.objects.filter(pk=old["redemption_id"]).update(created_at=timezone.now() - timedelta(hours=2))
    response, body = call("reverse", {"redemption_id": old["redemption_id"]}, secret)
    assert response.status_code == 409 and "minutes" in body["detail"]
    assert late.balance() == EUR("0.00")


def test_a_firm_cannot_reverse_another_firms_redemption(till, other_till, voucher):
    redemption = call("redeem", {"code": voucher.code, "amount": "500.00", "idempotency_key": "s"}, till[1])[
        1
    ]
    response, body = call("reverse", {"redemption_id": redemption["redemption_id"]}, other_till[1])
    assert response.status_code == 404 and body["code"] == "unknown_redemption"
    assert voucher.balance() == EUR("0.00")


# ----------------------------------------------------------------------------------- failed lookups


def test_failed_lookups_lock_the_firm_out_without_affecting_another_firm(
    till, other_till, voucher, firm, caplog
):
    _, secret = till
    limit = tokens.FAILURES_PER_FIRM
    caplog.set_level(logging.WARNING, logger="vouchers.tokens")
    codes = [unknown_code() if n % 2 else mistyped(voucher.code) for n in range(limit)]
    statuses = [call("check", {"code": code}, secret)[0].status_code for code in codes]
    assert statuses[:-1] == [422 if n % 2 == 0 else 404 for n in range(limit - 1)]
    assert statuses[-1] == 429

    # Even a real code is refused now, through any token of the firm, until the window ends.
    response, body = call("check", {"code": voucher.code}, secret)
    assert response.status_code == 429 and body["code"] == "locked_out"
    assert 0 < int(response["Retry-After"]) <= tokens.FAILURE_WINDOW_SECONDS + 1
    _, second_secret = tokens.create_partner_token(firm, "Till 2", ["check"], acting_user=till[0].created_by)
    assert call("check", {"code": voucher.code}, second_secret)[0].status_code == 429

    lockouts = AuditEntry.objects.filter(action="vouchers.api.lockout", organisation=firm)
    assert lockouts.count() == 1 and lockouts.get().data["scope"] == "firm"
    assert "locked out" in caplog.text
    assert not any(code in caplog.text for code in [*codes, voucher.code])
    assert "192.0.2.10" not in caplog.text

    # Another firm's till, elsewhere, is not affected.
    response, body = call("check", {"code": voucher.code}, other_till[1], address="198.51.100.7")
    assert response.status_code == 200 and body["balance"] == "500.00"


def test_failed_lookups_from_one_address_lock_that_address_out(till, other_till, voucher, monkeypatch):
    monkeypatch.setattr(tokens, "FAILURES_PER_ADDRESS", 3)
    call("check", {"code": unknown_code()}, till[1], address="203.0.113.5")
    call("check", {"code": unknown_code()}, other_till[1], address="203.0.113.5")
    response = call("check", {"code": unknown_code()}, other_till[1], address="203.0.113.5")[0]
    assert response.status_code == 429
    assert call("check", {"code": voucher.code}, till[1], address="203.0.113.5")[0].status_code == 429
    assert call("check", {"code": voucher.code}, till[1], address="203.0.113.6")[0].status_code == 200
    assert AuditEntry.objects.filter(action="vouchers.api.lockout", data__scope="address").count() == 1


def test_successful_lookups_do_not_count_towards_the_lockout(till, voucher):
    _, secret = till
    for _ in range(tokens.FAILURES_PER_FIRM + 2):
        assert call("check", {"code": voucher.code}, secret)[0].status_code == 200
    for _ in range(tokens.FAILURES_PER_FIRM - 1):
        call("check", {"code": unknown_code()}, secret)
    assert call("check", {"code": voucher.code}, secret)[0].status_code == 200


# ------------------------------------------------------------------------------------------- schema


def test_the_openapi_schema_is_served_and_lists_the_three_operations(db):
    client = Client()
    response = client.get("/api/vouchers/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {path: list(methods) for path, methods in paths.items()} == {
        "/api/vouchers/check": ["post"],
        "/api/vouchers/redeem": ["post"],
        "/api/vouchers/reverse": ["post"],
    }
    assert paths["/api/vouchers/redeem"]["post"]["security"] == [{"TokenAuth": []}]
    # No documentation page that would load its assets from a CDN.
    assert client.get("/api/vouchers/docs", follow=True).status_code == 404


def test_the_operations_answer_get_with_405(db):
    for operation in ("check", "redeem", "reverse"):
        assert Client().get(f"/api/vouchers/{operation}").status_code == 405

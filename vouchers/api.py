"""The partner API for a firm's point of sale: check a voucher code, redeem it exactly once per request
key, reverse a redemption within the time limit. It calls the same services as the web pages.

Requests carry ``Authorization: Bearer <secret>`` of one of the firm's tokens and act on behalf of the
person who created the token, limited to its scopes. Refusals are JSON ``{"detail": reason, "code": …}``
with a 4xx status. Amounts are decimal strings (``"12.50"``), never JSON numbers.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.security import HttpBearer

from livinglab.errors import DomainError, GroundRulesRequired
from livinglab.views import client_ip

from . import services, tokens
from .codes import format_code, is_well_formed, normalise_code
from .models import CENT, LedgerEntry, PartnerToken, Voucher

MONEY_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
Money = Annotated[str, Field(pattern=MONEY_PATTERN, examples=["12.50"], description="EUR, as a string")]


class ApiRefusal(HttpError):
    """A refusal with a machine-readable code next to the translated reason."""

    def __init__(self, status_code: int, code: str, message, headers: dict | None = None):
        super().__init__(status_code, str(message))
        self.code = code
        self.headers = headers or {}


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        return tokens.authenticate_token(token)


api = NinjaAPI(
    title="livinglab vouchers partner API",
    version="1",
    description=__doc__,
    urls_namespace="vouchers_api",
    docs_url=None,  # the interactive docs page loads its assets from a CDN; the schema is enough
    auth=TokenAuth(),
)


# ------------------------------------------------------------------------------------------- errors


def _problem(request, status: int, code: str, detail, headers=None, **extra):
    response = api.create_response(request, {"detail": str(detail), "code": code, **extra}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiRefusal)
def _on_refusal(request, exc: ApiRefusal):
    return _problem(request, exc.status_code, exc.code, exc.message, exc.headers)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _problem(
        request,
        401,
        "not_authenticated",
        _("Send a valid, unrevoked API token as 'Authorization: Bearer <token>'."),
        {"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(RequestInvalid)
def _invalid(request, exc: RequestInvalid):
    errors = [{"loc": list(error.get("loc", [])), "msg": str(error.get("msg", ""))} for error in exc.errors]
    fields = ", ".join(str(error["loc"][-1]) for error in errors if error["loc"]) or _("request")
    return _problem(
        request,
        422,
        "invalid_request",
        _("The request is not valid: check %(fields)s.") % {"fields": fields},
        errors=errors,
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _problem(request, exc.status_code, "http_error", exc.message)


# ------------------------------------------------------------------------------------------ schemas


class CheckIn(Schema):
    code: str = Field(max_length=64, examples=["7K3M-9QXZ-2RTV-HB4N-P"])


class ProgrammeOut(Schema):
    slug: str
    title: str
    value_rule: str
    partial_redemption: bool


class CheckOut(Schema):
    code: str
    status: str
    usable: bool
    reason: str | None
    balance: str
    expires_at: datetime
    programme: ProgrammeOut


class RedeemIn(Schema):
    code: str = Field(max_length=64)
    amount: Money
    purchase_price: Money | None = None
    idempotency_key: str | None = Field(
        default=None, max_length=100, description="Or the Idempotency-Key header."
    )
    holder_name: str | None = Field(
        default=None,
        max_length=200,
        examples=["Le Goff"],
        description=(
            "The holder's full name or family name, as the person at the counter gives it (case, accents "
            "and extra spaces are ignored). When sent, a name that does not match refuses the redemption "
            "(409, code 'refused'); the holder's real name is never returned."
        ),
    )


class RedemptionOut(Schema):
    redemption_id: int
    code: str
    amount: str
    purchase_price: str | None
    balance_after: str
    created_at: datetime


class ReverseIn(Schema):
    redemption_id: int


class ReversalOut(Schema):
    reversal_id: int
    redemption_id: int
    amount: str
    balance_after: str
    created_at: datetime


class Problem(Schema):
    detail: str
    code: str


REFUSALS = {401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem}


# ------------------------------------------------------------------------------------------ helpers


def _token(request, scope: str) -> PartnerToken:
    token: PartnerToken = request.auth
    if not token.created_by.has_perm("vouchers.redeem_for_firm", token.firm):
        # The token acts for the person who created it: it stops working when they leave the firm.
        raise ApiRefusal(
            403,
            "token_owner_not_allowed",
            _("The person who created this API token no longer acts for %(firm)s: create a new token.")
            % {"firm": token.firm},
        )
    if not token.allows(scope):
        raise ApiRefusal(
            403,
            "scope_missing",
            _("This API token may not %(action)s.") % {"action": PartnerToken.Scope(scope).label.lower()},
        )
    return token


def _address(request) -> str:
    # The same client address allauth's rate limits use (honours TRUSTED_PROXY_COUNT behind a proxy).
    return client_ip(request) or "unknown"


def _locked_out(retry_after: int) -> ApiRefusal:
    return ApiRefusal(
        429,
        "locked_out",
        _("Too many unknown or mistyped codes: try again in %(minutes)s minutes.")
        % {"minutes": max(1, -(-retry_after // 60))},
        {"Retry-After": str(retry_after)},
    )


def _find_voucher(request, token: PartnerToken, code: str) -> Voucher:
    """The voucher with this code; a malformed or unknown code counts as a failed lookup."""
    lockout = tokens.lockout(token.firm_id, _address(request))
    if lockout is not None:
        raise _locked_out(lockout.retry_after)
    compact = normalise_code(code)
    voucher = None
    if is_well_formed(compact):
        voucher = Voucher.objects.select_related("programme").filter(code=compact).first()
    if voucher is None:
        lockout = tokens.record_failed_lookup(token, _address(request))
        if lockout is not None:
            raise _locked_out(lockout.retry_after)
        if not is_well_formed(compact):
            raise ApiRefusal(
                422,
                "malformed_code",
                _("This is not a valid voucher code: please check it for typing mistakes."),
            )
        raise ApiRefusal(404, "unknown_code", _("No voucher has this code."))
    return voucher


def _refused(error: DomainError) -> ApiRefusal:
    if isinstance(error, GroundRulesRequired):
        return ApiRefusal(403, "ground_rules_required", error.message)
    return ApiRefusal(409, "refused", error.message)


def _money(value: str) -> Decimal:
    amount = Decimal(value).quantize(CENT)
    if amount <= 0:
        raise ApiRefusal(422, "invalid_amount", _("Amounts must be more than zero."))
    return amount


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(Decimal(amount).quantize(CENT))


def _balance_after(entry: LedgerEntry) -> str:
    """The voucher's balance just after ``entry``: the same answer however often it is asked."""
    return _text(LedgerEntry.objects.filter(voucher_id=entry.voucher_id, pk__lte=entry.pk).total())


def _redemption(entry: LedgerEntry, voucher: Voucher) -> RedemptionOut:
    return RedemptionOut(
        redemption_id=entry.pk,
        code=format_code(voucher.code),
        amount=_text(-entry.amount),
        purchase_price=_text(entry.purchase_price),
        balance_after=_balance_after(entry),
        created_at=entry.created_at,
    )


# ---------------------------------------------------------------------------------------- operations


@api.post("/check", response={200: CheckOut, **REFUSALS}, url_name="check", summary="Check a voucher code")
def check(request, payload: CheckIn):
    """What a voucher is worth at this firm now, or why it cannot be used."""
    token = _token(request, PartnerToken.Scope.CHECK)
    voucher = _find_voucher(request, token, payload.code)
    programme = voucher.programme
    if not programme.approved_firm(token.firm):
        # A firm outside the programme learns nothing more about the voucher than that.
        raise ApiRefusal(
            403,
            "not_in_programme",
            _("%(firm)s does not take part in the programme %(programme)s.")
            % {"firm": token.firm, "programme": programme},
        )
    reason = services.refusal_reason(voucher, programme, token.firm, timezone.now())
    balance = voucher.balance()
    if reason is None and balance <= 0:
        reason = _("This voucher has already been used.")
    return CheckOut(
        code=voucher.formatted_code,
        status=voucher.status,
        usable=reason is None,
        reason=reason,
        balance=_text(balance),
        expires_at=voucher.expires_at,
        programme=ProgrammeOut(
            slug=programme.slug,
            title=programme.title,
            value_rule=programme.value_rule,
            partial_redemption=programme.partial_redemption,
        ),
    )


@api.post("/redeem", response={200: RedemptionOut, **REFUSALS}, url_name="redeem", summary="Redeem a voucher")
def redeem(request, payload: RedeemIn):
    """Spend an amount of a voucher, exactly once per request key: repeating a request with the same
    key answers with the same redemption; reusing a key for a different redemption is refused (409)."""
    token = _token(request, PartnerToken.Scope.REDEEM)
    header_key = request.headers.get("Idempotency-Key")
    key = payload.idempotency_key or header_key
    if payload.idempotency_key and header_key and payload.idempotency_key != header_key:
        raise ApiRefusal(
            422, "idempotency_key_mismatch", _("The request key in the body and the header differ.")
        )
    if not key or not key.strip() or len(key) > 100:
        raise ApiRefusal(
            422, "idempotency_key_missing", _("A redemption needs a request key of 1 to 100 characters.")
        )
    amount = _money(payload.amount)
    purchase_price = _money(payload.purchase_price) if payload.purchase_price is not None else None
    voucher = _find_voucher(request, token, payload.code)
    previous = LedgerEntry.objects.filter(firm=token.firm, idempotency_key=key.strip()).first()
    if previous is not None and not services.same_request(previous, voucher.pk, amount, purchase_price, None):
        raise ApiRefusal(
            409,
            "idempotency_key_reused",
            _("This request key was already used for a different redemption; start a new redemption."),
        )
    try:
        entry = services.redeem_voucher(
            voucher.code,
            firm=token.firm,
            amount=amount,
            purchase_price=purchase_price,
            idempotency_key=key,
            acting_user=token.created_by,
            holder_name=payload.holder_name,
        )
    except DomainError as error:
        raise _refused(error) from None
    return _redemption(entry, voucher)


@api.post(
    "/reverse", response={200: ReversalOut, **REFUSALS}, url_name="reverse", summary="Reverse a redemption"
)
def reverse(request, payload: ReverseIn):
    """Undo one of this firm's redemptions, within the time limit after it was made."""
    token = _token(request, PartnerToken.Scope.REVERSE)
    entry = LedgerEntry.objects.filter(
        pk=payload.redemption_id, firm=token.firm, kind=LedgerEntry.Kind.REDEEM
    ).first()
    if entry is None:
        raise ApiRefusal(404, "unknown_redemption", _("This firm has no redemption with this number."))
    try:
        reversal = services.reverse_redemption(entry, acting_user=token.created_by)
    except DomainError as error:
        raise _refused(error) from None
    return ReversalOut(
        reversal_id=reversal.pk,
        redemption_id=entry.pk,
        amount=_text(reversal.amount),
        balance_after=_balance_after(reversal),
        created_at=reversal.created_at,
    )

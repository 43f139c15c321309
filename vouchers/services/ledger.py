"""Issuing, redeeming, reversing, expiring and cancelling vouchers: every movement of the ledger."""

import unicodedata
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, Person, User
from livinglab.services import require_ground_rules

from ..codes import generate_code, is_well_formed, normalise_code
from ..errors import VoucherError
from ..models import (
    CENT,
    ZERO,
    Enrolment,
    LedgerEntry,
    Programme,
    Solution,
    Voucher,
)
from ..tasks import send_voucher_issued
from .common import _eur, _lock_voucher, _money, _percent, _require_firm_member, _user

REVERSAL_WINDOW = timedelta(minutes=30)
CODE_ATTEMPTS = 5

# -------------------------------------------------------------------------------------------- issuance


@transaction.atomic
def issue_voucher(
    programme: Programme,
    holder: Person,
    *,
    acting_user: User | None,
    send_mail: bool = True,
    drawn_in_lottery: bool = False,
) -> Voucher:
    """Issue ``holder``'s voucher in ``programme``, committing its value from the budget. The holder is
    e-mailed the voucher PDF after commit unless ``send_mail`` is False (it stays downloadable).

    Outside a lottery, vouchers are issued while applications are open. A lottery issues them after the
    window has closed (``drawn_in_lottery``), while the programme is not yet finished."""
    now = timezone.now()
    programme = Programme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    if drawn_in_lottery:
        if (
            programme.status not in (Programme.Status.OPEN, Programme.Status.CLOSED)
            or now < programme.closes_at
        ):
            raise VoucherError(_("A lottery draws vouchers after the application window has closed."))
    elif not programme.accepts_applications(now):
        raise VoucherError(
            _("The programme %(programme)s is not open for applications.") % {"programme": programme}
        )
    expires_at = programme.voucher_expiry()
    if expires_at <= now:
        raise VoucherError(_("Vouchers of this programme are no longer valid."))
    if Voucher.objects.filter(programme=programme, holder=holder).exists():
        raise VoucherError(
            _("%(person)s already has a voucher in this programme: one voucher per person.")
            % {"person": holder}
        )
    value = programme.voucher_value
    # Recounted under the programme lock: no other issuance can commit budget until we commit.
    remaining = programme.total_budget - programme.committed_budget()
    if value > remaining:
        raise VoucherError(
            _(
                "The programme's budget is fully committed: a voucher is worth %(value)s EUR and "
                "only %(remaining)s EUR is left."
            )
            % {"value": _eur(value), "remaining": _eur(max(remaining, ZERO))}
        )
    for attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                voucher = Voucher.objects.create(
                    programme=programme,
                    holder=holder,
                    code=generate_code(),
                    face_value=value,
                    issued_at=now,
                    expires_at=expires_at,
                )
            break
        except IntegrityError:
            if Voucher.objects.filter(programme=programme, holder=holder).exists():
                raise VoucherError(
                    _("%(person)s already has a voucher in this programme: one voucher per person.")
                    % {"person": holder}
                ) from None
            if attempt == CODE_ATTEMPTS - 1:  # 80 random bits: a collision is astronomically rare
                raise
    LedgerEntry.objects.create(
        voucher=voucher,
        kind=LedgerEntry.Kind.ISSUE,
        amount=value,
        created_at=now,
        created_by=_user(acting_user),
    )
    audit.record(
        "vouchers.voucher.issue",
        actor=_user(acting_user),
        obj=voucher,
        organisation=programme.operator,
        data={"programme": programme.pk, "holder": holder.pk, "value": str(value)},
    )
    if send_mail:
        send_voucher_issued.delay_on_commit(voucher.pk)
    return voucher


# ------------------------------------------------------------------------------------------ redemption


def same_request(entry: LedgerEntry, voucher_id, amount, purchase_price, solution) -> bool:
    return (
        entry.kind == LedgerEntry.Kind.REDEEM
        and entry.voucher_id == voucher_id
        and entry.amount == -amount
        and entry.purchase_price == purchase_price
        and entry.solution_id == (solution.pk if solution is not None else None)
    )


def _repeated(firm, key, voucher_id, amount, purchase_price, solution) -> LedgerEntry | None:
    """The redemption an earlier request with ``key`` made; refuse a different request reusing the key."""
    previous = LedgerEntry.objects.filter(firm=firm, idempotency_key=key).first()
    if previous is None:
        return None
    if same_request(previous, voucher_id, amount, purchase_price, solution):
        return previous
    raise VoucherError(
        _("This request key was already used for a different redemption; start a new redemption.")
    )


def refusal_reason(voucher: Voucher, programme: Programme, firm: Organisation, now: datetime) -> str | None:
    # A firm outside the programme learns nothing more about the voucher than that.
    if not programme.approved_firm(firm):
        return _("%(firm)s does not take part in the programme %(programme)s.") % {
            "firm": firm,
            "programme": programme,
        }
    if programme.status not in (Programme.Status.OPEN, Programme.Status.CLOSED):
        return _("The programme %(programme)s does not accept redemptions now.") % {"programme": programme}
    if voucher.status == Voucher.Status.CANCELLED:
        return _("This voucher has been cancelled.")
    if voucher.status == Voucher.Status.EXPIRED or voucher.has_expired(now):
        last_day = timezone.localdate(voucher.expires_at - timedelta(microseconds=1))
        return _("This voucher was valid until %(day)s.") % {
            "day": formats.date_format(last_day, "DATE_FORMAT")
        }
    if timezone.localdate(now) < programme.valid_from:
        return _("This voucher can be used from %(day)s.") % {
            "day": formats.date_format(programme.valid_from, "DATE_FORMAT")
        }
    if voucher.status == Voucher.Status.REDEEMED:
        return _("This voucher has already been used.")
    return None


def _name_words(name: str) -> list[str]:
    """A name's words without case or accents: "  Anne  LE GOFF " and "Anne Le Goff" are the same."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split()


def _names_holder(full_name: str, typed: str) -> bool:
    """Whether ``typed`` is the holder's full name or family name (the last word or words of it)."""
    holder, given = _name_words(full_name), _name_words(typed)
    return bool(given) and holder[-len(given) :] == given


@transaction.atomic
def redeem_voucher(
    code: str,
    *,
    firm: Organisation,
    amount,
    idempotency_key: str,
    acting_user: User,
    purchase_price=None,
    solution: Solution | None = None,
    holder_name: str | None = None,
) -> LedgerEntry:
    """Spend ``amount`` of a voucher at ``firm`` exactly once per ``idempotency_key``; raise VoucherError
    with the reason otherwise. Returns the redemption (a negative ledger entry).

    ``holder_name``, when given, must be the holder's full name or family name (case, accents and extra
    spaces aside): the counter's confirmation that the person presenting the code holds the voucher."""
    compact = normalise_code(code)
    if not is_well_formed(compact):
        raise VoucherError(_("This is not a valid voucher code: please check it for typing mistakes."))
    amount = _money(amount, what=_("amount"))
    if purchase_price is not None:
        purchase_price = _money(purchase_price, what=_("purchase price"))
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise VoucherError(_("A redemption needs a request key of 1 to 100 characters."))
    _require_firm_member(acting_user, firm)
    now = timezone.now()

    voucher = Voucher.objects.select_for_update(no_key=True).filter(code=compact).first()
    if voucher is None:
        raise VoucherError(_("No voucher has this code."))
    repeated = _repeated(firm, key, voucher.pk, amount, purchase_price, solution)
    if repeated is not None:
        return repeated

    programme = voucher.programme
    reason = refusal_reason(voucher, programme, firm, now)
    if reason:
        raise VoucherError(reason)
    # After the firm's own checks, so that a firm outside the programme cannot probe holders' names.
    if holder_name is not None and not _names_holder(voucher.holder.full_name, holder_name):
        raise VoucherError(
            _("The name does not match the voucher's holder: ask for the holder's full or family name.")
        )
    if solution is not None and not (
        solution.firm_id == firm.pk
        and Enrolment.objects.filter(
            solution=solution, programme=programme, status=Enrolment.Status.APPROVED
        ).exists()
    ):
        raise VoucherError(
            _("%(solution)s is not an approved solution of %(firm)s in this programme.")
            % {"solution": solution, "firm": firm}
        )
    require_ground_rules(acting_user, programme, organisation=firm)

    balance = voucher.balance()
    if balance <= 0:
        raise VoucherError(_("This voucher has already been used."))
    if amount > balance:
        raise VoucherError(_("The voucher has only %(balance)s EUR left.") % {"balance": _eur(balance)})
    if programme.value_rule == Programme.ValueRule.CO_FUNDING:
        if purchase_price is None:
            raise VoucherError(_("Enter the purchase price: this voucher pays a share of it."))
        allowed = (programme.co_funding_rate * purchase_price).quantize(CENT, rounding=ROUND_DOWN)
        if amount > allowed:
            raise VoucherError(
                _("The voucher covers at most %(allowed)s EUR of this purchase (%(rate)s%% of the price).")
                % {"allowed": _eur(allowed), "rate": _percent(programme.co_funding_rate)}
            )
    elif purchase_price is not None and amount > purchase_price:
        raise VoucherError(_("The voucher cannot pay more than the purchase price."))

    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                voucher=voucher,
                kind=LedgerEntry.Kind.REDEEM,
                amount=-amount,
                firm=firm,
                solution=solution,
                purchase_price=purchase_price,
                idempotency_key=key,
                created_at=now,
                created_by=_user(acting_user),
            )
    except IntegrityError:
        # The same key, used at the same time for another voucher of this firm: that request won.
        repeated = _repeated(firm, key, voucher.pk, amount, purchase_price, solution)
        if repeated is not None:
            return repeated
        raise
    used_up = not programme.partial_redemption or amount == balance
    if used_up:
        Voucher.objects.filter(pk=voucher.pk).update(status=Voucher.Status.REDEEMED)
    audit.record(
        "vouchers.voucher.redeem",
        actor=_user(acting_user),
        obj=voucher,
        organisation=firm,
        data={"entry": entry.pk, "amount": str(amount), "balance": str(balance - amount)},
    )
    return entry


def _release(voucher: Voucher, kind: str, *, now: datetime, acting_user) -> Decimal:
    """Give the voucher's remaining balance back to the programme's budget; the amount released."""
    balance = voucher.balance()
    if balance > 0:
        LedgerEntry.objects.create(
            voucher=voucher, kind=kind, amount=-balance, created_at=now, created_by=_user(acting_user)
        )
    return max(balance, ZERO)


@transaction.atomic
def reverse_redemption(
    entry: LedgerEntry, *, acting_user: User, within: timedelta = REVERSAL_WINDOW
) -> LedgerEntry:
    """Undo a redemption made less than ``within`` ago (a cancelled sale, a mistyped amount)."""
    now = timezone.now()
    voucher = _lock_voucher(entry.voucher_id)
    entry = LedgerEntry.objects.select_related("firm").get(pk=entry.pk)
    if entry.kind != LedgerEntry.Kind.REDEEM:
        raise VoucherError(_("Only a redemption can be reversed."))
    _require_firm_member(acting_user, entry.firm)
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise VoucherError(_("This redemption has already been reversed."))
    if LedgerEntry.objects.filter(pk=entry.pk, claim_line__isnull=False).exists():
        raise VoucherError(_("This redemption is on a reimbursement claim and can no longer be reversed."))
    if now - entry.created_at > within:
        raise VoucherError(
            _("A redemption can only be reversed within %(minutes)s minutes.")
            % {"minutes": int(within.total_seconds() // 60)}
        )
    reversal = LedgerEntry.objects.create(
        voucher=voucher,
        kind=LedgerEntry.Kind.REVERSE,
        amount=-entry.amount,
        firm=entry.firm,
        solution=entry.solution,
        reverses=entry,
        created_at=now,
        created_by=_user(acting_user),
    )
    released = ZERO
    if voucher.status == Voucher.Status.CANCELLED:
        released = _release(voucher, LedgerEntry.Kind.CANCEL, now=now, acting_user=acting_user)
        status = Voucher.Status.CANCELLED
    elif voucher.status == Voucher.Status.EXPIRED or voucher.has_expired(now):
        released = _release(voucher, LedgerEntry.Kind.EXPIRE, now=now, acting_user=acting_user)
        status = Voucher.Status.EXPIRED
    else:
        status = Voucher.Status.ISSUED
    Voucher.objects.filter(pk=voucher.pk).update(status=status)
    audit.record(
        "vouchers.voucher.reverse",
        actor=_user(acting_user),
        obj=voucher,
        organisation=entry.firm,
        data={
            "entry": entry.pk,
            "reversal": reversal.pk,
            "amount": str(-entry.amount),
            "released": str(released),
        },
    )
    return reversal


# ---------------------------------------------------------------------------------- expiry, cancellation


def expire_vouchers(now: datetime | None = None, *, acting_user: User | None = None) -> int:
    """Expire every voucher whose validity has ended and release what was left of it to the budget.
    Safe to run again and concurrently: each voucher is handled once, in its own transaction.
    Returns how many vouchers were expired or had value released."""
    now = now or timezone.now()
    due = (
        Voucher.objects.filter(
            expires_at__lte=now, status__in=[Voucher.Status.ISSUED, Voucher.Status.REDEEMED]
        )
        .with_balance()
        .filter(Q(status=Voucher.Status.ISSUED) | Q(balance_sum__gt=0))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done = 0
    for pk in list(due):
        with transaction.atomic():
            voucher = _lock_voucher(pk)
            if not voucher.has_expired(now) or voucher.status not in (
                Voucher.Status.ISSUED,
                Voucher.Status.REDEEMED,
            ):
                continue
            released = _release(voucher, LedgerEntry.Kind.EXPIRE, now=now, acting_user=acting_user)
            # A voucher used once keeps its "redeemed" status; only the unused rest is released.
            expired = voucher.status == Voucher.Status.ISSUED
            if expired:
                Voucher.objects.filter(pk=pk).update(status=Voucher.Status.EXPIRED)
            if expired or released:
                done += 1
                audit.record(
                    "vouchers.voucher.expire",
                    actor=_user(acting_user),
                    obj=voucher,
                    organisation=None,
                    data={"released": str(released)},
                )
    return done


@transaction.atomic
def cancel_voucher(voucher: Voucher, *, acting_user: User, reason: str = "") -> Voucher:
    """Cancel a voucher that is still valid and release its remaining value to the budget."""
    now = timezone.now()
    voucher = _lock_voucher(voucher.pk)
    if voucher.status == Voucher.Status.CANCELLED:
        raise VoucherError(_("This voucher has already been cancelled."))
    if not voucher.can_transition(Voucher.Status.CANCELLED):
        raise VoucherError(
            _("A voucher that is %(status)s cannot be cancelled.")
            % {"status": voucher.get_status_display().lower()}
        )
    released = _release(voucher, LedgerEntry.Kind.CANCEL, now=now, acting_user=acting_user)
    Voucher.objects.filter(pk=voucher.pk).update(status=Voucher.Status.CANCELLED)
    voucher.status = Voucher.Status.CANCELLED
    audit.record(
        "vouchers.voucher.cancel",
        actor=_user(acting_user),
        obj=voucher,
        data={"released": str(released), "reason": reason[:500]},
    )
    return voucher

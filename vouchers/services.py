"""Every state change of the voucher programmes. Views, the admin, the API, commands and tasks call these.

Locks are taken in one order: programme, then voucher, then (for State aid) the organisations of a
single undertaking, and the audit chain last. Only issuance locks the programme: it is the one operation
that adds to the committed budget; releases (expiry, cancellation) can only lower it.
"""

from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, Person, User
from livinglab.services import require_ground_rules

from .codes import generate_code, is_well_formed, normalise_code
from .errors import VoucherError
from .models import (
    CENT,
    ZERO,
    DeMinimisAid,
    Enrolment,
    LedgerEntry,
    Programme,
    Solution,
    Voucher,
    de_minimis_headroom,
    de_minimis_window,
)
from .tasks import send_voucher_issued

REVERSAL_WINDOW = timedelta(minutes=30)
CODE_ATTEMPTS = 5


def _money(value, *, what: str) -> Decimal:
    """A positive amount in whole cents, or a VoucherError naming ``what`` was wrong."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise VoucherError(_("The %(what)s is not an amount of money.") % {"what": what}) from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise VoucherError(_("The %(what)s must be in whole cents.") % {"what": what})
    if amount <= 0:
        raise VoucherError(_("The %(what)s must be more than zero.") % {"what": what})
    return amount.quantize(CENT)


def _eur(amount: Decimal) -> str:
    return formats.number_format(amount, decimal_pos=2, use_l10n=True)


def _percent(rate: Decimal) -> str:
    percent = (rate * 100).quantize(CENT)
    return formats.number_format(percent, decimal_pos=0 if percent == percent.to_integral() else 2)


def _user(acting_user) -> User | None:
    return acting_user if acting_user is not None and acting_user.is_authenticated else None


def _lock_voucher(pk: int) -> Voucher:
    return Voucher.objects.select_for_update(no_key=True).get(pk=pk)


def _require_firm_member(acting_user, firm: Organisation) -> None:
    if acting_user is None or not acting_user.has_perm("vouchers.redeem_for_firm", firm):
        raise VoucherError(_("You cannot act on vouchers for %(firm)s.") % {"firm": firm})


# ------------------------------------------------------------------------------------------ programmes


@transaction.atomic
def change_programme_status(programme: Programme, status: str, *, acting_user: User) -> Programme:
    """Move a programme along draft → open → closed → finished; refuse any other move."""
    programme = Programme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    if not programme.can_transition(status):
        raise VoucherError(
            _("A programme that is %(current)s cannot become %(new)s.")
            % {
                "current": programme.get_status_display().lower(),
                "new": Programme.Status(status).label.lower(),
            }
        )
    previous = programme.status
    Programme.objects.filter(pk=programme.pk).update(status=status)
    programme.status = status
    audit.record(
        "vouchers.programme.change_status",
        actor=_user(acting_user),
        obj=programme,
        organisation=programme.operator,
        data={"from": previous, "to": status},
    )
    return programme


@transaction.atomic
def apply_for_enrolment(solution: Solution, programme: Programme, *, acting_user: User) -> Enrolment:
    """A firm asks to offer ``solution`` to the holders of ``programme``'s vouchers (idempotent)."""
    _require_firm_member(acting_user, solution.firm)
    if programme.status not in (Programme.Status.DRAFT, Programme.Status.OPEN):
        raise VoucherError(_("This programme no longer enrols firms."))
    enrolment, created = Enrolment.objects.get_or_create(solution=solution, programme=programme)
    if created:
        audit.record(
            "vouchers.enrolment.apply",
            actor=_user(acting_user),
            obj=enrolment,
            organisation=solution.firm,
            data={"solution": solution.pk, "programme": programme.pk},
        )
    return enrolment


@transaction.atomic
def decide_enrolment(enrolment: Enrolment, *, approve: bool, acting_user: User) -> Enrolment:
    """The operator approves or rejects a firm's solution for a programme."""
    enrolment = Enrolment.objects.select_for_update(no_key=True).get(pk=enrolment.pk)
    status = Enrolment.Status.APPROVED if approve else Enrolment.Status.REJECTED
    if enrolment.status == status:
        return enrolment
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=status, decided_at=timezone.now(), decided_by=_user(acting_user)
    )
    enrolment.refresh_from_db()
    audit.record(
        "vouchers.enrolment.approve" if approve else "vouchers.enrolment.reject",
        actor=_user(acting_user),
        obj=enrolment,
        organisation=enrolment.programme.operator,
        data={"solution": enrolment.solution_id},
    )
    return enrolment


# -------------------------------------------------------------------------------------------- issuance


@transaction.atomic
def issue_voucher(
    programme: Programme, holder: Person, *, acting_user: User | None, send_mail: bool = True
) -> Voucher:
    """Issue ``holder``'s voucher in ``programme``, committing its value from the budget. The holder is
    e-mailed the voucher PDF after commit unless ``send_mail`` is False (it stays downloadable)."""
    now = timezone.now()
    programme = Programme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    if not programme.accepts_applications(now):
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
) -> LedgerEntry:
    """Spend ``amount`` of a voucher at ``firm`` exactly once per ``idempotency_key``; raise VoucherError
    with the reason otherwise. Returns the redemption (a negative ledger entry)."""
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


# ------------------------------------------------------------------------------------------- State aid


@transaction.atomic
def record_de_minimis_aid(
    organisation: Organisation,
    *,
    amount,
    granted_on: date,
    granting_body: str,
    source: str,
    acting_user: User,
    programme: Programme | None = None,
) -> DeMinimisAid:
    """Record de minimis aid to ``organisation``. Aid a firm declares is recorded as it was received; aid
    granted through a programme is refused where it would take the single undertaking over the
    programme's ceiling in any rolling three-year period that includes ``granted_on``."""
    amount = _money(amount, what=_("aid amount"))
    if source == DeMinimisAid.Source.PROGRAMME:
        if programme is None:
            raise VoucherError(_("Name the programme that grants this aid."))
        undertaking = list(
            Organisation.objects.select_for_update(no_key=True)
            .filter(pk__in=organisation.single_undertaking().values("pk"))
            .order_by("pk")
        )
        # Every window that contains granted_on ends on granted_on or on the day of a later grant.
        later = DeMinimisAid.objects.filter(
            organisation__in=undertaking, granted_on__gt=granted_on
        ).values_list("granted_on", flat=True)
        ends = {granted_on} | {day for day in later if de_minimis_window(day)[0] <= granted_on}
        ceiling = programme.de_minimis_ceiling
        for end in sorted(ends):
            headroom = de_minimis_headroom(organisation, end, ceiling)
            if amount > headroom:
                first, last = de_minimis_window(end)
                raise VoucherError(
                    _(
                        "This aid of %(amount)s EUR would take %(organisation)s and its linked enterprises "
                        "over the de minimis ceiling of %(ceiling)s EUR for %(first)s to %(last)s: only "
                        "%(headroom)s EUR is left."
                    )
                    % {
                        "amount": _eur(amount),
                        "organisation": organisation,
                        "ceiling": _eur(ceiling),
                        "first": formats.date_format(first, "DATE_FORMAT"),
                        "last": formats.date_format(last, "DATE_FORMAT"),
                        "headroom": _eur(headroom),
                    }
                )
    elif source != DeMinimisAid.Source.DECLARED:
        raise VoucherError(_("Unknown source of aid."))
    aid = DeMinimisAid.objects.create(
        organisation=organisation,
        undertaking=organisation.group,
        amount=amount,
        granted_on=granted_on,
        granting_body=granting_body,
        source=source,
        programme=programme,
        created_by=_user(acting_user),
    )
    audit.record(
        "vouchers.deminimisaid.record",
        actor=_user(acting_user),
        obj=aid,
        organisation=organisation,
        data={"amount": str(amount), "granted_on": granted_on.isoformat(), "source": source},
    )
    return aid


# ------------------------------------------------------------------------------- programmes and solutions


@transaction.atomic
def save_programme(programme: Programme, *, acting_user: User) -> Programme:
    """Create or update a programme's settings; its status changes only through change_programme_status."""
    created = programme.pk is None
    if created:
        programme.status = Programme.Status.DRAFT
    else:
        # Locked like issuance, so that the budget is never lowered below what is being committed.
        current = Programme.objects.select_for_update(no_key=True).get(pk=programme.pk)
        programme.status = current.status
        committed = current.committed_budget()
        if programme.total_budget is not None and programme.total_budget < committed:
            raise VoucherError(
                _("The budget cannot be less than the %(committed)s EUR already committed.")
                % {"committed": _eur(committed)}
            )
    programme.full_clean()
    programme.save()
    audit.record(
        "vouchers.programme." + ("create" if created else "update"),
        actor=_user(acting_user),
        obj=programme,
        organisation=programme.operator,
        data={"total_budget": str(programme.total_budget), "value_rule": programme.value_rule},
    )
    return programme


@transaction.atomic
def save_solution(solution: Solution, *, acting_user: User) -> Solution:
    """Create or update a firm's solution (name, description, price, category)."""
    created = solution.pk is None
    solution.full_clean()
    solution.save()
    audit.record(
        "vouchers.solution." + ("create" if created else "update"),
        actor=_user(acting_user),
        obj=solution,
        organisation=solution.firm,
        data={"price": str(solution.price)},
    )
    return solution

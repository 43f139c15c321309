"""Reimbursement: a firm claims its redemptions, the operator checks the claim, the funder decides per line
(each approved line is de minimis aid to the firm), and approved lines are paid in batches.

Locks follow the package order: programme, then vouchers, then (through ``record_de_minimis_aid``) the
organisations of the single undertaking, and the audit chain last. A claim and its lines are locked before
the organisations; nothing locks organisations first and claims afterwards."""

import os
from collections.abc import Iterable
from datetime import date

import filetype
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors

from livinglab import audit
from livinglab.models import Organisation, User

from ..errors import VoucherError
from ..models import (
    ZERO,
    Claim,
    ClaimLine,
    DeMinimisAid,
    LedgerEntry,
    PaymentBatch,
    Programme,
    Voucher,
    money_sum,
)
from .aid import record_de_minimis_aid
from .common import _eur, _user

MAX_INVOICE_BYTES = 10 * 1024 * 1024
# What an invoice may be, recognised from the file's first bytes, never from its name.
INVOICE_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
CONTENT_TYPES = {extension: mime for mime, extension in INVOICE_TYPES.items()}


class ClaimFieldError(VoucherError):
    """A refusal about one field of the claim form (``field``), so that the form can show it there."""

    def __init__(self, message, field: str):
        super().__init__(message)
        self.field = field


def _require(acting_user, perm: str, obj, message: str) -> None:
    if acting_user is None or not acting_user.has_perm(perm, obj):
        raise VoucherError(message)


def _transition(claim: Claim, to: str) -> None:
    if not claim.can_transition(to):
        actions = {
            Claim.Status.CHECKED: _("checked"),
            Claim.Status.RETURNED: _("returned"),
            Claim.Status.DECIDED: _("decided"),
        }
        raise VoucherError(
            _("This claim cannot be %(action)s now: its status is “%(status)s”.")
            % {"action": actions[to], "status": claim.get_status_display()}
        )


# ------------------------------------------------------------------------------------ bank details, file


def clean_iban(value: str, *, field: str = "iban") -> str:
    """The IBAN in its compact form; a ClaimFieldError naming what is wrong with it otherwise."""
    value = (value or "").strip()
    if not value:
        raise ClaimFieldError(_("Enter the IBAN of the account to be paid."), field)
    try:
        return IBAN(value).compact
    except iban_errors.InvalidChecksumDigits:
        message = _("The IBAN's check digits do not match: please check it for typing mistakes.")
    except iban_errors.InvalidCountryCode:
        message = _("The IBAN does not start with a known country code (such as FR or DE).")
    except iban_errors.InvalidLength:
        message = _("The IBAN has the wrong number of characters for its country.")
    except iban_errors.InvalidStructure:
        message = _("The IBAN contains characters or a layout its country does not use.")
    except (iban_errors.InvalidBBANChecksum, iban_errors.NationalChecksumNotVerified):
        message = _("The account number inside the IBAN fails its national check: please check it.")
    except (iban_errors.InvalidBankCode, iban_errors.InvalidBranchCode, iban_errors.InvalidAccountCode):
        message = _("The bank or account code inside the IBAN is not valid.")
    except iban_errors.SchwiftyException:
        message = _("This is not a valid IBAN.")
    raise ClaimFieldError(message, field)


def clean_bic(value: str, *, field: str = "bic", required: bool = False) -> str:
    """The BIC in its compact form ('' when left out and not required); a ClaimFieldError otherwise."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ClaimFieldError(_("Enter the BIC of the bank."), field)
        return ""
    try:
        return BIC(value).compact
    except iban_errors.InvalidLength:
        message = _("A BIC has 8 or 11 characters.")
    except iban_errors.InvalidCountryCode:
        message = _("The BIC's country code (its 5th and 6th characters) is not a known country.")
    except iban_errors.SchwiftyException:
        message = _("This is not a valid BIC.")
    raise ClaimFieldError(message, field)


def check_invoice(invoice: UploadedFile | None) -> str:
    """Refuse an invoice that is missing, too large, or not a PDF, PNG or JPEG by its content; return a
    safe file name whose extension matches the content."""
    if invoice is None:
        raise ClaimFieldError(_("Attach the invoice (PDF, PNG or JPEG)."), "invoice")
    if invoice.size is None or invoice.size == 0:
        raise ClaimFieldError(_("The invoice file is empty."), "invoice")
    if invoice.size > MAX_INVOICE_BYTES:
        raise ClaimFieldError(
            _("The invoice file is too large: at most %(mb)s MB.")
            % {"mb": MAX_INVOICE_BYTES // (1024 * 1024)},
            "invoice",
        )
    invoice.seek(0)
    kind = filetype.guess(invoice.read(8192))
    invoice.seek(0)
    if kind is None or kind.mime not in INVOICE_TYPES:
        raise ClaimFieldError(
            _("The invoice must be a PDF, PNG or JPEG file; this file is not one, whatever its name says."),
            "invoice",
        )
    stem = os.path.splitext(os.path.basename((invoice.name or "").replace("\\", "/")))[0][:80]
    try:
        stem = get_valid_filename(stem)
    except SuspiciousFileOperation:
        stem = "invoice"
    return f"{stem}.{INVOICE_TYPES[kind.mime]}"


def invoice_content_type(claim: Claim) -> str:
    extension = os.path.splitext(claim.invoice.name)[1].lstrip(".").lower()
    return CONTENT_TYPES.get(extension, "application/octet-stream")


# -------------------------------------------------------------------------------------- the firm's claim


def claimable_redemptions(programme: Programme, firm: Organisation):
    """The firm's redemptions in ``programme`` that are neither reversed nor on a claim, oldest first."""
    return (
        LedgerEntry.objects.filter(
            voucher__programme=programme,
            firm=firm,
            kind=LedgerEntry.Kind.REDEEM,
            reversal__isnull=True,
            claim_line__isnull=True,
        )
        .select_related("voucher", "solution")
        .order_by("created_at", "pk")
    )


def submit_claim(
    programme: Programme,
    firm: Organisation,
    *,
    redemptions: Iterable,
    invoice_number: str,
    invoice: UploadedFile | None,
    iban: str,
    bic: str = "",
    account_holder: str,
    acting_user: User,
) -> Claim:
    """Claim reimbursement of ``firm``'s ``redemptions`` (entries or their ids) in ``programme``."""
    _require(
        acting_user,
        "vouchers.act_for_firm",
        firm,
        _("You cannot claim reimbursement for %(firm)s.") % {"firm": firm},
    )
    wanted = {getattr(r, "pk", r) for r in redemptions}
    if not wanted:
        raise ClaimFieldError(_("Choose at least one redemption to claim."), "redemptions")
    invoice_number = (invoice_number or "").strip()
    if not invoice_number:
        raise ClaimFieldError(_("Enter the invoice number."), "invoice_number")
    if len(invoice_number) > 50:
        raise ClaimFieldError(_("An invoice number has at most 50 characters."), "invoice_number")
    account_holder = " ".join((account_holder or "").split())
    if not account_holder:
        raise ClaimFieldError(_("Enter the name of the account holder."), "account_holder")
    if len(account_holder) > 70:
        raise ClaimFieldError(_("The account holder's name has at most 70 characters."), "account_holder")
    iban = clean_iban(iban)
    bic = clean_bic(bic)
    filename = check_invoice(invoice)

    # The file is written before any lock is taken, and removed again if the claim is refused.
    claim = Claim(
        programme=programme,
        firm=firm,
        invoice_number=invoice_number,
        iban=iban,
        bic=bic,
        account_holder=account_holder,
        submitted_by=_user(acting_user),
    )
    claim.invoice.save(filename, invoice, save=False)
    try:
        return _save_claim(claim, wanted, acting_user=acting_user)
    except BaseException:
        claim.invoice.storage.delete(claim.invoice.name)
        raise


def _refusal_day(entry: LedgerEntry) -> str:
    return formats.date_format(timezone.localdate(entry.created_at), "DATE_FORMAT")


@transaction.atomic
def _save_claim(claim: Claim, wanted: set, *, acting_user: User) -> Claim:
    programme, firm = claim.programme, claim.firm
    # The vouchers are locked as reverse_redemption locks them, so that a redemption cannot be reversed
    # while it is being claimed; then the entries are read again under the lock.
    voucher_ids = LedgerEntry.objects.filter(pk__in=wanted).values_list("voucher_id", flat=True)
    list(Voucher.objects.select_for_update(no_key=True).filter(pk__in=voucher_ids).order_by("pk"))
    entries = list(LedgerEntry.objects.filter(pk__in=wanted).select_related("voucher").order_by("pk"))
    if len(entries) != len(wanted):
        raise VoucherError(_("Some of the chosen redemptions do not exist."))
    for entry in entries:
        if (
            entry.kind != LedgerEntry.Kind.REDEEM
            or entry.firm_id != firm.pk
            or entry.voucher.programme_id != programme.pk
        ):
            raise VoucherError(
                _("Only %(firm)s's own redemptions in %(programme)s can be claimed.")
                % {"firm": firm, "programme": programme}
            )
    reversed_ids = set(LedgerEntry.objects.filter(reverses__in=entries).values_list("reverses_id", flat=True))
    claimed_ids = set(
        ClaimLine.objects.filter(redemption__in=entries).values_list("redemption_id", flat=True)
    )
    for entry in entries:
        if entry.pk in reversed_ids:
            raise VoucherError(
                _("The redemption of %(amount)s EUR on %(day)s was reversed: it cannot be claimed.")
                % {"amount": _eur(-entry.amount), "day": _refusal_day(entry)}
            )
        if entry.pk in claimed_ids:
            raise VoucherError(
                _("The redemption of %(amount)s EUR on %(day)s is already on a claim.")
                % {"amount": _eur(-entry.amount), "day": _refusal_day(entry)}
            )
    if Claim.objects.filter(firm=firm, invoice_number=claim.invoice_number).exists():
        raise ClaimFieldError(
            _("%(firm)s has already claimed with invoice number %(number)s.")
            % {"firm": firm, "number": claim.invoice_number},
            "invoice_number",
        )
    claim.submitted_at = timezone.now()
    try:
        with transaction.atomic():
            claim.save()
            ClaimLine.objects.bulk_create(
                ClaimLine(claim=claim, redemption=entry, amount=-entry.amount) for entry in entries
            )
    except IntegrityError:
        # Another request of the same firm got there first (same invoice number or same redemption).
        raise VoucherError(
            _(
                "Another claim with this invoice number or with one of these redemptions was submitted "
                "at the same moment. Reload the page to see what is left to claim."
            )
        ) from None
    audit.record(
        "vouchers.claim.submit",
        actor=_user(acting_user),
        obj=claim,
        organisation=firm,
        data={
            "programme": programme.pk,
            "redemptions": [e.pk for e in entries],
            "total": str(sum((-e.amount for e in entries), start=ZERO)),
            "invoice_number": claim.invoice_number,
        },
    )
    return claim


# ---------------------------------------------------------------------------------- the operator's check


def _lock_claim(claim: Claim) -> Claim:
    return (
        Claim.objects.select_for_update(no_key=True, of=("self",))
        .select_related("programme", "firm")
        .get(pk=claim.pk)
    )


@transaction.atomic
def check_claim(claim: Claim, *, note: str = "", acting_user: User) -> Claim:
    """The operator confirms a submitted claim is complete; it goes to the funder."""
    claim = _lock_claim(claim)
    _require(
        acting_user,
        "vouchers.run_programme",
        claim.programme,
        _("Only the programme's operator checks claims."),
    )
    _transition(claim, Claim.Status.CHECKED)
    note = (note or "").strip()[:2000]
    now = timezone.now()
    Claim.objects.filter(pk=claim.pk).update(
        status=Claim.Status.CHECKED, checked_at=now, checked_by=_user(acting_user), check_note=note
    )
    claim.refresh_from_db()
    audit.record(
        "vouchers.claim.check",
        actor=_user(acting_user),
        obj=claim,
        organisation=claim.programme.operator,
        data={"note": note},
    )
    return claim


@transaction.atomic
def return_claim(claim: Claim, *, note: str, acting_user: User) -> Claim:
    """The operator sends a submitted claim back to the firm with a note; its redemptions can be claimed
    again (the lines are deleted; the audit entry keeps them)."""
    claim = _lock_claim(claim)
    _require(
        acting_user,
        "vouchers.run_programme",
        claim.programme,
        _("Only the programme's operator returns claims."),
    )
    _transition(claim, Claim.Status.RETURNED)
    note = (note or "").strip()[:2000]
    if not note:
        raise ClaimFieldError(_("Tell the firm why the claim is returned."), "note")
    lines = list(claim.lines.select_for_update(no_key=True).order_by("pk"))
    released = [{"redemption": line.redemption_id, "amount": str(line.amount)} for line in lines]
    ClaimLine.objects.filter(pk__in=[line.pk for line in lines], status=ClaimLine.Status.PENDING).delete()
    now = timezone.now()
    Claim.objects.filter(pk=claim.pk).update(
        status=Claim.Status.RETURNED, checked_at=now, checked_by=_user(acting_user), check_note=note
    )
    claim.refresh_from_db()
    audit.record(
        "vouchers.claim.return",
        actor=_user(acting_user),
        obj=claim,
        organisation=claim.programme.operator,
        data={"note": note, "released": released},
    )
    return claim


# -------------------------------------------------------------------------------- the funder's decision


def de_minimis_granted_on() -> date:
    """The day an approval made now counts as aid (the platform's time zone)."""
    return timezone.localdate()


@transaction.atomic
def decide_claim_line(line: ClaimLine, *, approve: bool, reason: str = "", acting_user: User) -> ClaimLine:
    """The funder approves a line (recording it as de minimis aid to the firm today, within the ceiling)
    or rejects it with a reason. The claim is decided with its last line."""
    claim = _lock_claim(line.claim)
    programme = claim.programme
    _require(
        acting_user,
        "vouchers.fund_programme",
        programme,
        _("Only the programme's funder decides on claims."),
    )
    line = ClaimLine.objects.select_for_update(no_key=True).get(pk=line.pk)
    if line.status != ClaimLine.Status.PENDING:
        raise VoucherError(
            _("This line has already been decided: %(status)s.")
            % {"status": line.get_status_display().lower()}
        )
    if claim.status != Claim.Status.CHECKED:
        raise VoucherError(
            _("Lines are decided once the operator has checked the claim; this claim is %(status)s.")
            % {"status": claim.get_status_display().lower()}
        )
    reason = (reason or "").strip()[:2000]
    now = timezone.now()
    aid = None
    if approve:
        # The right to the reimbursement arises when the funder approves it: that is the day of the aid.
        aid = record_de_minimis_aid(
            claim.firm,
            amount=line.amount,
            granted_on=de_minimis_granted_on(),
            granting_body=programme.funder.name,
            source=DeMinimisAid.Source.PROGRAMME,
            programme=programme,
            acting_user=acting_user,
        )
        status = ClaimLine.Status.APPROVED
    else:
        if not reason:
            raise ClaimFieldError(_("Give the firm a reason for rejecting this line."), "reason")
        status = ClaimLine.Status.REJECTED
    ClaimLine.objects.filter(pk=line.pk).update(
        status=status, decided_at=now, decided_by=_user(acting_user), reason=reason, aid=aid
    )
    line.refresh_from_db()
    decided = not claim.lines.filter(status=ClaimLine.Status.PENDING).exists()
    if decided:
        _transition(claim, Claim.Status.DECIDED)
        Claim.objects.filter(pk=claim.pk).update(status=Claim.Status.DECIDED, decided_at=now)
    audit.record(
        f"vouchers.claimline.{'approve' if approve else 'reject'}",
        actor=_user(acting_user),
        obj=line,
        organisation=claim.firm,
        data={
            "claim": claim.pk,
            "amount": str(line.amount),
            "reason": reason,
            "aid": aid.pk if aid else None,
            "claim_decided": decided,
        },
    )
    return line


# --------------------------------------------------------------------------------------------- payment


def payable_lines(programme: Programme):
    """Approved lines of decided claims not yet in a batch: each claim is paid whole, in one transfer."""
    return ClaimLine.objects.filter(
        claim__programme=programme,
        claim__status=Claim.Status.DECIDED,
        status=ClaimLine.Status.APPROVED,
        batch__isnull=True,
    )


@transaction.atomic
def create_payment_batch(
    programme: Programme,
    *,
    debtor_name: str,
    debtor_iban: str,
    debtor_bic: str = "",
    execution_date: date | None = None,
    acting_user: User,
) -> PaymentBatch:
    """Gather the approved lines of every decided claim of ``programme`` not yet paid into a new batch,
    paid from the funder's account."""
    _require(
        acting_user,
        "vouchers.fund_programme",
        programme,
        _("Only the programme's funder pays claims."),
    )
    debtor_name = " ".join((debtor_name or "").split())
    if not debtor_name:
        raise ClaimFieldError(_("Enter the name of the paying account."), "debtor_name")
    if len(debtor_name) > 70:
        raise ClaimFieldError(_("The paying account's name has at most 70 characters."), "debtor_name")
    debtor_iban = clean_iban(debtor_iban, field="debtor_iban")
    debtor_bic = clean_bic(debtor_bic, field="debtor_bic")
    today = timezone.localdate()
    execution_date = execution_date or today
    if execution_date < today:
        raise ClaimFieldError(_("The payment date cannot be in the past."), "execution_date")
    programme = Programme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    lines = list(payable_lines(programme).select_for_update(no_key=True, of=("self",)).order_by("pk"))
    if not lines:
        raise VoucherError(_("There is no approved claim line waiting for payment."))
    batch = PaymentBatch.objects.create(
        programme=programme,
        created_by=_user(acting_user),
        debtor_name=debtor_name,
        debtor_iban=debtor_iban,
        debtor_bic=debtor_bic,
        execution_date=execution_date,
    )
    ClaimLine.objects.filter(pk__in=[line.pk for line in lines]).update(batch=batch)
    total = sum((line.amount for line in lines), start=ZERO)
    audit.record(
        "vouchers.paymentbatch.create",
        actor=_user(acting_user),
        obj=batch,
        organisation=programme.funder,
        data={"lines": [line.pk for line in lines], "total": str(total)},
    )
    return batch


@transaction.atomic
def mark_batch_paid(batch: PaymentBatch, *, acting_user: User) -> PaymentBatch:
    """Record that the funder's bank has paid the batch; once."""
    batch = PaymentBatch.objects.select_related("programme__funder").get(pk=batch.pk)
    _require(
        acting_user,
        "vouchers.fund_programme",
        batch.programme,
        _("Only the programme's funder marks payments as made."),
    )
    now = timezone.now()
    changed = PaymentBatch.objects.filter(pk=batch.pk, status=PaymentBatch.Status.OPEN).update(
        status=PaymentBatch.Status.PAID, paid_at=now, paid_by=_user(acting_user)
    )
    if changed != 1:
        raise VoucherError(_("This payment batch has already been marked as paid."))
    batch.refresh_from_db()
    total = batch.lines.aggregate(total=money_sum())["total"]
    audit.record(
        "vouchers.paymentbatch.pay",
        actor=_user(acting_user),
        obj=batch,
        organisation=batch.programme.funder,
        data={"total": str(total)},
    )
    return batch

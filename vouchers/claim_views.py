"""Reimbursement pages: a firm's claims and a new claim, one claim with the operator's check and the
funder's decisions, a programme's claims, and payment batches with their CSV and SEPA files.

Views parse, ask the policy and call ``vouchers.services.claims``; refusals are shown on the form."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, Q, Sum
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.errors import DomainError
from livinglab.models import AuditEntry, Organisation
from livinglab.views import paginate

from . import payments
from .claim_forms import ApproveAllForm, CheckClaimForm, ClaimForm, DecideLineForm, PaymentBatchForm
from .models import (
    ZERO,
    Claim,
    ClaimLine,
    LedgerEntry,
    PaymentBatch,
    Programme,
    amount_text,
    cents,
    de_minimis_headroom,
    de_minimis_total,
    de_minimis_window,
    money_sum,
)
from .services import claims as claim_services

# ------------------------------------------------------------------------------------------- helpers


def _deny_unless(request, perm: str, obj, message: str) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied(message)


def _programme(slug: str) -> Programme:
    return get_object_or_404(Programme.objects.select_related("funder", "operator"), slug=slug)


def _show_refusal(form, error: DomainError) -> None:
    field = getattr(error, "field", None)
    form.add_error(field if field in form.fields else None, error.message)


def _sum(expression: str = "amount", **conditions):
    """SUM of a money column over the rows matching ``conditions``; zero when there are none."""
    output = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Sum(expression, filter=Q(**conditions), output_field=output), ZERO, output_field=output)


def _claim_totals(claims):
    return claims.annotate(
        total=money_sum("lines__amount"),
        line_count=Count("lines"),
        approved=_sum("lines__amount", lines__status=ClaimLine.Status.APPROVED),
    )


# ----------------------------------------------------------------------------------------- the firm


@login_required
def firm_claims(request, slug: str):
    firm = get_object_or_404(Organisation, slug=slug)
    _deny_unless(request, "vouchers.view_firm_claims", firm, _("You cannot see this firm's claims."))
    claims = _claim_totals(Claim.objects.filter(firm=firm).select_related("programme")).order_by(
        "-submitted_at", "-pk"
    )
    claimable = (
        LedgerEntry.objects.filter(
            firm=firm, kind=LedgerEntry.Kind.REDEEM, reversal__isnull=True, claim_line__isnull=True
        )
        .values("voucher__programme__slug", "voucher__programme__title")
        .annotate(count=Count("pk"), total=money_sum())
        .order_by("voucher__programme__title")
    )
    to_claim = [
        {
            "slug": row["voucher__programme__slug"],
            "title": row["voucher__programme__title"],
            "count": row["count"],
            "total": cents(-row["total"]),
        }
        for row in claimable
    ]
    return render(
        request,
        "vouchers/claims/firm_claims.html",
        {
            "firm": firm,
            "claims": paginate(request, claims),
            "to_claim": to_claim,
            "can_claim": request.user.has_perm("vouchers.act_for_firm", firm),
        },
    )


@login_required
def claim_new(request, slug: str, programme: str):
    firm = get_object_or_404(Organisation, slug=slug)
    programme = _programme(programme)
    _deny_unless(
        request, "vouchers.act_for_firm", firm, _("Only the firm's administrators claim reimbursement.")
    )
    claimable = claim_services.claimable_redemptions(programme, firm)
    if request.method == "POST":
        form = ClaimForm(request.POST, request.FILES, claimable=claimable)
        if form.is_valid():
            try:
                claim = claim_services.submit_claim(
                    programme,
                    firm,
                    redemptions=form.cleaned_data["redemptions"],
                    invoice_number=form.cleaned_data["invoice_number"],
                    invoice=form.cleaned_data["invoice"],
                    iban=form.cleaned_data["iban"],
                    bic=form.cleaned_data["bic"],
                    account_holder=form.cleaned_data["account_holder"],
                    acting_user=request.user,
                )
            except DomainError as error:
                _show_refusal(form, error)
            else:
                messages.success(
                    request,
                    _("Claim %(reference)s is submitted: the operator checks it next.")
                    % {"reference": claim.reference},
                )
                return redirect("claim_detail", pk=claim.pk)
    else:
        last = Claim.objects.filter(firm=firm).order_by("-submitted_at", "-pk").first()
        form = ClaimForm(
            claimable=claimable,
            initial={
                "account_holder": last.account_holder if last else firm.name,
                "iban": last.iban if last else "",
                "bic": last.bic if last else "",
            },
        )
    for entry in form.listed:
        entry.claim_amount = -entry.amount
    selected = {str(pk) for pk in form["redemptions"].value() or []} if form.is_bound else set()
    return render(
        request,
        "vouchers/claims/claim_form.html",
        {
            "firm": firm,
            "programme": programme,
            "form": form,
            "listed": form.listed,
            "more": max(0, claimable.count() - len(form.listed)) if form.listed else 0,
            "selected": selected,
            "listed_total": cents(sum((-e.amount for e in form.listed), start=cents(0))),
        },
        status=400 if form.is_bound else 200,
    )


# ---------------------------------------------------------------------------------------- one claim


def _claim_for(request, pk: int) -> Claim:
    claim = get_object_or_404(
        Claim.objects.select_related("programme__funder", "programme__operator", "firm", "checked_by"), pk=pk
    )
    _deny_unless(request, "vouchers.view_claim", claim, _("You cannot see this claim."))
    return claim


def _render_claim(
    request, claim: Claim, *, check_form=None, line_forms=None, approve_all_form=None, status=200
):
    programme = claim.programme
    lines = list(
        claim.lines.select_related(
            "redemption__voucher", "redemption__solution", "batch", "decided_by"
        ).order_by("redemption__created_at", "pk")
    )
    can_run = request.user.has_perm("vouchers.run_programme", programme)
    can_fund = request.user.has_perm("vouchers.fund_programme", programme)
    deciding = can_fund and claim.status == Claim.Status.CHECKED
    line_forms = line_forms or {}
    for line in lines:
        if deciding and line.status == ClaimLine.Status.PENDING:
            line.form = line_forms.get(line.pk) or DecideLineForm(
                prefix=f"line-{line.pk}", initial={"line": line.pk}
            )
        else:
            line.form = None
    context = {
        "claim": claim,
        "programme": programme,
        "lines": lines,
        "total": cents(sum((line.amount for line in lines), start=cents(0))),
        "approved_total": cents(
            sum((line.amount for line in lines if line.status == ClaimLine.Status.APPROVED), start=cents(0))
        ),
        "pending_total": cents(
            sum((line.amount for line in lines if line.status == ClaimLine.Status.PENDING), start=cents(0))
        ),
        "can_run": can_run,
        "can_fund": can_fund,
        "deciding": deciding,
        "check_form": (check_form or CheckClaimForm())
        if can_run and claim.status == Claim.Status.SUBMITTED
        else None,
        "approve_all_form": (approve_all_form or ApproveAllForm())
        if deciding and any(line.form for line in lines)
        else None,
        "can_download": True,
    }
    if claim.status == Claim.Status.RETURNED:
        context["released"] = _released(claim)
    if can_fund or request.user.has_perm("vouchers.view_firm_aid", claim.firm):
        today = claim_services.de_minimis_granted_on()
        ceiling = programme.de_minimis_ceiling
        first, last = de_minimis_window(today)
        context["aid"] = {
            "today": today,
            "first": first,
            "last": last,
            "ceiling": ceiling,
            "total": de_minimis_total(claim.firm, today),
            "headroom": de_minimis_headroom(claim.firm, today, ceiling),
            "linked": list(claim.firm.single_undertaking().exclude(pk=claim.firm_id).order_by("name")),
        }
    return render(request, "vouchers/claims/claim_detail.html", context, status=status)


def _released(claim: Claim) -> list[LedgerEntry]:
    """The redemptions a returned claim had (its lines are gone; the audit entry of the return keeps them)."""
    entry = (
        AuditEntry.objects.filter(
            action="vouchers.claim.return",
            content_type=ContentType.objects.get_for_model(Claim),
            object_id=str(claim.pk),
        )
        .order_by("-seq")
        .first()
    )
    ids = [row["redemption"] for row in (entry.data.get("released", []) if entry else [])]
    entries = list(
        LedgerEntry.objects.filter(pk__in=ids)
        .select_related("voucher", "solution")
        .order_by("created_at", "pk")
    )
    for redemption in entries:
        redemption.claim_amount = -redemption.amount
    return entries


@login_required
def claim_detail(request, pk: int):
    return _render_claim(request, _claim_for(request, pk))


@login_required
def claim_invoice(request, pk: int):
    claim = _claim_for(request, pk)
    if not claim.invoice or not claim.invoice.storage.exists(claim.invoice.name):
        raise Http404(_("The invoice file is missing."))
    extension = claim.invoice.name.rsplit(".", 1)[-1].lower()
    return FileResponse(
        claim.invoice.open("rb"),
        as_attachment=True,
        filename=f"{claim.reference}-invoice.{extension}",
        content_type=claim_services.invoice_content_type(claim),
    )


@login_required
@require_POST
def claim_check(request, pk: int):
    claim = _claim_for(request, pk)
    _deny_unless(
        request, "vouchers.run_programme", claim.programme, _("Only the programme's operator checks claims.")
    )
    form = CheckClaimForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "check":
                claim_services.check_claim(claim, note=form.cleaned_data["note"], acting_user=request.user)
                messages.success(request, _("The claim is checked and goes to the funder."))
            else:
                claim_services.return_claim(claim, note=form.cleaned_data["note"], acting_user=request.user)
                messages.success(
                    request, _("The claim is returned to the firm; its redemptions can be claimed again.")
                )
        except DomainError as error:
            _show_refusal(form, error)
        else:
            return redirect("claim_detail", pk=claim.pk)
    return _render_claim(request, claim, check_form=form, status=400)


@login_required
@require_POST
def claim_line_decide(request, pk: int):
    line = get_object_or_404(ClaimLine.objects.select_related("claim"), pk=pk)
    claim = _claim_for(request, line.claim_id)
    _deny_unless(
        request,
        "vouchers.fund_programme",
        claim.programme,
        _("Only the programme's funder decides on claims."),
    )
    form = DecideLineForm(request.POST, prefix=f"line-{line.pk}")
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            claim_services.decide_claim_line(
                line, approve=approve, reason=form.cleaned_data["reason"], acting_user=request.user
            )
        except DomainError as error:
            _show_refusal(form, error)
        else:
            messages.success(
                request,
                _("The line of %(amount)s EUR is approved and recorded as de minimis aid.")
                % {"amount": amount_text(line.amount)}
                if approve
                else _("The line of %(amount)s EUR is rejected.") % {"amount": amount_text(line.amount)},
            )
            return redirect("claim_detail", pk=claim.pk)
    return _render_claim(request, claim, line_forms={line.pk: form}, status=400)


@login_required
@require_POST
def claim_approve_all(request, pk: int):
    claim = _claim_for(request, pk)
    _deny_unless(
        request,
        "vouchers.fund_programme",
        claim.programme,
        _("Only the programme's funder decides on claims."),
    )
    form = ApproveAllForm(request.POST)
    if not form.is_valid():
        return _render_claim(request, claim, approve_all_form=form, status=400)
    approved, line_forms = 0, {}
    for line in claim.lines.filter(status=ClaimLine.Status.PENDING).order_by("pk"):
        try:
            claim_services.decide_claim_line(line, approve=True, acting_user=request.user)
            approved += 1
        except DomainError as error:
            prefix = f"line-{line.pk}"
            refused = DecideLineForm(
                {f"{prefix}-line": line.pk, f"{prefix}-decision": "approve"}, prefix=prefix
            )
            refused.is_valid()
            refused.add_error(None, error.message)
            line_forms[line.pk] = refused
    if approved:
        messages.success(
            request, _("%(count)s line(s) approved and recorded as de minimis aid.") % {"count": approved}
        )
    if line_forms:
        claim.refresh_from_db()
        return _render_claim(request, claim, line_forms=line_forms, status=400)
    return redirect("claim_detail", pk=claim.pk)


# ------------------------------------------------------------------------------- a programme's claims


@login_required
def programme_claims(request, slug: str):
    programme = _programme(slug)
    _deny_unless(
        request,
        "vouchers.view_programme_reports",
        programme,
        _("Only the programme's operator and funder see its claims."),
    )
    status = request.GET.get("status", "")
    if status not in Claim.Status.values:
        status = ""
    claims = Claim.objects.filter(programme=programme).select_related("firm")
    if status:
        claims = claims.filter(status=status)
    lines = ClaimLine.objects.filter(claim__programme=programme)
    figures = lines.aggregate(
        pending=_sum(status=ClaimLine.Status.PENDING),
        approved=_sum(status=ClaimLine.Status.APPROVED),
        rejected=_sum(status=ClaimLine.Status.REJECTED),
        paid=_sum(batch__status=PaymentBatch.Status.PAID),
        unbatched=_sum(
            status=ClaimLine.Status.APPROVED, batch__isnull=True, claim__status=Claim.Status.DECIDED
        ),
    )
    return render(
        request,
        "vouchers/claims/programme_claims.html",
        {
            "programme": programme,
            "claims": paginate(request, _claim_totals(claims).order_by("-submitted_at", "-pk")),
            "status": status,
            "statuses": Claim.Status.choices,
            "figures": {key: cents(value) for key, value in figures.items()},
            "can_fund": request.user.has_perm("vouchers.fund_programme", programme),
        },
    )


# -------------------------------------------------------------------------------------- payment batches


def _batches_page(request, programme, form, status=200):
    batches = (
        PaymentBatch.objects.filter(programme=programme)
        .annotate(
            total=money_sum("lines__amount"),
            line_count=Count("lines"),
            claim_count=Count("lines__claim", distinct=True),
        )
        .order_by("-created_at", "-pk")
    )
    ready = claim_services.payable_lines(programme).aggregate(total=money_sum(), count=Count("pk"))
    return render(
        request,
        "vouchers/claims/payment_batches.html",
        {
            "programme": programme,
            "batches": paginate(request, batches),
            "ready_total": cents(ready["total"]),
            "ready_count": ready["count"],
            "form": form,
        },
        status=status,
    )


@login_required
def payment_batches(request, slug: str):
    programme = _programme(slug)
    _deny_unless(
        request,
        "vouchers.view_programme_reports",
        programme,
        _("Only the programme's operator and funder see its payments."),
    )
    can_fund = request.user.has_perm("vouchers.fund_programme", programme)
    if request.method == "POST":
        _deny_unless(
            request, "vouchers.fund_programme", programme, _("Only the programme's funder pays claims.")
        )
        form = PaymentBatchForm(request.POST)
        if form.is_valid():
            try:
                batch = claim_services.create_payment_batch(
                    programme, **form.cleaned_data, acting_user=request.user
                )
            except DomainError as error:
                _show_refusal(form, error)
            else:
                messages.success(
                    request, _("Payment batch %(reference)s is ready.") % {"reference": batch.reference}
                )
                return redirect("payment_batch_detail", pk=batch.pk)
        return _batches_page(request, programme, form, status=400)
    last = PaymentBatch.objects.filter(programme=programme).order_by("-created_at", "-pk").first()
    initial = (
        {"debtor_name": last.debtor_name, "debtor_iban": last.debtor_iban, "debtor_bic": last.debtor_bic}
        if last
        else {"debtor_name": programme.funder.name}
    )
    return _batches_page(request, programme, PaymentBatchForm(initial=initial) if can_fund else None)


def _batch_for(request, pk: int) -> PaymentBatch:
    batch = get_object_or_404(
        PaymentBatch.objects.select_related(
            "programme__funder", "programme__operator", "created_by", "paid_by"
        ),
        pk=pk,
    )
    _deny_unless(
        request,
        "vouchers.view_programme_reports",
        batch.programme,
        _("Only the programme's operator and funder see its payments."),
    )
    return batch


@login_required
def payment_batch_detail(request, pk: int):
    batch = _batch_for(request, pk)
    transfers = payments.transfers(batch)
    return render(
        request,
        "vouchers/claims/payment_batch_detail.html",
        {
            "batch": batch,
            "programme": batch.programme,
            "transfers": transfers,
            "total": cents(sum((t.amount for t in transfers), start=cents(0))),
            "can_pay": batch.status == PaymentBatch.Status.OPEN
            and request.user.has_perm("vouchers.fund_programme", batch.programme),
        },
    )


@login_required
def payment_batch_csv(request, pk: int):
    batch = _batch_for(request, pk)
    response = HttpResponse(payments.batch_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{payments.export_filename(batch, "csv")}"'
    return response


@login_required
def payment_batch_sepa(request, pk: int):
    batch = _batch_for(request, pk)
    try:
        xml = payments.batch_sepa_xml(batch)
    except Exception as error:  # sepaxml raises plain exceptions for data its schema refuses
        messages.error(
            request,
            _("The SEPA file could not be made: %(problem)s. Use the CSV file, or correct the bank details.")
            % {"problem": error},
        )
        return redirect("payment_batch_detail", pk=batch.pk)
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{payments.export_filename(batch, "xml")}"'
    return response


@login_required
@require_POST
def payment_batch_paid(request, pk: int):
    batch = _batch_for(request, pk)
    _deny_unless(
        request,
        "vouchers.fund_programme",
        batch.programme,
        _("Only the programme's funder marks payments as made."),
    )
    try:
        claim_services.mark_batch_paid(batch, acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Payment batch %(reference)s is marked as paid on %(day)s.")
            % {"reference": batch.reference, "day": formats.date_format(timezone.localdate(), "DATE_FORMAT")},
        )
    return redirect("payment_batch_detail", pk=batch.pk)

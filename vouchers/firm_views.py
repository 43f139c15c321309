"""A firm's side of the voucher programmes: its home, redeeming at the counter and the receipt, its
redemptions, partner API tokens, solutions and enrolment, and its de minimis State aid with statements.

Thin views: parse a form, ask the policy, call a service, show the refusal on the form, redirect after
a POST. Pages of a firm live under ``/vouchers/firms/<slug>/``; a redemption, token or solution is
addressed by its id alone (its firm is the one it belongs to)."""

import uuid
from decimal import ROUND_DOWN, Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError, GroundRulesRequired
from livinglab.models import Organisation
from livinglab.services import pending_ground_rules
from livinglab.views import client_ip, paginate, pdf_response

from . import services, statements, tokens
from .codes import is_well_formed, normalise_code
from .firm_forms import DeclareAidForm, EnrolForm, RedeemForm, SolutionForm, TokenForm, enrolable_programmes
from .models import (
    CENT,
    ZERO,
    DeMinimisAid,
    Enrolment,
    LedgerEntry,
    PartnerToken,
    Programme,
    Solution,
    Voucher,
    cents,
)

FIRM_KINDS = (Organisation.Kind.SME, Organisation.Kind.LARGE_ENTERPRISE)
NEW_TOKEN_SESSION_KEY = "vouchers_new_partner_token"  # noqa: S105 (a session key, not a secret)
LATEST = 5


def _allow(request, perm: str, firm: Organisation) -> None:
    if not request.user.has_perm(perm, firm):
        raise PermissionDenied(_("You cannot do this for %(firm)s.") % {"firm": firm})


def _firm(request, slug: str, perm: str = "vouchers.redeem_for_firm") -> Organisation:
    firm = get_object_or_404(Organisation, slug=slug, kind__in=FIRM_KINDS)
    _allow(request, perm, firm)
    return firm


def _page(request, template: str, firm: Organisation, context: dict, **kwargs):
    """Render one of the firm's pages with what its navigation needs: which links this user may follow."""
    user = request.user
    context = {
        "organisation": firm,
        "current": request.resolver_match.url_name,
        "can_act": user.has_perm("vouchers.act_for_firm", firm),
        "can_tokens": user.has_perm("vouchers.manage_partner_tokens", firm),
        "can_aid": user.has_perm("vouchers.view_firm_aid", firm),
        **context,
    }
    return render(request, template, context, **kwargs)


def _redemptions(firm: Organisation):
    return (
        LedgerEntry.objects.filter(firm=firm, kind=LedgerEntry.Kind.REDEEM)
        .select_related("voucher__programme", "solution", "created_by", "reversal")
        .order_by("-created_at", "-pk")
    )


# ------------------------------------------------------------------------------------------------ home


@login_required
def firm_vouchers(request, slug):
    """The programmes the firm takes part in, what it still has to accept, its headroom, latest sales."""
    firm = _firm(request, slug)
    programmes = paginate(
        request,
        Programme.objects.filter(enrolments__solution__firm=firm)
        .distinct()
        .select_related("operator", "funder")
        .order_by("-opens_at", "title"),
    )
    enrolments = Enrolment.objects.filter(
        solution__firm=firm, programme__in=[p.pk for p in programmes]
    ).select_related("solution")
    by_programme: dict[int, list[Enrolment]] = {}
    for enrolment in enrolments.order_by("solution__name"):
        by_programme.setdefault(enrolment.programme_id, []).append(enrolment)
    rows = []
    for programme in programmes:
        listed = by_programme.get(programme.pk, [])
        approved = any(e.status == Enrolment.Status.APPROVED for e in listed)
        pending = list(pending_ground_rules(request.user, programme, organisation=firm)) if approved else []
        rows.append({"programme": programme, "enrolments": listed, "approved": approved, "pending": pending})
    return _page(
        request,
        "vouchers/firm/home.html",
        firm,
        {
            "programmes": programmes,
            "rows": rows,
            "headroom": statements.headroom(firm),
            "latest": list(_redemptions(firm)[:LATEST]),
        },
    )


# ------------------------------------------------------------------------------------------ redemption


def covered_amount(voucher: Voucher, purchase_price: Decimal) -> Decimal:
    """What the voucher pays towards ``purchase_price`` under its programme's rule, within its balance.
    Read without a lock: the service checks it again under the voucher's lock."""
    programme = voucher.programme
    if programme.value_rule == Programme.ValueRule.CO_FUNDING:
        allowed = (programme.co_funding_rate * purchase_price).quantize(CENT, rounding=ROUND_DOWN)
    else:
        allowed = purchase_price
    # At least a cent, so that a used-up voucher is refused by the service with its reason.
    return max(min(voucher.balance(), allowed), CENT)


def _locked_out_message(retry_after: int) -> str:
    return _("Too many unknown or mistyped codes: try again in %(minutes)s minutes.") % {
        "minutes": max(1, -(-retry_after // 60))
    }


def _find_voucher(firm: Organisation, code: str, address: str) -> tuple[Voucher | None, str | None]:
    """The voucher with this code, or why not. A malformed or unknown code counts as a failed lookup,
    against the same per-firm and per-address counters as the partner API."""
    locked = tokens.lockout(firm.pk, address)
    if locked is not None:
        return None, _locked_out_message(locked.retry_after)
    compact = normalise_code(code)
    voucher = None
    if is_well_formed(compact):
        voucher = Voucher.objects.select_related("programme").filter(code=compact).first()
    if voucher is not None:
        return voucher, None
    locked = tokens.record_failed_lookup(None, address, firm=firm)
    if locked is not None:
        return None, _locked_out_message(locked.retry_after)
    if not is_well_formed(compact):
        return None, _("This is not a valid voucher code: please check it for typing mistakes.")
    return None, _("No voucher has this code.")


@login_required
def firm_redeem(request, slug):
    """The counter: code (typed or scanned), price, solution and the holder's name; one step, then the
    receipt. The hidden request key makes a double click or a resubmission redeem once."""
    firm = _firm(request, slug)
    pending_rules = []
    if request.method == "POST":
        form = RedeemForm(request.POST, firm=firm)
        if form.is_valid():
            data = form.cleaned_data
            key = data["request_key"]
            voucher, problem = _find_voucher(firm, data["code"], client_ip(request) or "unknown")
            if problem:
                form.add_error("code", problem)
            else:
                amount = covered_amount(voucher, data["purchase_price"])
                # A resubmission of a form that already redeemed shows the same receipt.
                previous = LedgerEntry.objects.filter(
                    firm=firm, idempotency_key=key, kind=LedgerEntry.Kind.REDEEM, voucher=voucher
                ).first()
                if previous is not None:
                    return redirect("firm_redemption", pk=previous.pk)
                try:
                    entry = services.redeem_voucher(
                        voucher.code,
                        firm=firm,
                        amount=amount,
                        purchase_price=data["purchase_price"],
                        solution=data["solution"],
                        holder_name=data["holder_name"],
                        idempotency_key=key,
                        acting_user=request.user,
                    )
                except DomainError as error:
                    form.add_error(None, error.message)
                    if isinstance(error, GroundRulesRequired):
                        pending_rules = error.pending
                else:
                    messages.success(request, _("The voucher is redeemed."))
                    return redirect("firm_redemption", pk=entry.pk)
            if LedgerEntry.objects.filter(firm=firm, idempotency_key=key).exists():
                # This form's key already served another redemption: the next attempt needs a new one.
                fresh = form.data.copy()
                fresh["request_key"] = uuid.uuid4().hex
                form.data = fresh
    else:
        form = RedeemForm(firm=firm, initial={"code": request.GET.get("code", "")[:64]})
    response = _page(
        request,
        "vouchers/firm/redeem.html",
        firm,
        {"form": form, "pending_rules": pending_rules},
    )
    response["Cache-Control"] = "no-store"
    return response


def _entry(request, pk: int) -> LedgerEntry:
    entry = get_object_or_404(
        LedgerEntry.objects.select_related(
            "voucher__programme", "firm", "solution", "created_by", "reversal__created_by"
        ),
        pk=pk,
        kind=LedgerEntry.Kind.REDEEM,
    )
    _allow(request, "vouchers.redeem_for_firm", entry.firm)
    return entry


@login_required
def firm_redemption(request, pk):
    """The receipt: what the voucher covered, what is left on it, what the holder pays."""
    entry = _entry(request, pk)
    covered = -entry.amount
    reversal = getattr(entry, "reversal", None)
    reverse_until = entry.created_at + services.REVERSAL_WINDOW
    return _page(
        request,
        "vouchers/firm/receipt.html",
        entry.firm,
        {
            "entry": entry,
            "voucher": entry.voucher,
            "programme": entry.voucher.programme,
            "covered": covered,
            "holder_pays": max(ZERO, entry.purchase_price - covered) if entry.purchase_price else None,
            "balance_after": cents(
                LedgerEntry.objects.filter(voucher_id=entry.voucher_id, pk__lte=entry.pk).total()
            ),
            "released_rest": not entry.voucher.programme.partial_redemption,
            "reversal": reversal,
            "can_reverse": reversal is None and timezone.now() < reverse_until,
            "reverse_until": reverse_until,
        },
    )


@login_required
@require_POST
def firm_redemption_reverse(request, pk):
    entry = _entry(request, pk)
    try:
        services.reverse_redemption(entry, acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The redemption is reversed: the voucher has its value back."))
    return redirect("firm_redemption", pk=entry.pk)


@login_required
def firm_redemptions(request, slug):
    firm = _firm(request, slug)
    programmes = Programme.objects.filter(enrolments__solution__firm=firm).distinct().order_by("title")
    chosen = next((p for p in programmes if p.slug == request.GET.get("programme")), None)
    entries = _redemptions(firm)
    if chosen is not None:
        entries = entries.filter(voucher__programme=chosen)
    return _page(
        request,
        "vouchers/firm/redemptions.html",
        firm,
        {
            "programmes": programmes,
            "chosen": chosen,
            "entries": paginate(request, entries),
        },
    )


# ---------------------------------------------------------------------------------------- API tokens


@never_cache
@login_required
def firm_tokens(request, slug):
    """The firm's partner API tokens; a new token's secret is shown once, on the page after creating it."""
    firm = _firm(request, slug, "vouchers.manage_partner_tokens")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = tokens.create_partner_token(
                firm, form.cleaned_data["name"], form.cleaned_data["scopes"], acting_user=request.user
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            request.session[NEW_TOKEN_SESSION_KEY] = {"firm": firm.pk, "token": token.pk, "secret": secret}
            return redirect("firm_tokens", slug=firm.slug)
    new = request.session.pop(NEW_TOKEN_SESSION_KEY, None) if request.method == "GET" else None
    if new is not None and new.get("firm") != firm.pk:
        new = None
    new_token = PartnerToken.objects.filter(pk=new["token"], firm=firm).first() if new else None
    return _page(
        request,
        "vouchers/firm/tokens.html",
        firm,
        {
            "form": form,
            "tokens": paginate(
                request, firm.partner_tokens.select_related("created_by").order_by("-created_at")
            ),
            "new_token": new_token,
            "new_secret": new["secret"] if new_token else None,
            "api_schema": reverse("vouchers_api:openapi-json"),
        },
    )


@login_required
def firm_token_revoke(request, pk):
    """Confirm, then revoke: requests with the token are refused at once."""
    token = get_object_or_404(PartnerToken.objects.select_related("firm", "created_by"), pk=pk)
    _allow(request, "vouchers.manage_partner_tokens", token.firm)
    if request.method == "POST":
        try:
            tokens.revoke_partner_token(token, acting_user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
        return redirect("firm_tokens", slug=token.firm.slug)
    return _page(request, "vouchers/firm/token_revoke.html", token.firm, {"token": token})


# ----------------------------------------------------------------------------------------- solutions


@login_required
def firm_solutions(request, slug):
    firm = _firm(request, slug, "vouchers.act_for_firm")
    solutions = paginate(
        request,
        Solution.objects.filter(firm=firm)
        .prefetch_related(
            Prefetch(
                "enrolments", queryset=Enrolment.objects.select_related("programme").order_by("-applied_at")
            )
        )
        .order_by("name"),
    )
    open_programmes = list(
        Programme.objects.filter(status__in=[Programme.Status.DRAFT, Programme.Status.OPEN]).order_by("title")
    )
    rows = []
    for solution in solutions:
        taken = {e.programme_id for e in solution.enrolments.all()}
        rows.append((solution, [p for p in open_programmes if p.pk not in taken]))
    return _page(
        request,
        "vouchers/firm/solutions.html",
        firm,
        {"solutions": solutions, "rows": rows},
    )


def _save_solution(request, firm: Organisation, solution: Solution):
    form = SolutionForm(request.POST or None, instance=solution)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_solution(form.save(commit=False), acting_user=request.user)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("“%(name)s” is saved.") % {"name": saved.name})
            return redirect("firm_solutions", slug=firm.slug)
    return _page(request, "vouchers/firm/solution_form.html", firm, {"form": form, "solution": solution})


@login_required
def firm_solution_new(request, slug):
    firm = _firm(request, slug, "vouchers.act_for_firm")
    return _save_solution(request, firm, Solution(firm=firm))


def _solution(request, pk: int) -> Solution:
    solution = get_object_or_404(Solution.objects.select_related("firm"), pk=pk)
    _allow(request, "vouchers.act_for_firm", solution.firm)
    return solution


@login_required
def firm_solution_edit(request, pk):
    solution = _solution(request, pk)
    return _save_solution(request, solution.firm, solution)


@login_required
@require_POST
def firm_solution_enrol(request, pk):
    """Apply to offer a solution in a programme; the operator decides."""
    solution = _solution(request, pk)
    form = EnrolForm(request.POST, solution=solution)
    if not form.is_valid():
        if enrolable_programmes(solution).exists():
            messages.error(request, _("Choose a programme that still enrols firms."))
        else:
            messages.error(request, _("No programme enrols firms now."))
    else:
        try:
            services.apply_for_enrolment(solution, form.cleaned_data["programme"], acting_user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("“%(solution)s” has applied to %(programme)s; the operator will decide.")
                % {"solution": solution.name, "programme": form.cleaned_data["programme"]},
            )
    return redirect("firm_solutions", slug=solution.firm.slug)


# ----------------------------------------------------------------------------------------- State aid


@login_required
def firm_aid(request, slug):
    """Headroom today, aid per year, every aid received, and declaring other de minimis aid."""
    firm = _firm(request, slug, "vouchers.view_firm_aid")
    can_declare = request.user.has_perm("vouchers.act_for_firm", firm)
    form = DeclareAidForm(request.POST or None) if can_declare else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("You cannot declare aid for %(firm)s.") % {"firm": firm})
        if form.is_valid():
            try:
                services.record_de_minimis_aid(
                    firm,
                    amount=form.cleaned_data["amount"],
                    granted_on=form.cleaned_data["granted_on"],
                    granting_body=form.cleaned_data["granting_body"],
                    source=DeMinimisAid.Source.DECLARED,
                    acting_user=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The aid is recorded; the headroom below includes it."))
                return redirect("firm_aid", slug=firm.slug)
    per_year = statements.aid_per_year(firm)
    aid = (
        statements.undertaking_aid(firm)
        .select_related("organisation", "programme")
        .order_by("-granted_on", "-pk")
    )
    return _page(
        request,
        "vouchers/firm/aid.html",
        firm,
        {
            "headrooms": statements.headrooms(firm),
            "chart": horizontal_bars([(str(year), int(total)) for year, total in per_year]),
            "per_year": per_year,
            "years": [year for year, _total in per_year][::-1],
            "aid": paginate(request, aid),
            "linked": firm.single_undertaking().exclude(pk=firm.pk).order_by("name") if firm.group_id else [],
            "form": form,
        },
    )


@login_required
def firm_aid_statement(request, slug, year):
    firm = _firm(request, slug, "vouchers.view_firm_aid")
    statement_year = statements.valid_year(year)
    if statement_year is None:
        raise Http404(_("There is no statement for this year."))
    return pdf_response(*statements.de_minimis_statement(firm, statement_year))

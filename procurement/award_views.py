"""The award page of a phase (decision, standstill, withdrawal, finalisation, contracts) and the contract page
(milestones and payments, and the phase 3 field test)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab.acting import pending_rules, refuse
from livinglab.errors import DomainError
from livinglab.policy import is_platform_admin
from livinglab.views import paginate

from .award_forms import DecisionForm, RevokeForm
from .models import Award, AwardDecision, Contract, Milestone
from .rules import is_compliance, is_procurer
from .services import awards as services
from .services import evaluation as evaluation_services
from .view_helpers import get_phase


def _reads_awards(user, phase) -> bool:
    return is_procurer(user, phase) or is_compliance(user, phase) or is_platform_admin(user)


@login_required
def award(request, slug, number):
    phase = get_phase(request, slug, number)
    if not _reads_awards(request.user, phase):
        raise PermissionDenied(_("The award page is for the authority's procurers and compliance officers."))
    decides = request.user.has_perm("procurement.award_phase", phase)
    action = request.POST.get("action") if request.method == "POST" else None
    decision_form = DecisionForm(request.POST if action == "decide" else None)
    revoke_form = RevokeForm(request.POST if action == "revoke" else None)
    live = (
        AwardDecision.objects.filter(phase=phase)
        .exclude(status=AwardDecision.Status.REVOKED)
        .select_related("decided_by")
        .first()
    )
    if action:
        if not decides:
            raise PermissionDenied(_("Only a procurer of the buying authority may decide awards."))
        try:
            if action == "decide" and decision_form.is_valid():
                decision = services.decide_award(
                    phase, decision_form.cleaned_data["reasons"], acting_user=request.user
                )
                messages.success(
                    request,
                    _(
                        "The award is decided. Every bidder is told its result; the standstill period ends "
                        "on %(when)s."
                    )
                    % {"when": services.local_moment(phase.procurement, decision.standstill_ends_at)},
                )
                return redirect("procurement:award", slug=slug, number=number)
            if action == "revoke" and live is not None and revoke_form.is_valid():
                services.revoke_award(live, revoke_form.cleaned_data["reasons"], acting_user=request.user)
                messages.success(
                    request, _("The decision is withdrawn; the phase is under evaluation again.")
                )
                return redirect("procurement:award", slug=slug, number=number)
            if action == "finalise" and live is not None:
                services.finalise_award(live, acting_user=request.user)
                messages.success(request, _("The decision is final and the contracts are drawn up."))
                return redirect("procurement:award", slug=slug, number=number)
            if action == "complete":
                services.complete_phase(phase, acting_user=request.user)
                messages.success(request, _("The phase is completed."))
                return redirect("procurement:award", slug=slug, number=number)
        except DomainError as error:
            refuse(
                request,
                error,
                decision_form if action == "decide" else revoke_form if action == "revoke" else None,
            )
    awards = []
    if live is not None:
        awards = paginate(
            request,
            Award.objects.filter(decision=live)
            .select_related("bid__consortium__lead", "contract")
            .order_by("-successful", "rank", "pk"),
        )
    evaluation = None
    if phase.status in evaluation_services.EVALUATING and not phase.is_sealed():
        evaluation = evaluation_services.evaluate_phase(phase)
    context = {
        "phase": phase,
        "procurement": phase.procurement,
        "decides": decides,
        "decision": live,
        "awards": awards,
        "evaluation": evaluation,
        "missing": evaluation.missing_consensus() if evaluation else [],
        "decision_form": decision_form,
        "revoke_form": revoke_form,
        "standstill_ends": services.local_moment(phase.procurement, live.standstill_ends_at) if live else "",
        "decided_at": services.local_moment(phase.procurement, live.decided_at) if live else "",
        "standstill_over": live is not None and live.standstill_ends_at <= timezone.now(),
        "revoked": AwardDecision.objects.filter(phase=phase, status=AwardDecision.Status.REVOKED).order_by(
            "-decided_at"
        ),
        "pending_rules": pending_rules(request),
    }
    return render(request, "procurement/awards/award.html", context)


@login_required
def contract(request, pk):
    contract = get_object_or_404(
        Contract.objects.select_related(
            "phase__procurement__buyer",
            "phase__field_test",
            "award__bid__consortium__lead",
            "award__decision",
        ),
        pk=pk,
    )
    if not request.user.has_perm("procurement.view_contract", contract):
        raise Http404(_("No contract of yours has this address."))
    phase = contract.phase
    manages = request.user.has_perm("procurement.manage_contract", phase)
    if request.method == "POST":
        if not manages:
            raise PermissionDenied(_("Only a procurer of the buying authority manages contracts."))
        action = request.POST.get("action")
        try:
            if action == "sign":
                services.sign_contract(contract, acting_user=request.user)
                messages.success(request, _("The signature is recorded; the contract is active."))
            elif action == "milestone":
                milestone = get_object_or_404(Milestone, pk=request.POST.get("milestone"), contract=contract)
                milestone = services.record_milestone(
                    milestone, request.POST.get("to", ""), acting_user=request.user
                )
                messages.success(
                    request,
                    _("“%(title)s” is now %(status)s.")
                    % {"title": milestone.title, "status": milestone.get_status_display().lower()},
                )
            elif action == "field_test":
                campaign = services.open_field_test(contract, acting_user=request.user)
                messages.success(
                    request,
                    _(
                        "The field test campaign “%(title)s” is drafted; the living lab and the consortium "
                        "complete it."
                    )
                    % {"title": campaign.title},
                )
            return redirect("procurement:contract", pk=contract.pk)
        except DomainError as error:
            refuse(request, error)
    milestones = list(contract.milestones.all())
    steps = []
    for milestone in milestones:
        to = services.MILESTONE_STEPS.get(milestone.status)
        steps.append({"milestone": milestone, "to": to, "to_label": Milestone.Status(to).label if to else ""})
    paid = sum((m.amount for m in milestones if m.status == Milestone.Status.PAID), start=0)
    return render(
        request,
        "procurement/awards/contract.html",
        {
            "contract": contract,
            "phase": phase,
            "procurement": phase.procurement,
            "consortium": contract.award.bid.consortium,
            "manages": manages,
            "steps": steps,
            "paid": paid,
            "may_open_field_test": manages
            and phase.field_test_id is None
            and services.is_last_phase(phase)
            and contract.status in (Contract.Status.PENDING, Contract.Status.ACTIVE),
            "pending_rules": pending_rules(request),
        },
    )

"""Evaluation pages: the procurer's (and chair's) overview of a phase, the evaluator's workspace and their
page per bid — the conflict-of-interest declaration first, then the sealed content and the scores."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from livinglab.acting import pending_rules, refuse
from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError
from livinglab.views import paginate

from .evaluation_forms import AssignEvaluatorForm, DeclarationForm, criterion_forms
from .models import Bid, BidContent, BidDocument, ConflictDeclaration, ConsensusScore, Evaluator, Score
from .services import evaluation as services
from .view_helpers import get_phase

PAGE_SIZE = 25


@login_required
def evaluation_overview(request, slug, number):
    phase = get_phase(request, slug, number)
    manages = request.user.has_perm("procurement.manage_evaluation", phase)
    seat = None if manages else phase.evaluators.filter(user=request.user).first()
    if not manages and seat is not None and seat.role != Evaluator.Role.CHAIR:
        # An evaluator sees their own list of the phase's bids, not the panel's progress and the ranking.
        return redirect("procurement:evaluation_bids", pk=seat.pk)
    if not manages and seat is None:
        raise PermissionDenied(
            _("The evaluation overview is for the authority's procurers and the panel's chair.")
        )
    form = AssignEvaluatorForm(request.POST if request.POST.get("action") == "assign" else None)
    if request.method == "POST":
        if not manages:
            raise PermissionDenied(_("Only a procurer may change the panel."))
        try:
            if request.POST.get("action") == "assign" and form.is_valid():
                evaluator = services.assign_evaluator(
                    phase, form.cleaned_data["user"], form.cleaned_data["role"], acting_user=request.user
                )
                messages.success(
                    request,
                    _("%(person)s is on the panel as %(role)s.")
                    % {"person": evaluator.user, "role": evaluator.get_role_display().lower()},
                )
                return redirect("procurement:evaluation", slug=slug, number=number)
            if request.POST.get("action") == "remove":
                evaluator = get_object_or_404(Evaluator, pk=request.POST.get("evaluator"), phase=phase)
                services.remove_evaluator(evaluator, acting_user=request.user)
                messages.success(
                    request, _("%(person)s is no longer on the panel.") % {"person": evaluator.user}
                )
                return redirect("procurement:evaluation", slug=slug, number=number)
        except DomainError as error:
            refuse(request, error, form if request.POST.get("action") == "assign" else None)
    evaluation = services.evaluate_phase(phase)
    rows = Paginator(evaluation.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    ranking = Paginator(evaluation.ranking, PAGE_SIZE).get_page(request.GET.get("ranking"))
    chart = horizontal_bars(
        [
            (row.bid.consortium.name, float(result.total))
            for result, row in evaluation.ranking
            if result.complete
        ]
    )
    return render(
        request,
        "procurement/evaluation/overview.html",
        {
            "phase": phase,
            "procurement": phase.procurement,
            "evaluation": evaluation,
            "sealed": phase.is_sealed(),
            "sealed_message": services.sealed_message(phase),
            "rows": rows,
            "ranking": ranking,
            "chart": chart,
            "manages": manages,
            "form": form,
            "pending_rules": pending_rules(request),
            "deadline": services.local_deadline(phase),
        },
    )


@login_required
def my_evaluations(request):
    """The evaluator's workspace: the panels they sit on and what is left to do."""
    return render(
        request,
        "procurement/evaluation/workspace.html",
        {"assignments": services.evaluator_assignments(request.user)},
    )


@login_required
def evaluation_bids(request, pk):
    """The bids of one phase, as the evaluator must handle them: declare, then score."""
    evaluator = get_object_or_404(
        Evaluator.objects.select_related("phase__procurement__buyer"), pk=pk, user=request.user
    )
    phase = evaluator.phase
    bids = Bid.objects.filter(phase=phase, status=Bid.Status.SUBMITTED).order_by("submitted_at", "pk")
    page = paginate(request, bids.select_related("consortium__lead"), per_page=PAGE_SIZE)
    ids = [bid.pk for bid in page]
    declarations = dict(
        ConflictDeclaration.objects.filter(evaluator=evaluator, bid_id__in=ids).values_list(
            "bid_id", "has_conflict"
        )
    )
    scored = {}
    for bid_id in Score.objects.filter(evaluator=evaluator, bid_id__in=ids).values_list("bid_id", flat=True):
        scored[bid_id] = scored.get(bid_id, 0) + 1
    criteria = phase.criteria.count()
    rows = []
    for bid in page:
        conflict = declarations.get(bid.pk)
        rows.append(
            {
                "bid": bid,
                "state": "undeclared" if conflict is None else "recused" if conflict else "declared",
                "scored": scored.get(bid.pk, 0),
                "of": criteria,
            }
        )
    return render(
        request,
        "procurement/evaluation/bids.html",
        {
            "evaluator": evaluator,
            "phase": phase,
            "procurement": phase.procurement,
            "page": page,
            "rows": rows,
            "sealed": phase.is_sealed(),
            "sealed_message": services.sealed_message(phase),
        },
    )


def _bid_for_evaluation(request, pk) -> tuple[Bid, Evaluator | None, bool]:
    """The bid, the user's seat on its panel (if any) and whether they oversee the evaluation. Anyone else
    is not even told that the bid exists."""
    bid = get_object_or_404(
        Bid.objects.select_related("phase__procurement__buyer", "consortium__lead"),
        pk=pk,
        status=Bid.Status.SUBMITTED,
    )
    evaluator = Evaluator.objects.filter(phase_id=bid.phase_id, user=request.user).first()
    manages = request.user.has_perm("procurement.manage_evaluation", bid.phase)
    if evaluator is None and not manages:
        raise Http404(_("No bid to evaluate has this address."))
    return bid, evaluator, manages


def _handle_post(request, bid, evaluator, access, declaration_form, score_forms, consensus_forms):
    """Run the action of the button pressed; True when it succeeded (redirect)."""
    action = request.POST.get("action")
    try:
        if action == "declare" and evaluator is not None and declaration_form.is_valid():
            declaration = services.declare_conflict(
                evaluator,
                bid,
                has_conflict=declaration_form.cleaned_data["has_conflict"],
                relationship=declaration_form.cleaned_data["relationship"],
                acting_user=request.user,
            )
            if declaration.source == ConflictDeclaration.Source.DETECTED:
                messages.warning(
                    request,
                    _("The platform found a relationship with this bid, so you are recused from it: %(why)s")
                    % {"why": declaration.relationship},
                )
            elif declaration.has_conflict:
                messages.success(request, _("Your conflict is recorded: you are recused from this bid."))
            else:
                messages.success(
                    request, _("Your declaration is recorded. You may now read and score the bid.")
                )
            return True
        if action == "score" and evaluator is not None and access.may_read:
            for form in score_forms:
                if form.is_bound and form.is_valid():
                    services.score_bid(
                        evaluator,
                        bid,
                        form.criterion,
                        form.cleaned_data["score"],
                        form.cleaned_data["justification"],
                        acting_user=request.user,
                    )
                    messages.success(
                        request,
                        _("Your score for “%(criterion)s” is saved.") % {"criterion": form.criterion.name},
                    )
                    return True
        if action == "consensus":
            for form in consensus_forms:
                if form.is_bound and form.is_valid():
                    services.record_consensus(
                        bid,
                        form.criterion,
                        form.cleaned_data["score"],
                        form.cleaned_data["justification"],
                        acting_user=request.user,
                    )
                    messages.success(
                        request,
                        _("The consensus on “%(criterion)s” is recorded.")
                        % {"criterion": form.criterion.name},
                    )
                    return True
    except DomainError as error:
        bound = [f for f in (*score_forms, *consensus_forms) if f.is_bound]
        refuse(request, error, bound[0] if bound else declaration_form if action == "declare" else None)
    return False


@login_required
def evaluate_bid(request, pk):
    bid, evaluator, manages = _bid_for_evaluation(request, pk)
    phase = bid.phase
    if evaluator is not None:
        access = services.bid_access(evaluator, bid)
    elif phase.is_sealed():
        access = services.Access("sealed", reason=services.sealed_message(phase))
    else:
        access = services.Access("open")
    chair = evaluator is not None and evaluator.role == Evaluator.Role.CHAIR
    oversees = (manages or chair) and access.may_read
    criteria = list(phase.criteria.all())
    consensus = {c.criterion_id: c for c in ConsensusScore.objects.filter(bid=bid)}
    mine = {}
    if evaluator is not None and access.may_read:
        mine = {s.criterion_id: s for s in Score.objects.filter(bid=bid, evaluator=evaluator)}
    data = request.POST if request.method == "POST" else None
    declaration_form = DeclarationForm(data if data and data.get("action") == "declare" else None)
    score_forms = []
    if evaluator is not None and access.may_read:
        score_forms = criterion_forms(
            criteria,
            data if data and data.get("action") == "score" else None,
            prefix="s",
            initial={pk: {"score": s.score, "justification": s.justification} for pk, s in mine.items()},
            locked=set(consensus),
        )
    consensus_forms = []
    if oversees and phase.status in services.EVALUATING:
        consensus_forms = criterion_forms(
            criteria,
            data if data and data.get("action") == "consensus" else None,
            prefix="k",
            initial={pk: {"score": c.score, "justification": c.justification} for pk, c in consensus.items()},
        )
    if request.method == "POST":
        if access.state == "sealed":
            messages.error(request, access.reason)
        elif _handle_post(request, bid, evaluator, access, declaration_form, score_forms, consensus_forms):
            return redirect("procurement:evaluate_bid", pk=bid.pk)
    context = {
        "bid": bid,
        "phase": phase,
        "procurement": phase.procurement,
        "evaluator": evaluator,
        "access": access,
        "manages": manages,
        "oversees": oversees,
        "declaration_form": declaration_form,
        "pending_rules": pending_rules(request),
        "deadline": services.local_deadline(phase),
    }
    if access.may_read:
        all_scores = []
        if oversees:
            all_scores = list(
                Score.objects.filter(bid=bid)
                .select_related("evaluator__user", "criterion")
                .order_by("criterion__position", "criterion__pk", "evaluator__user__email")
            )
        content = BidContent.objects.filter(bid=bid).first()
        context.update(
            {
                "members": bid.consortium.members.filter(status="accepted").select_related("organisation"),
                "content": content,
                "answers": [(c, content.answer_for(c) if content else "") for c in criteria],
                "documents": BidDocument.objects.filter(bid=bid),
                "criteria_blocks": [
                    {
                        "criterion": c,
                        "score_form": score_forms[i] if score_forms else None,
                        "consensus_form": consensus_forms[i] if consensus_forms else None,
                        "consensus": consensus.get(c.pk),
                        "scores": [s for s in all_scores if s.criterion_id == c.pk],
                        "missing": services.missing_scorers(bid, c)
                        if oversees and c.pk not in consensus
                        else [],
                    }
                    for i, c in enumerate(criteria)
                ],
            }
        )
    return render(request, "procurement/evaluation/bid.html", context)


@login_required
def evaluation_document(request, pk, document):
    """A bid's document, for an evaluator free of conflicts (or a procurer), after the deadline only."""
    bid, evaluator, _manages = _bid_for_evaluation(request, pk)
    if evaluator is not None and not services.bid_access(evaluator, bid).may_read:
        raise PermissionDenied(_("Declare that you have no conflict with this bid first."))
    # The sealed manager returns nothing before the deadline, whoever asks.
    item = get_object_or_404(BidDocument.objects.filter(bid=bid), pk=document)
    return FileResponse(
        item.file.open("rb"), as_attachment=True, filename=item.name, content_type=item.content_type
    )

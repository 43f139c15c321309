"""A consortium lead's bid for a phase (draft, submit, withdraw), a bid's page, its documents and its
receipt. Bid content is read only through the sealed managers: the consortium's own members through
``of_own_bid``; the procurer, platform administrators and evaluators who declared no conflict through
``BidContent.objects`` / ``BidDocument.objects``, which return nothing before the deadline."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab.acting import pending_rules, refuse
from livinglab.errors import DomainError
from livinglab.models import Organisation
from livinglab.pdf import render_pdf
from livinglab.policy import is_platform_admin
from livinglab.views import pdf_response

from .bid_forms import BidForm, answer_field
from .models import Bid, BidContent, BidDocument, ConflictDeclaration, Consortium, ConsortiumMember
from .rules import firm_ids, is_buyer_staff, is_intermediary, is_procurer
from .services import bids as services
from .view_helpers import get_phase


def optional_url(name: str, *args) -> str | None:
    """A link to another part of the procurement pages, or None while that part is not there."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# ----------------------------------------------------------------------------------------------- readers


def member_organisation(user, bid: Bid) -> Organisation | None:
    """The organisation through which ``user`` is an accepted member of the bid's consortium."""
    mine = firm_ids(user)
    if not mine:
        return None
    member = (
        ConsortiumMember.objects.filter(
            consortium_id=bid.consortium_id, organisation_id__in=mine, status=ConsortiumMember.Status.ACCEPTED
        )
        .select_related("organisation")
        .order_by("role")
        .first()
    )
    return member.organisation if member is not None else None


def evaluates_without_conflict(user, bid: Bid) -> bool:
    """An evaluator of the bid's phase who declared no conflict of interest with this bid."""
    return ConflictDeclaration.objects.filter(
        evaluator__phase_id=bid.phase_id, evaluator__user=user, bid=bid, has_conflict=False
    ).exists()


def may_open(user, bid: Bid) -> bool:
    """Who outside the consortium reads bid content once the deadline has passed (the sealed managers
    still return nothing before it)."""
    return is_procurer(user, bid.phase) or is_platform_admin(user) or evaluates_without_conflict(user, bid)


def may_see_bid(user, bid: Bid, member: Organisation | None) -> bool:
    """Who learns that the bid exists: its consortium, the buyer's staff, the phase's evaluators, the
    intermediaries and platform administrators. Rival firms do not."""
    return (
        member is not None
        or is_platform_admin(user)
        or is_buyer_staff(user, bid.phase)
        or is_intermediary(user, bid.phase)
        or bid.phase.evaluators.filter(user=user).exists()
    )


def sealed_content(user, bid: Bid, member: Organisation | None):
    """(content, documents) ``user`` may read now: ``(None, [])`` when nothing (sealed or not theirs)."""
    if member is not None:
        return (
            BidContent.objects.of_own_bid(bid, member).first(),
            list(BidDocument.objects.of_own_bid(bid, member)),
        )
    if may_open(user, bid):
        return BidContent.objects.filter(bid=bid).first(), list(BidDocument.objects.filter(bid=bid))
    return None, []


def _bid_or_404(request, pk: int) -> tuple[Bid, Organisation | None]:
    bid = get_object_or_404(
        Bid.objects.select_related("phase__procurement__buyer", "consortium__lead"), pk=pk
    )
    member = member_organisation(request.user, bid)
    if not may_see_bid(request.user, bid, member):
        raise Http404(_("No such bid."))
    return bid, member


# ------------------------------------------------------------------------------------------- the bid page


def _consortium_choice(request, phase) -> tuple[list[Consortium], Consortium | None]:
    led = list(
        Consortium.objects.filter(procurement=phase.procurement, lead_id__in=firm_ids(request.user))
        .exclude(status=Consortium.Status.DISSOLVED)
        .select_related("lead")
        .order_by("name", "pk")
    )
    wanted = request.POST.get("consortium") or request.GET.get("consortium")
    chosen = next((c for c in led if str(c.pk) == wanted), None) if wanted else None
    return led, chosen or (led[0] if led else None)


@login_required
def bid(request, slug: str, number: int):
    """The lead prepares, submits or withdraws its consortium's bid for a phase."""
    phase = get_phase(request, slug, number)
    procurement = phase.procurement
    led, consortium = _consortium_choice(request, phase)
    context = {
        "phase": phase,
        "procurement": procurement,
        "deadline": services.moment_text(phase, phase.bid_deadline) if phase.bid_deadline else None,
        "accepts_bids": phase.accepts_bids(),
        "led": led,
        "consortium": consortium,
        "call_url": optional_url("procurement:detail", procurement.slug),
    }
    if consortium is None:
        return render(request, "procurement/bids/bid_no_consortium.html", context)
    criteria = list(phase.criteria.all())
    current = services.live_bid(phase, consortium)
    source = current or services.last_withdrawn_bid(phase, consortium)
    content = BidContent.objects.of_own_bid(source, consortium.lead).first() if source else None
    documents = list(BidDocument.objects.of_own_bid(current, consortium.lead)) if current else []
    if current is None and source is not None:
        documents = list(BidDocument.objects.of_own_bid(source, consortium.lead))
    initial = {}
    if content is not None:
        initial = {"summary": content.summary, "price": content.price}
        initial.update({answer_field(c): content.answer_for(c) for c in criteria if not c.is_price})
    form = BidForm(initial=initial, criteria=criteria, documents=documents if current else ())
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "withdraw":
                if current is None:
                    raise Http404(_("There is no bid to withdraw."))
                services.withdraw_bid(current, acting_user=request.user)
                messages.success(
                    request,
                    _("The bid is withdrawn. You may prepare and submit a new one until %(deadline)s.")
                    % {"deadline": context["deadline"]},
                )
                return redirect(_bid_page(phase, consortium))
            form = BidForm(
                request.POST, request.FILES, criteria=criteria, documents=documents if current else ()
            )
            if form.is_valid():
                data = form.cleaned_data
                saved = services.save_bid_draft(
                    phase,
                    consortium,
                    summary=data["summary"],
                    price=data.get("price"),
                    answers=form.answers(),
                    documents=data["documents"],
                    remove_documents=data.get("remove_documents") or (),
                    acting_user=request.user,
                )
                if action == "submit":
                    saved = services.submit_bid(saved, acting_user=request.user)
                    messages.success(
                        request,
                        _("Your bid is submitted. Receipt fingerprint (SHA-256): %(hash)s")
                        % {"hash": saved.receipt_sha256},
                    )
                    return redirect("procurement:bid_detail", pk=saved.pk)
                messages.success(request, _("The draft is saved. Submit it before the deadline."))
                return redirect(_bid_page(phase, consortium))
        except DomainError as error:
            refuse(request, error, form)
            # A draft saved before a refused submission: show what is stored now.
            current = services.live_bid(phase, consortium)
            if current is not None:
                content = BidContent.objects.of_own_bid(current, consortium.lead).first()
                documents = list(BidDocument.objects.of_own_bid(current, consortium.lead))
    eligibility = services.may_bid(consortium, phase)
    show_form = (
        context["accepts_bids"] and bool(eligibility) and (current is None or current.status == "draft")
    )
    context.update(
        {
            "form": form,
            "show_form": show_form,
            "bid": current,
            "documents": documents,
            "eligibility": eligibility,
            "is_formed": consortium.status == Consortium.Status.FORMED,
            "missing": services.missing_parts(phase, content)
            if current and current.status == "draft"
            else [],
            "pending_rules": pending_rules(request),
        }
    )
    return render(request, "procurement/bids/bid_form.html", context)


def _bid_page(phase, consortium) -> str:
    url = reverse("procurement:bid", args=[phase.procurement.slug, phase.number])
    return f"{url}?consortium={consortium.pk}"


# ------------------------------------------------------------------------------------- a bid's own pages


@login_required
def bid_detail(request, pk: int):
    """A bid: its status for those who may know it exists; its content for its consortium at any time, and
    after the deadline for the procurer and the evaluators who declared no conflict."""
    bid, member = _bid_or_404(request, pk)
    phase = bid.phase
    content, documents = sealed_content(request.user, bid, member)
    criteria = list(phase.criteria.all())
    answers = []
    if content is not None:
        answers = [(c, content.price if c.is_price else content.answer_for(c)) for c in criteria]
    now = timezone.now()
    context = {
        "bid": bid,
        "phase": phase,
        "procurement": phase.procurement,
        "consortium": bid.consortium,
        "member": member,
        "content": content,
        "answers": answers,
        "documents": documents,
        "sealed": phase.is_sealed(now),
        "deadline": services.moment_text(phase, phase.bid_deadline) if phase.bid_deadline else None,
        "submitted_at": services.moment_text(phase, bid.submitted_at) if bid.submitted_at else None,
        "receipt_verified": services.verify_receipt(bid, member) if member and bid.receipt_sha256 else None,
        "is_lead": request.user.has_perm("procurement.submit_bid", bid.consortium),
        "accepts_bids": phase.accepts_bids(now),
        "evaluation_url": (
            optional_url("procurement:evaluate_bid", bid.pk)
            if phase.evaluators.filter(user=request.user).exists()
            else None
        ),
    }
    return render(request, "procurement/bids/bid_detail.html", context)


@login_required
def bid_document(request, pk: int, document_pk: int):
    """Download a bid document: the same readers as the content; nothing before the deadline for others."""
    bid, member = _bid_or_404(request, pk)
    if member is not None:
        document = BidDocument.objects.of_own_bid(bid, member).filter(pk=document_pk).first()
    elif may_open(request.user, bid):
        document = BidDocument.objects.filter(bid=bid, pk=document_pk).first()
    else:
        document = None
    if document is None or not document.file or not document.file.storage.exists(document.file.name):
        raise Http404(_("No such document, or it is sealed until the deadline."))
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.name,
        content_type=document.content_type,
    )


@login_required
def bid_receipt(request, pk: int):
    """The receipt PDF of a submitted bid, for the members of its consortium."""
    bid, member = _bid_or_404(request, pk)
    if member is None or not bid.receipt_sha256 or bid.submitted_at is None:
        raise Http404(_("Only the consortium that submitted a bid receives its receipt."))
    documents = sorted(BidDocument.objects.of_own_bid(bid, member), key=lambda d: (d.name, d.sha256))
    phase = bid.phase
    pdf = render_pdf(
        "pdf/pcp_bid_receipt.html",
        {
            "bid": bid,
            "phase": phase,
            "procurement": phase.procurement,
            "consortium": bid.consortium,
            "documents": documents,
            "submitted_at": services.moment_text(phase, bid.submitted_at),
            "deadline": services.moment_text(phase, phase.bid_deadline) if phase.bid_deadline else "",
            "verified": services.verify_receipt(bid, member),
        },
    )
    return pdf_response(f"bid-{bid.pk}-receipt.pdf", pdf)

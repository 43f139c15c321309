"""Invitation pages: the signed link people answer through (and the same page for the signed-in invitee),
the staff list of a draw's invitations with who took part, and the pseudonymous view of the firm a draw
was made for. Thin views: every change goes through ``pilots.services.invitations``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from livinglab.views import paginate

from .errors import PanelError
from .invitation_forms import AnswerForm, ParticipationForm
from .models import Draw, Invitation
from .rules import may_manage_own_data
from .services import invitations as services
from .tokens import INVITATION_SALT, LinkProblem, unsign

INVITATION_RELATED = (
    "selection__draw__requested_by",
    "selection__draw__campaign",
    "panel__owner",
    "person__profile",
)


def _user(request):
    return request.user if request.user.is_authenticated else None


def _link_problem(request, reason: str, status: int):
    """A link that cannot be used explains itself: altered (400), or pointing to nothing any more (410)."""
    return render(request, "pilots/invitations/link_problem.html", {"reason": reason}, status=status)


def _is_open(invitation: Invitation) -> bool:
    return (
        invitation.status in Invitation.OPEN
        and invitation.expires_at > timezone.now()
        and invitation.selection.draw.status == Draw.Status.INVITING
    )


def _answer_page(request, invitation: Invitation):
    """The invitation in plain language with its yes / no buttons, or what became of it."""
    draw = invitation.selection.draw
    if request.method == "GET":
        services.open_invitation(invitation, acting_user=_user(request))
    form = None
    if _is_open(invitation):
        form = AnswerForm(request.POST or None, organisation=draw.requested_by)
    status, problem = 200, ""
    if request.method == "POST":
        if form is None:
            problem, status = services.answered_text(invitation), 409
        elif form.is_valid():
            try:
                services.answer_invitation(
                    invitation,
                    form.accept,
                    form.cleaned_data.get("share_identity", False),
                    acting_user=_user(request),
                )
            except PanelError as error:
                invitation.refresh_from_db()
                problem, status, form = str(error), 409, None
            else:
                messages.success(
                    request,
                    _("Thank you: you said yes. The living lab will contact you about when and where.")
                    if form.accept
                    else _("Thank you for letting us know. Nothing changes for you: you stay in the panel."),
                )
                return redirect(request.path)
    if (
        form is None
        and not problem
        and invitation.status not in (Invitation.Status.ACCEPTED, Invitation.Status.DECLINED)
    ):
        status = 410  # expired, withdrawn or closed: nothing to answer any more
    context = {
        "invitation": invitation,
        "draw": draw,
        "lab": invitation.panel.owner,
        "form": form,
        "problem": problem,
        "closed_text": services.answered_text(invitation) if form is None else "",
        "shared": services.shared_labels(getattr(invitation.person, "profile", None)),
    }
    return render(request, "pilots/invitations/answer.html", context, status=status)


@require_http_methods(["GET", "POST"])
def invitation_answer(request, token: str):
    """The signed link of an invitation e-mail: anyone holding it may answer, no sign-in needed."""
    try:
        pk, nonce = unsign(token, INVITATION_SALT)
    except LinkProblem as problem:
        return _link_problem(request, problem.reason, 410 if problem.reason == "expired" else 400)
    invitation = Invitation.objects.select_related(*INVITATION_RELATED).filter(pk=pk).first()
    if invitation is None:
        return _link_problem(request, "gone", 410)
    if not constant_time_compare(invitation.nonce, nonce):
        return _link_problem(request, "invalid", 400)
    return _answer_page(request, invitation)


@login_required
@require_http_methods(["GET", "POST"])
def my_invitation(request, pk: int):
    """The same page for the signed-in invitee (or their guardian), reached from their workspace."""
    invitation = get_object_or_404(Invitation.objects.select_related(*INVITATION_RELATED), pk=pk)
    if not may_manage_own_data(request.user, invitation.person):
        raise PermissionDenied(_("This invitation is not addressed to you."))
    return _answer_page(request, invitation)


# ------------------------------------------------------------------------------------------- staff


def _draw_for(request, pk: int, perm: str) -> Draw:
    draw = get_object_or_404(Draw.objects.select_related("panel__owner", "requested_by", "campaign"), pk=pk)
    if not request.user.has_perm(perm, draw):
        raise PermissionDenied(_("You cannot see the people of this draw."))
    return draw


@login_required
def draw_invitations(request, pk: int):
    """Staff: everyone drawn, their invitation, how to reach those no e-mail reaches, who took part."""
    draw = _draw_for(request, pk, "pilots.manage_draw")
    selections = draw.selections.select_related(
        "membership__person__profile__contact_via", "invitation__participation"
    ).order_by("rank")
    page = paginate(request, selections)
    rows = [(selection, services.contact_flag(selection)) for selection in page]
    services.record_view(draw, "invitations", acting_user=request.user, page=page.number)
    context = {
        "draw": draw,
        "page_obj": page,
        "rows": rows,
        "can_send": draw.status == Draw.Status.DRAWN,
        "outcomes": ParticipationForm.base_fields["outcome"].choices,
    }
    return render(request, "pilots/invitations/draw_invitations.html", context)


@login_required
@require_POST
def send_draw_invitations(request, pk: int):
    draw = _draw_for(request, pk, "pilots.manage_draw")
    try:
        invitations = services.send_invitations(draw, acting_user=request.user)
    except PanelError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)s invitation sent. People who prefer another way of contact are flagged below.",
                "%(count)s invitations sent. People who prefer another way of contact are flagged below.",
                len(invitations),
            )
            % {"count": len(invitations)},
        )
    return redirect("pilots:draw_invitations", pk=draw.pk)


@login_required
@require_POST
def record_participation(request, pk: int):
    invitation = get_object_or_404(Invitation.objects.select_related("selection__draw__panel"), pk=pk)
    draw = invitation.selection.draw
    if not request.user.has_perm("pilots.manage_draw", draw):
        raise PermissionDenied(_("You cannot record who took part in this study."))
    form = ParticipationForm(request.POST)
    if form.is_valid():
        try:
            services.record_participation(invitation, form.cleaned_data["outcome"], acting_user=request.user)
        except PanelError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Recorded for %(code)s.") % {"code": invitation.selection.code})
    else:
        messages.error(request, _("Choose whether the person took part or did not come."))
    url = reverse("pilots:draw_invitations", args=[draw.pk])
    page = request.POST.get("page", "")
    return redirect(f"{url}?page={page}" if page.isdigit() else url)


# ------------------------------------------------------------------------------------ the firm's view


@login_required
def draw_participants(request, pk: int):
    """The firm's view: pseudonymous codes, invitation status and only what each person shares."""
    draw = _draw_for(request, pk, "pilots.view_draw_participants")
    selections = (
        draw.selections.filter(removed_at__isnull=True)
        .select_related("membership__person__profile", "membership__person__user", "invitation")
        .order_by("rank")
    )
    page = paginate(request, selections)
    rows = [services.participant_row(selection) for selection in page]
    services.record_view(draw, "participants", acting_user=request.user, page=page.number)
    context = {"draw": draw, "page_obj": page, "rows": rows}
    return render(request, "pilots/invitations/draw_participants.html", context)

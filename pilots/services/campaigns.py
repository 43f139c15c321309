"""Test campaigns from request to close: saving a draft, submitting it, the lab's review, recruitment and the
rest of the lifecycle, and a participant's acceptance of the campaign's terms. Every move goes through
``move_campaign``, which refuses what ``Campaign.TRANSITIONS`` does not allow."""

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Person, User

from ..errors import CampaignError, ScreenerError
from ..models import Campaign, CampaignReview, Draw, ParticipantAgreement
from ..rules import runs_campaign
from . import campaign_access
from .draws import Spec, draw_sample

# First path segments under /campaigns/<slug>/ and /campaigns/ that other pages use.
RESERVED_SLUGS = {
    "reviews",
    "new",
    "bookings",
    "answer",
    "sessions",
    "questionnaires",
    "results",
    "competition",
    "ideas",
    "jury",
}
# The lab's staff may still correct a campaign until recruitment starts.
STAFF_EDITABLE = {
    Campaign.Status.DRAFT,
    Campaign.Status.SUBMITTED,
    Campaign.Status.IN_REVIEW,
    Campaign.Status.APPROVED,
}
Status = Campaign.Status


def unique_slug(title: str, *, exclude_pk=None) -> str:
    """A web address from the title, never one of the site's fixed words nor another campaign's."""
    base = slugify(title)[:70].strip("-") or "campaign"
    taken = set(
        Campaign.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True)
    )
    slug, n = base, 1
    while slug in taken or slug in RESERVED_SLUGS:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _label(status: str) -> str:
    return str(Status(status).label)


def _is_lab_staff(user: User, campaign: Campaign) -> bool:
    return bool(user is not None and (user.is_superuser or runs_campaign(user, campaign)))


# ----------------------------------------------------------------------------------- drafts


@transaction.atomic
def save_campaign(
    campaign: Campaign, *, required_purposes=None, partners=None, acting_user: User
) -> Campaign:
    """Create or edit a campaign request; the requester edits drafts only, the lab's staff until
    recruitment."""
    creating = campaign.pk is None
    if not creating:
        current = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
        allowed = STAFF_EDITABLE if _is_lab_staff(acting_user, current) else Campaign.EDITABLE
        if current.status not in allowed:
            raise CampaignError(
                _(
                    "This campaign is “%(status)s”: it can no longer be edited, because participants "
                    "were promised what it says now."
                )
                % {"status": _label(current.status)}
                if current.status not in STAFF_EDITABLE
                else _(
                    "This campaign is “%(status)s”: only the living lab can change it now. Ask the lab to "
                    "request changes if something must be corrected."
                )
                % {"status": _label(current.status)}
            )
        # The lifecycle fields are the services' business, never the form's.
        for field in ("status", "status_changed_at", "submitted_at", "reviewer", "created_by"):
            setattr(campaign, field, getattr(current, field))
    else:
        campaign.status = Status.DRAFT
        campaign.created_by = acting_user
    if not campaign.slug or campaign.slug in RESERVED_SLUGS:
        campaign.slug = unique_slug(campaign.title, exclude_pk=campaign.pk)
    campaign.save()
    if required_purposes is not None:
        campaign.required_purposes.set(required_purposes)
    if partners is not None:
        campaign.partners.set(partners)
    audit.record(
        "pilots.campaign.create" if creating else "pilots.campaign.edit",
        actor=acting_user,
        obj=campaign,
        organisation=campaign.requested_by,
        data={"status": campaign.status, "lab": campaign.lab_id},
    )
    return campaign


# -------------------------------------------------------------------------------- the guard


def move_campaign(
    campaign: Campaign, to_status: str, *, acting_user: User, verb: str | None = None, data=None, **fields
) -> Campaign:
    """Move a campaign to ``to_status`` if its lifecycle allows it, under a row lock; refuse otherwise."""
    with transaction.atomic():
        current = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
        if not current.can_move_to(to_status):
            raise CampaignError(
                _("This campaign is “%(current)s”: it cannot become “%(wanted)s”.")
                % {"current": _label(current.status), "wanted": _label(to_status)}
            )
        old = current.status
        now = timezone.now()
        Campaign.objects.filter(pk=current.pk).update(
            status=to_status, status_changed_at=now, updated_at=now, **fields
        )
        audit.record(
            f"pilots.campaign.{verb or to_status}",
            actor=acting_user,
            obj=current,
            organisation=current.lab,
            data={"from": old, "to": to_status, **(data or {})},
        )
    campaign.refresh_from_db()
    return campaign


def _problems_before_submission(campaign: Campaign) -> list[str]:
    problems = []
    if not campaign.methods:
        problems.append(_("Choose at least one method."))
    if campaign.panel_id is None:
        problems.append(_("Choose the panel to recruit from."))
    if not campaign.required_purposes.exists():
        problems.append(_("Choose the consent purposes participants must have given."))
    if campaign.nda_required and not campaign.confidentiality_terms.strip():
        problems.append(_("Say what participants must keep confidential, since an NDA applies."))
    return problems


def submit_campaign(campaign: Campaign, *, acting_user: User) -> Campaign:
    """Send a draft to the living lab; its coordinators are told by e-mail."""
    from ..tasks.campaigns import send_campaign_submitted

    problems = _problems_before_submission(campaign)
    if problems:
        raise CampaignError(
            _("The request is not complete yet: %(problems)s") % {"problems": " ".join(problems)}
        )
    with transaction.atomic():
        campaign = move_campaign(
            campaign, Status.SUBMITTED, acting_user=acting_user, verb="submit", submitted_at=timezone.now()
        )
        send_campaign_submitted.delay_on_commit(campaign.pk)
    return campaign


# ------------------------------------------------------------------------------------ review


def start_review(campaign: Campaign, *, acting_user: User) -> bool:
    """Claim a submitted campaign for review; False if another reviewer got there first."""
    with transaction.atomic():
        now = timezone.now()
        claimed = Campaign.objects.filter(pk=campaign.pk, status=Status.SUBMITTED).update(
            status=Status.IN_REVIEW, reviewer=acting_user, status_changed_at=now, updated_at=now
        )
        if claimed == 1:
            audit.record(
                "pilots.campaign.start_review",
                actor=acting_user,
                obj=campaign,
                organisation=campaign.lab,
                data={"from": Status.SUBMITTED, "to": Status.IN_REVIEW},
            )
    campaign.refresh_from_db()
    return claimed == 1


DECISION_TARGETS = {
    CampaignReview.Decision.APPROVE: Status.APPROVED,
    CampaignReview.Decision.REQUEST_CHANGES: Status.DRAFT,
    CampaignReview.Decision.REJECT: Status.REJECTED,
}


def decide_review(
    campaign: Campaign, decision: str, checklist: dict, reasons: str, *, acting_user: User
) -> CampaignReview:
    """Approve (every checklist item ticked), request changes or reject (with reasons) a campaign in
    review; the requester is told by e-mail."""
    from ..tasks.campaigns import send_campaign_decision

    if decision not in DECISION_TARGETS:
        raise CampaignError(_("Choose approve, request changes or reject."))
    ticked = {key: bool(checklist.get(key)) for key in CampaignReview.CHECKLIST}
    reasons = (reasons or "").strip()
    if decision == CampaignReview.Decision.APPROVE and not all(ticked.values()):
        missing = [str(label) for key, label in CampaignReview.CHECKLIST.items() if not ticked[key]]
        raise CampaignError(
            _("To approve, every item of the checklist must hold. Not ticked: %(items)s")
            % {"items": " ".join(missing)}
        )
    if decision != CampaignReview.Decision.APPROVE and not reasons:
        raise CampaignError(_("Give the reasons: the requester needs them to act."))
    with transaction.atomic():
        current = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
        if current.status != Status.IN_REVIEW:
            raise CampaignError(
                _("This campaign is “%(current)s”: only a campaign in review can be decided on.")
                % {"current": _label(current.status)}
            )
        review = CampaignReview.objects.create(
            campaign=current, decision=decision, checklist=ticked, reasons=reasons, reviewer=acting_user
        )
        send_campaign_decision.delay_on_commit(review.pk)
        move_campaign(
            campaign,
            DECISION_TARGETS[decision],
            acting_user=acting_user,
            verb=decision,
            data={"checklist": ticked, "review": review.pk},
        )
    return review


def fast_track_campaign(campaign: Campaign, *, acting_user: User) -> CampaignReview:
    """Approve a submitted campaign that needs no review (no health, minors, vulnerable people or
    recordings)."""
    from ..tasks.campaigns import send_campaign_decision

    with transaction.atomic():
        current = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
        if current.needs_review:
            raise CampaignError(
                _(
                    "This campaign involves health data, minors, vulnerable people or recordings: "
                    "it must be reviewed before recruitment."
                )
            )
        if current.status != Status.SUBMITTED:
            raise CampaignError(
                _("This campaign is “%(current)s”: only a submitted campaign can be fast-tracked.")
                % {"current": _label(current.status)}
            )
        review = CampaignReview.objects.create(
            campaign=current, decision=CampaignReview.Decision.FAST_TRACK, reviewer=acting_user
        )
        send_campaign_decision.delay_on_commit(review.pk)
        move_campaign(
            campaign, Status.APPROVED, acting_user=acting_user, verb="fast_track", data={"review": review.pk}
        )
    return review


# --------------------------------------------------------------------------------- lifecycle


def involves_text(campaign: Campaign) -> str:
    """What the invitation says taking part involves: the expectation statement in short."""
    parts = [
        campaign.expect_activities,
        _("Time: %(time)s") % {"time": campaign.expect_time},
        _("What you get: %(benefits)s") % {"benefits": campaign.expect_benefits},
        _("What you do not get: %(not)s") % {"not": campaign.expect_not},
        _("Risks: %(risks)s") % {"risks": campaign.expect_risks},
    ]
    return "\n".join(p for p in parts if p.strip())


def start_recruiting(campaign: Campaign, *, acting_user: User, seed: int | None = None) -> Draw:
    """Draw the campaign's participants from its panel and open recruitment; refuse with every reason
    when the screener, quotas or panel cannot give them."""
    with transaction.atomic():
        current = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
        if not current.can_move_to(Status.RECRUITING):
            raise CampaignError(
                _("This campaign is “%(current)s”: it cannot become “%(wanted)s”.")
                % {"current": _label(current.status), "wanted": _label(Status.RECRUITING)}
            )
        if current.panel is None:
            raise CampaignError(_("Choose the panel to recruit from before recruiting."))
        draw = current.draws.exclude(status=Draw.Status.CANCELLED).order_by("-drawn_at").first()
        if draw is None:
            spec = Spec(
                conditions=current.conditions or {},
                strata=list(current.strata or []),
                quotas=list(current.quotas or []),
                size=current.target_participants,
                purposes=list(current.required_purposes.all()),
            )
            try:
                draw = draw_sample(
                    current.panel,
                    spec,
                    title=current.title,
                    involves=involves_text(current),
                    acting_user=acting_user,
                    seed=seed,
                    requested_by=current.requested_by,
                )
            except ScreenerError as error:
                raise CampaignError(" ".join([str(error.message), *map(str, error.problems)])) from None
            Draw.objects.filter(pk=draw.pk).update(campaign=current)
            draw.campaign = current
        move_campaign(
            campaign,
            Status.RECRUITING,
            acting_user=acting_user,
            verb="start_recruiting",
            data={"draw": draw.pk},
        )
    return draw


def start_running(campaign: Campaign, *, acting_user: User) -> Campaign:
    """Recruitment is done: sessions and questionnaires run."""
    return move_campaign(campaign, Status.RUNNING, acting_user=acting_user, verb="start_running")


def start_analysing(campaign: Campaign, *, acting_user: User) -> Campaign:
    """Fieldwork is over: the lab analyses the results."""
    return move_campaign(campaign, Status.ANALYSING, acting_user=acting_user, verb="start_analysing")


def close_campaign(campaign: Campaign, *, acting_user: User) -> Campaign:
    """The report is out: the campaign is closed."""
    return move_campaign(campaign, Status.CLOSED, acting_user=acting_user, verb="close")


def withdraw_campaign(campaign: Campaign, *, acting_user: User) -> Campaign:
    """The requester (or the lab) stops the campaign before it runs."""
    return move_campaign(campaign, Status.WITHDRAWN, acting_user=acting_user, verb="withdraw")


# Which service takes a campaign to which status (the lifecycle buttons of the detail page).
MOVES = {
    Status.SUBMITTED: submit_campaign,
    Status.RECRUITING: start_recruiting,
    Status.RUNNING: start_running,
    Status.ANALYSING: start_analysing,
    Status.CLOSED: close_campaign,
    Status.WITHDRAWN: withdraw_campaign,
}


# ------------------------------------------------------------------------------ participants


@transaction.atomic
def accept_campaign_terms(
    campaign: Campaign, person: Person, nda_accepted: bool, *, acting_user: User
) -> ParticipantAgreement:
    """A participant accepts what taking part involves and the IP and confidentiality terms, as worded
    now."""
    if campaign.status not in Campaign.ACTIVE:
        raise CampaignError(_("This campaign is not running: taking part is closed."))
    if campaign_access.invitation_for(campaign, person) is None:
        raise CampaignError(_("Only people who accepted an invitation to this campaign can take part."))
    if campaign.nda_required and not nda_accepted:
        raise CampaignError(
            _(
                "This campaign needs your confidentiality agreement: tick the box to accept it, "
                "or do not take part."
            )
        )
    agreement, created = ParticipantAgreement.objects.select_for_update().get_or_create(
        campaign=campaign,
        person=person,
        defaults={
            "terms_sha256": campaign.terms_sha256(),
            "nda_accepted": bool(nda_accepted),
            "accepted_by": acting_user,
        },
    )
    if not created:
        ParticipantAgreement.objects.filter(pk=agreement.pk).update(
            terms_sha256=campaign.terms_sha256(),
            nda_accepted=bool(nda_accepted),
            accepted_by=acting_user,
            accepted_at=timezone.now(),
        )
        agreement.refresh_from_db()
    audit.record(
        "pilots.agreement.accept",
        actor=acting_user,
        obj=agreement,
        organisation=campaign.lab,
        data={"campaign": campaign.pk, "terms_sha256": agreement.terms_sha256, "nda": agreement.nda_accepted},
    )
    return agreement

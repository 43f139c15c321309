"""Who takes part in a campaign: people who accepted an invitation from one of its draws. Sessions,
questionnaires and competitions ask here before letting someone book, answer or submit."""

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab.models import ConsentRecord, Person

from ..errors import CampaignError
from ..models import Campaign, Invitation, ParticipantAgreement

# Why a booking is cancelled when its person withdrew a consent the campaign relies on.
WITHDRAWN_CONSENT = gettext_lazy("The participant withdrew a consent this campaign relies on.")


def invitation_for(campaign: Campaign, person: Person) -> Invitation | None:
    """The person's accepted invitation to ``campaign``, or None."""
    return (
        Invitation.objects.filter(
            person=person, selection__draw__campaign=campaign, status=Invitation.Status.ACCEPTED
        )
        .select_related("selection")
        .order_by("-responded_at")
        .first()
    )


def ever_invited(campaign: Campaign, person: Person | None) -> bool:
    """Whether the person was ever invited to ``campaign``, whatever became of the invitation. Pages for
    participants answer "not found" to everyone else, so that they do not reveal which campaigns exist."""
    return (
        person is not None
        and Invitation.objects.filter(person=person, selection__draw__campaign=campaign).exists()
    )


def participant_code(campaign: Campaign, person: Person) -> str | None:
    """The pseudonymous code the person goes by in ``campaign`` (their draw selection's code)."""
    invitation = invitation_for(campaign, person)
    return invitation.selection.code if invitation is not None else None


def has_agreed(campaign: Campaign, person: Person) -> bool:
    """Whether the person accepted the campaign's expectation statement and terms as they read now."""
    return ParticipantAgreement.objects.filter(
        campaign=campaign, person=person, terms_sha256=campaign.terms_sha256()
    ).exists()


def consents_to_campaign(campaign: Campaign, person: Person) -> bool:
    """Whether the person holds an active consent to every purpose the campaign relies on."""
    needed = set(campaign.required_purposes.values_list("pk", flat=True))
    if not needed:
        return True
    held = set(
        ConsentRecord.objects.active()
        .filter(Q(person=person), purpose_id__in=needed)
        .values_list("purpose_id", flat=True)
    )
    return needed <= held


def require_participant(campaign: Campaign, person: Person | None) -> Invitation:
    """The person's accepted invitation, or CampaignError saying what is missing: taking part, the terms,
    a consent, or a campaign that is not (or no longer) running."""
    if campaign.status not in Campaign.ACTIVE:
        raise CampaignError(_("This campaign is not running: taking part is closed."))
    invitation = invitation_for(campaign, person) if person is not None else None
    if invitation is None:
        raise CampaignError(_("Only people who accepted an invitation to this campaign can take part."))
    if not consents_to_campaign(campaign, person):
        raise CampaignError(
            _("You withdrew a consent this campaign relies on, so you no longer take part in it.")
        )
    if not has_agreed(campaign, person):
        raise CampaignError(_("Please read and accept what taking part involves first."))
    return invitation

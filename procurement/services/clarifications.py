"""Clarifications: bidders ask privately before the question deadline; the procurer answers to every
registered bidder at the same moment, without saying who asked, and everyone receives the same e-mail."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, User

from ..errors import ProcurementError
from ..models import Clarification, Consortium, ConsortiumMember, Phase, Procurement, Registration
from ..rules import FIRM_KINDS, firm_ids
from ..tasks.clarifications import send_clarification_answers
from .lifecycle import require_rules


def registered_bidders(procurement: Procurement) -> QuerySet[Organisation]:
    """Organisations registered for the call, and every accepted member of a consortium still bidding."""
    registered = Registration.objects.filter(procurement=procurement, stage=Registration.Stage.CALL).values(
        "organisation_id"
    )
    in_consortia = (
        ConsortiumMember.objects.filter(
            consortium__procurement=procurement, status=ConsortiumMember.Status.ACCEPTED
        )
        .exclude(consortium__status=Consortium.Status.DISSOLVED)
        .values("organisation_id")
    )
    return Organisation.objects.filter(Q(pk__in=registered) | Q(pk__in=in_consortia))


def is_registered_bidder(procurement: Procurement, organisation: Organisation) -> bool:
    return registered_bidders(procurement).filter(pk=organisation.pk).exists()


def _may_answer(user: User, procurement: Procurement) -> None:
    if not user.has_perm("procurement.answer_clarification", procurement):
        raise ProcurementError(_("Only the buying authority's procurers answer clarifications."))
    require_rules(user, procurement, procurement.buyer)


def _refuse_unless_phase_takes_answers(phase: Phase, now) -> None:
    if phase.status != Phase.Status.OPEN or (phase.bid_deadline is not None and now >= phase.bid_deadline):
        raise ProcurementError(
            _("%(phase)s no longer takes bids: an answer published now could not change any bid.")
            % {"phase": phase}
        )


@transaction.atomic
def ask_clarification(
    phase: Phase, organisation: Organisation, question: str, *, acting_user: User
) -> Clarification:
    """Ask the authority a question privately, for a registered bidder, before the question deadline."""
    procurement = phase.procurement
    if organisation.kind not in FIRM_KINDS or organisation.pk not in firm_ids(acting_user):
        raise ProcurementError(_("Questions are asked for a firm or research organisation you represent."))
    require_rules(acting_user, procurement, organisation)
    if not is_registered_bidder(procurement, organisation):
        raise ProcurementError(
            _(
                "Register “%(name)s” as a bidder for this call first: answers go to every registered bidder, "
                "so that everyone who may bid knows the same."
            )
            % {"name": organisation.name}
        )
    if not question.strip():
        raise ProcurementError(_("Write your question."))
    # Locked so that the phase cannot close or move its deadline while the question goes in.
    phase = Phase.objects.select_for_update(no_key=True).get(pk=phase.pk)
    now = timezone.now()
    if not phase.accepts_questions(now):
        if phase.status == Phase.Status.OPEN and phase.question_deadline is not None:
            raise ProcurementError(
                _("Questions for %(phase)s closed on %(deadline)s (%(zone)s).")
                % {
                    "phase": phase,
                    "deadline": procurement.local(phase.question_deadline).strftime("%Y-%m-%d %H:%M:%S"),
                    "zone": procurement.time_zone,
                }
            )
        raise ProcurementError(_("%(phase)s is not open for questions.") % {"phase": phase})
    clarification = Clarification.objects.create(
        phase=phase, asked_by=acting_user, asking_organisation=organisation, question=question.strip()
    )
    audit.record(
        "procurement.clarification.ask",
        actor=acting_user,
        obj=clarification,
        organisation=organisation,
        data={"procurement": procurement.pk, "phase": phase.pk},
    )
    return clarification


@transaction.atomic
def answer_clarification(
    clarification: Clarification,
    public_question: str,
    answer: str,
    *,
    acting_user: User,
    publish: bool = True,
) -> Clarification:
    """Answer a question; publish it to every registered bidder now, or keep it for a later batch."""
    phase = clarification.phase
    procurement = phase.procurement
    _may_answer(acting_user, procurement)
    if not answer.strip():
        raise ProcurementError(_("Write the answer."))
    clarification = Clarification.objects.select_for_update(no_key=True).get(pk=clarification.pk)
    if clarification.status != Clarification.Status.ASKED:
        raise ProcurementError(
            _("This question is already “%(status)s”.") % {"status": clarification.get_status_display()}
        )
    now = timezone.now()
    if publish:
        _refuse_unless_phase_takes_answers(Phase.objects.get(pk=phase.pk), now)
    clarification.public_question = public_question.strip() or clarification.question
    clarification.answer = answer.strip()
    clarification.answered_by = acting_user
    fields = ["public_question", "answer", "answered_by"]
    if publish:
        clarification.status = Clarification.Status.PUBLISHED
        clarification.published_at = now
        fields += ["status", "published_at"]
        send_clarification_answers.delay_on_commit([clarification.pk])
    clarification.save(update_fields=fields)
    audit.record(
        "procurement.clarification.publish" if publish else "procurement.clarification.answer",
        actor=acting_user,
        obj=clarification,
        organisation=procurement.buyer,
        data={"procurement": procurement.pk, "phase": phase.pk, "published": publish},
    )
    return clarification


@transaction.atomic
def publish_clarifications(phase: Phase, *, acting_user: User) -> list[Clarification]:
    """Publish every answered, unpublished question of ``phase`` at one and the same moment."""
    procurement = phase.procurement
    _may_answer(acting_user, procurement)
    now = timezone.now()
    _refuse_unless_phase_takes_answers(Phase.objects.get(pk=phase.pk), now)
    ready = list(
        Clarification.objects.select_for_update(no_key=True)
        .filter(phase=phase, status=Clarification.Status.ASKED)
        .exclude(answer="")
        .order_by("pk")
    )
    if not ready:
        raise ProcurementError(
            _("No answered question is waiting to be published in %(phase)s.") % {"phase": phase}
        )
    ids = [c.pk for c in ready]
    Clarification.objects.filter(pk__in=ids, status=Clarification.Status.ASKED).update(
        status=Clarification.Status.PUBLISHED, published_at=now
    )
    send_clarification_answers.delay_on_commit(ids)
    audit.record(
        "procurement.clarification.publish_batch",
        actor=acting_user,
        obj=phase,
        organisation=procurement.buyer,
        data={"procurement": procurement.pk, "clarifications": ids},
    )
    for clarification in ready:
        clarification.status, clarification.published_at = Clarification.Status.PUBLISHED, now
    return ready


@transaction.atomic
def decline_clarification(clarification: Clarification, reason: str, *, acting_user: User) -> Clarification:
    """Decline to answer a question (out of the call's scope, a duplicate), telling the asker why."""
    procurement = clarification.phase.procurement
    _may_answer(acting_user, procurement)
    if not reason.strip():
        raise ProcurementError(_("Tell the bidder why the question is not answered."))
    clarification = Clarification.objects.select_for_update(no_key=True).get(pk=clarification.pk)
    if clarification.status != Clarification.Status.ASKED:
        raise ProcurementError(
            _("This question is already “%(status)s”.") % {"status": clarification.get_status_display()}
        )
    # A declined question is never published: only its asker sees the reason.
    clarification.status = Clarification.Status.DECLINED
    clarification.decline_reason = reason.strip()
    clarification.answered_by = acting_user
    clarification.save(update_fields=["status", "decline_reason", "answered_by"])
    audit.record(
        "procurement.clarification.decline",
        actor=acting_user,
        obj=clarification,
        organisation=procurement.buyer,
        data={"procurement": procurement.pk, "phase": clarification.phase_id},
    )
    return clarification

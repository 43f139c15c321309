"""Every state change of the core domain. Views, the admin, commands and tasks call these functions."""

from collections.abc import Iterable
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, signals
from .errors import ConsentError, GroundRulesRequired, MembershipError
from .models import (
    ROLES_BY_KIND,
    ConsentDocumentVersion,
    ConsentPurpose,
    ConsentRecord,
    DocumentVersion,
    GroundRulesAcceptance,
    GroundRulesVersion,
    Guardianship,
    Membership,
    Organisation,
    Person,
    User,
    VersionStatus,
    text_hash,
)
from .tasks import send_consent_receipt

# ---------------------------------------------------------------------------------------------- people


@transaction.atomic
def register_person(user: User, *, full_name: str, birth_date: date | None = None) -> Person:
    """Create the data subject behind a new account (idempotent for the same user)."""
    person, created = Person.objects.get_or_create(
        user=user, defaults={"full_name": full_name or user.email, "birth_date": birth_date}
    )
    if created:
        audit.record("livinglab.person.register", actor=user, obj=person)
    return person


@transaction.atomic
def enrol_person(*, full_name: str, birth_date: date | None, acting_user: User) -> Person:
    """Record a person without a login (a minor, or someone enrolled on paper)."""
    person = Person.objects.create(full_name=full_name, birth_date=birth_date)
    audit.record("livinglab.person.enrol", actor=acting_user, obj=person)
    return person


@transaction.atomic
def add_guardian(ward: Person, *, guardian: Person, relationship: str, acting_user: User) -> Guardianship:
    """Make ``guardian`` responsible for the consent of ``ward``."""
    if ward.pk == guardian.pk:
        raise ConsentError(_("A person cannot be their own guardian."))
    link, created = Guardianship.objects.get_or_create(
        ward=ward, guardian=guardian, defaults={"relationship": relationship}
    )
    if created:
        audit.record(
            "livinglab.guardianship.add",
            actor=acting_user,
            obj=ward,
            data={"guardian": guardian.pk, "relationship": relationship},
        )
    return link


# ---------------------------------------------------------------------------------------- organisations


@transaction.atomic
def save_reference_data(obj, *, acting_user: User):
    """Create or update reference data edited by staff as a whole form: an organisation, a linked-enterprise
    group, a consent purpose, a ground rules set or consent document (title and scope)."""
    created = obj.pk is None
    obj.full_clean()
    obj.save()
    audit.record(
        f"livinglab.{obj._meta.model_name}." + ("create" if created else "update"),
        actor=acting_user,
        obj=obj,
        organisation=obj if isinstance(obj, Organisation) else None,
    )
    return obj


@transaction.atomic
def add_membership(user: User, organisation: Organisation, role: str, *, acting_user: User) -> Membership:
    """Give ``user`` a role in ``organisation``; the role must fit the organisation's kind."""
    if role not in ROLES_BY_KIND[organisation.kind]:
        raise MembershipError(_("A %(kind)s has no such role.") % {"kind": organisation.get_kind_display()})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, organisation=organisation, role=role)
    except IntegrityError:
        raise MembershipError(_("%(user)s already has this role here.") % {"user": user}) from None
    audit.record(
        "livinglab.membership.add",
        actor=acting_user,
        obj=membership,
        organisation=organisation,
        data={"user": user.pk, "role": role},
    )
    return membership


@transaction.atomic
def end_membership(membership: Membership, *, acting_user: User) -> bool:
    """End a membership; False if it had already ended."""
    ended = Membership.objects.filter(pk=membership.pk, ended_at__isnull=True).update(ended_at=timezone.now())
    if ended:
        audit.record(
            "livinglab.membership.end",
            actor=acting_user,
            obj=membership,
            organisation=membership.organisation,
            data={"user": membership.user_id},
        )
    return ended == 1


# ------------------------------------------------------------------------- versioned documents (shared)


def _parent_field(version: DocumentVersion) -> str:
    return "rules" if isinstance(version, GroundRulesVersion) else "document"


@transaction.atomic
def save_draft_version(version: DocumentVersion, *, acting_user: User) -> DocumentVersion:
    """Create or edit a draft version of ground rules or of a consent document; published text is frozen."""
    model = type(version)
    parent = _parent_field(version)
    if version.pk is not None:
        locked = model.objects.select_for_update().get(pk=version.pk)
        if not locked.is_editable:
            raise ConsentError(_("A published version cannot be changed; create a new version instead."))
    else:
        siblings = model.objects.filter(**{f"{parent}_id": getattr(version, f"{parent}_id")})
        version.number = (siblings.aggregate(n=Max("number"))["n"] or 0) + 1
        version.status = VersionStatus.DRAFT
    version.save()
    audit.record(
        f"livinglab.{model._meta.model_name}.save_draft",
        actor=acting_user,
        obj=version,
        data={"number": version.number},
    )
    return version


@transaction.atomic
def publish_version(version: DocumentVersion, *, acting_user: User) -> DocumentVersion:
    """Publish a draft: freeze its text and fingerprint, retire the version it replaces."""
    model = type(version)
    parent = _parent_field(version)
    parent_id = getattr(version, f"{parent}_id")
    # Lock every version of the document (consistent order) so two publishers cannot both win.
    siblings = list(model.objects.select_for_update().filter(**{f"{parent}_id": parent_id}).order_by("pk"))
    locked = next(v for v in siblings if v.pk == version.pk)
    if locked.status != VersionStatus.DRAFT:
        raise ConsentError(
            _("Only a draft can be published; this version is already %(status)s.")
            % {"status": locked.get_status_display()}
        )
    if isinstance(locked, ConsentDocumentVersion) and not locked.purposes.exists():
        raise ConsentError(_("Name at least one purpose before publishing a consent document."))
    model.objects.filter(pk__in=[v.pk for v in siblings if v.status == VersionStatus.PUBLISHED]).update(
        status=VersionStatus.RETIRED
    )
    now = timezone.now()
    model.objects.filter(pk=locked.pk).update(
        status=VersionStatus.PUBLISHED, published_at=now, text_sha256=text_hash(locked.text)
    )
    locked.refresh_from_db()
    audit.record(
        f"livinglab.{model._meta.model_name}.publish",
        actor=acting_user,
        obj=locked,
        data={"number": locked.number, "sha256": locked.text_sha256},
    )
    return locked


# ---------------------------------------------------------------------------------------- ground rules


def pending_ground_rules(user: User, scope=None, *, organisation: Organisation | None = None):
    """Current ground rules versions that apply to ``scope`` and that ``user`` has not accepted yet."""
    accepted = GroundRulesAcceptance.objects.filter(user=user, organisation=organisation).values("version_id")
    return GroundRulesVersion.objects.for_scope(scope).exclude(pk__in=accepted).order_by("rules__title")


def require_ground_rules(user: User, scope=None, *, organisation: Organisation | None = None) -> None:
    """Guard for any contact, bid or campaign action: raise GroundRulesRequired while any applicable
    current version is not accepted (a newly published version voids earlier acceptances)."""
    pending = list(pending_ground_rules(user, scope, organisation=organisation))
    if pending:
        names = ", ".join(str(v) for v in pending)
        raise GroundRulesRequired(
            _("Please accept these ground rules first: %(names)s.") % {"names": names}, pending
        )


@transaction.atomic
def accept_ground_rules(
    version: GroundRulesVersion,
    *,
    organisation: Organisation | None,
    acting_user: User,
    ip_address: str | None = None,
    user_agent: str = "",
    shown_sha256: str | None = None,
) -> GroundRulesAcceptance:
    """Record that ``acting_user`` accepts ``version`` (for ``organisation``). Idempotent."""
    version = GroundRulesVersion.objects.select_for_update(no_key=True).get(pk=version.pk)
    if version.status != VersionStatus.PUBLISHED:
        raise GroundRulesRequired(
            _("These ground rules have been replaced by a newer version; please read the new one."), []
        )
    if shown_sha256 is not None and shown_sha256 != version.text_sha256:
        raise GroundRulesRequired(_("The text changed while you were reading it; please read it again."), [])
    if organisation is not None and not acting_user.has_perm("livinglab.accept_ground_rules", organisation):
        raise MembershipError(_("You can only accept on behalf of an organisation you belong to."))
    acceptance, created = GroundRulesAcceptance.objects.get_or_create(
        version=version,
        user=acting_user,
        organisation=organisation,
        defaults={
            "text_sha256": version.text_sha256,
            "ip_address": ip_address,
            "user_agent": user_agent[:400],
        },
    )
    if created:
        audit.record(
            "livinglab.groundrules.accept",
            actor=acting_user,
            obj=version,
            organisation=organisation,
            data={"acceptance": acceptance.pk, "sha256": version.text_sha256},
        )
    return acceptance


# --------------------------------------------------------------------------------------------- consent


def has_active_consent(person: Person, purpose: ConsentPurpose | str, scope=None) -> bool:
    """The one question every feature asks: may we process ``person``'s data for ``purpose`` here?"""
    code = purpose if isinstance(purpose, str) else purpose.code
    return ConsentRecord.objects.active().for_scope(scope).filter(person=person, purpose__code=code).exists()


@transaction.atomic
def give_consent(
    person: Person,
    version: ConsentDocumentVersion,
    purposes: Iterable[ConsentPurpose],
    *,
    method: str,
    acting_user: User,
    explicit_purposes: Iterable[ConsentPurpose] = (),
    guardian: Person | None = None,
    evidence: dict | None = None,
    send_receipt: bool = True,
) -> list[ConsentRecord]:
    """Record consent to each of ``purposes`` under ``version``. A minor's consent must come from a
    guardian; special-category purposes (health) need explicit consent. Already active ones are kept.
    A receipt is e-mailed unless ``send_receipt`` is False (it stays downloadable from the consent page)."""
    version = ConsentDocumentVersion.objects.select_for_update(no_key=True).get(pk=version.pk)
    purposes = list(purposes)
    if not purposes:
        raise ConsentError(_("Choose at least one purpose to consent to."))
    if version.status != VersionStatus.PUBLISHED:
        raise ConsentError(_("This consent form has been replaced by a newer version; please read it again."))
    offered = set(version.purposes.values_list("pk", flat=True))
    if any(p.pk not in offered for p in purposes):
        raise ConsentError(_("This consent form does not ask for one of the chosen purposes."))
    explicit = {p.pk for p in explicit_purposes}
    missing_explicit = [p.name for p in purposes if p.special_category and p.pk not in explicit]
    if missing_explicit:
        raise ConsentError(
            _("Consent to %(purposes)s must be given explicitly: tick the separate confirmation.")
            % {"purposes": ", ".join(missing_explicit)}
        )
    relationship = ""
    if person.needs_guardian_consent():
        if guardian is None:
            raise ConsentError(
                _("%(name)s is under the age of digital consent: a parent or guardian must consent.")
                % {"name": person.full_name}
            )
        link = Guardianship.objects.filter(ward=person, guardian=guardian).first()
        if link is None:
            raise ConsentError(_("Only a registered guardian can consent for %(name)s.") % {"name": person})
        relationship = link.relationship
    elif guardian is not None:
        raise ConsentError(
            _("%(name)s is old enough to consent for themselves.") % {"name": person.full_name}
        )

    records = []
    for purpose in purposes:
        record, created = ConsentRecord.objects.get_or_create(
            person=person,
            purpose=purpose,
            version=version,
            withdrawn_at__isnull=True,
            defaults={
                "text_sha256": version.text_sha256,
                "method": method,
                "explicit": purpose.pk in explicit,
                "given_by": acting_user,
                "guardian": guardian,
                "guardian_relationship": relationship,
                "evidence": evidence or {},
            },
        )
        records.append(record)
        if created:
            audit.record(
                "livinglab.consent.give",
                actor=acting_user,
                obj=record,
                data={
                    "purpose": purpose.code,
                    "version": version.pk,
                    "method": method,
                    "by_guardian": guardian is not None,
                },
            )
            if send_receipt:
                send_consent_receipt.delay_on_commit(record.pk)
    return records


@transaction.atomic
def withdraw_consent(record: ConsentRecord, *, channel: str, acting_user: User) -> bool:
    """Withdraw a consent from now on; False if it was already withdrawn. Features that relied on it
    learn through ``signals.consent_withdrawn`` once the withdrawal is committed."""
    withdrawn = ConsentRecord.objects.filter(pk=record.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now(), withdrawal_channel=channel, withdrawn_by=acting_user
    )
    if withdrawn:
        audit.record(
            "livinglab.consent.withdraw",
            actor=acting_user,
            obj=record,
            data={"purpose": record.purpose.code, "channel": channel},
        )
        transaction.on_commit(lambda: signals.consent_withdrawn.send(ConsentRecord, record_id=record.pk))
    return withdrawn == 1

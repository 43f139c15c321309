"""Co-development projects: a buyer, one or more suppliers and optionally research organisations work
towards goals and milestones under an IP arrangement, share documents, and may launch a B2B test campaign
in which the buyer's staff test the supplier's prototype.

A project starts from an accepted introduction (by one of its two firms or by the cluster staff; the
introduction's outcome “co-development started” is recorded at the same time) or, without one, by the
cluster staff naming the organisations. Only the partners and the cluster staff see a project
(``b2b.view_project``); they change it while it runs (``b2b.manage_project``)."""

import hashlib
import os
from collections.abc import Iterable
from datetime import date

import filetype
from django.core.exceptions import SuspiciousFileOperation
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.text import get_valid_filename, slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab import audit
from livinglab.models import Channel, Organisation, User
from livinglab.policy import CLUSTER_ROLES, FIRM_KINDS, active_memberships, firm_ids, is_platform_admin
from livinglab.services import require_ground_rules

from ..errors import B2BError
from ..models import (
    Introduction,
    IntroductionOutcome,
    Project,
    ProjectDocument,
    ProjectMilestone,
    ProjectPartner,
)
from ..rules import staff

Role = ProjectPartner.Role
Status = Project.Status

# Documents shared between the partners: at most this large, and only these types (found in the content,
# whatever the file's name or declared type says).
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
DOCUMENT_TYPES = {
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (DOCX)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (XLSX)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint (PPTX)",
    "application/vnd.oasis.opendocument.text": "OpenDocument text (ODT)",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet (ODS)",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation (ODP)",
}
# Project web addresses that the project pages use for fixed words.
RESERVED_SLUGS = {"new"}
# Which kinds of organisation may take which role.
ROLE_KINDS = {
    Role.BUYER: FIRM_KINDS,
    Role.SUPPLIER: FIRM_KINDS,
    Role.RESEARCH: {Organisation.Kind.RESEARCH},
}
ROLE_KIND_NAMES = {
    Role.BUYER: gettext_lazy("a firm or a research organisation"),
    Role.SUPPLIER: gettext_lazy("a firm or a research organisation"),
    Role.RESEARCH: gettext_lazy("a research or education organisation"),
}


# ----------------------------------------------------------------------------------------------- reading


def projects_for(user: User):
    """Projects ``user`` may list: every project for the cluster staff, else those of the user's firms."""
    if staff(user):
        return Project.objects.all()
    mine = firm_ids(user)
    if not mine:
        return Project.objects.none()
    return Project.objects.filter(
        pk__in=ProjectPartner.objects.filter(organisation_id__in=mine).values("project")
    )


def may_start_without_introduction(user: User) -> bool:
    """Only the cluster staff start a project that no accepted introduction led to."""
    return staff(user)


def clusters_of(user: User):
    """Cluster organisations that may host a project ``user`` starts: their own (every one for a platform
    admin), in name order."""
    clusters = Organisation.objects.filter(kind=Organisation.Kind.CLUSTER).order_by("name", "pk")
    if is_platform_admin(user):
        return clusters
    mine = {m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES}
    return clusters.filter(pk__in=mine)


def startable_introductions(user: User):
    """Accepted introductions of ``user``'s firms from which no project was started yet."""
    mine = firm_ids(user)
    if not mine:
        return Introduction.objects.none()
    return (
        Introduction.objects.filter(status=Introduction.Status.ACCEPTED, projects__isnull=True)
        .filter(Q(need__organisation_id__in=mine) | Q(offer__organisation_id__in=mine))
        .select_related("need__organisation", "offer__organisation")
        .order_by("-accepted_at", "-pk")
    )


def buyer_of(project: Project) -> ProjectPartner | None:
    """The buyer's partner row (reads ``project.partners``, prefetched or not)."""
    return next((p for p in project.partners.all() if p.role == Role.BUYER), None)


def first_supplier(project: Project) -> ProjectPartner | None:
    """The supplier that joined first: the one a test campaign is requested by."""
    suppliers = [p for p in project.partners.all() if p.role == Role.SUPPLIER]
    return min(suppliers, key=lambda p: (p.joined_at, p.pk), default=None)


def unique_slug(title: str) -> str:
    """A web address from the title, never a fixed word of the project pages nor another project's."""
    base = slugify(title)[:70].strip("-") or "project"
    taken = set(Project.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 1
    while slug in taken or slug in RESERVED_SLUGS:
        n += 1
        slug = f"{base}-{n}"
    return slug


# ------------------------------------------------------------------------------------------------ checks


def _text(value, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise B2BError(_("Write the %(what)s of the project.") % {"what": what})
    return value


def _arrangement(
    *,
    goals: str,
    ip_ownership: str,
    licence_terms: str,
    exclusivity: str,
    exclusivity_until: date | None,
    confidentiality: str,
    started_on: date,
) -> dict:
    """The goals, IP arrangement and confidentiality of a project, checked."""
    if ip_ownership not in Project.Ownership.values:
        raise B2BError(_("Say who owns the results of the project."))
    exclusivity = exclusivity or Project.Exclusivity.NONE
    if exclusivity not in Project.Exclusivity.values:
        raise B2BError(_("Choose the exclusivity the buyer receives, or none."))
    if exclusivity_until is not None and exclusivity == Project.Exclusivity.NONE:
        raise B2BError(
            _(
                "An end date of exclusivity makes no sense without exclusivity: choose one, or leave the "
                "date empty."
            )
        )
    if exclusivity_until is not None and exclusivity_until <= started_on:
        raise B2BError(_("Exclusivity must end after the project starts."))
    return {
        "goals": _text(goals, _("goals")),
        "ip_ownership": ip_ownership,
        "licence_terms": _text(licence_terms, _("licence terms")),
        "exclusivity": exclusivity,
        "exclusivity_until": exclusivity_until,
        "confidentiality": _text(confidentiality, _("confidentiality terms")),
    }


def _check_partner(organisation: Organisation, role: str) -> None:
    if role not in Role.values:
        raise B2BError(
            _("Choose the role of %(organisation)s in the project.") % {"organisation": organisation}
        )
    if organisation.kind not in ROLE_KINDS[role]:
        raise B2BError(
            _("%(organisation)s cannot be the project's %(role)s: that role is for %(kind)s.")
            % {
                "organisation": organisation,
                "role": str(Role(role).label).lower(),
                "kind": ROLE_KIND_NAMES[role],
            }
        )


def _check_partners(partners: list[tuple[Organisation, str]]) -> None:
    """One buyer, at least one supplier, each organisation once, each fit for its role."""
    seen = set()
    for organisation, role in partners:
        _check_partner(organisation, role)
        if organisation.pk in seen:
            raise B2BError(
                _("%(organisation)s is named twice: each organisation takes one role in a project.")
                % {"organisation": organisation}
            )
        seen.add(organisation.pk)
    roles = [role for _organisation, role in partners]
    if roles.count(Role.BUYER) != 1:
        raise B2BError(_("A co-development project has exactly one buyer."))
    if Role.SUPPLIER not in roles:
        raise B2BError(_("A co-development project has at least one supplier."))


def may_manage(user: User, project: Project) -> bool:
    """Whether ``user`` may change ``project`` now: a partner or cluster staff, while it runs."""
    return project.status == Status.ACTIVE and user.has_perm("b2b.manage_project", project)


def _require_manage(user: User, project: Project) -> None:
    if not user.has_perm("b2b.manage_project", project):
        raise B2BError(_("Only the partners and the cluster staff change a project."))
    if project.status != Status.ACTIVE:
        raise B2BError(
            _("This project is “%(status)s”: it can no longer be changed.")
            % {"status": project.get_status_display()}
        )


def _lock(project: Project) -> Project:
    return (
        Project.objects.select_for_update(no_key=True, of=("self",))
        .select_related("broker")
        .get(pk=project.pk)
    )


def _acting_organisation(user: User, project: Project) -> Organisation:
    """The partner ``user`` acts for in ``project``, else the hosting cluster (for the audit trail)."""
    mine = firm_ids(user)
    partner = next((p for p in project.partners.all() if p.organisation_id in mine), None)
    return partner.organisation if partner is not None else project.broker


def _audit(action: str, project: Project, acting_user: User, data: dict) -> None:
    """Record a change to ``project`` for the organisation the user acts for in it."""
    audit.record(
        action,
        actor=acting_user,
        obj=project,
        organisation=_acting_organisation(acting_user, project),
        data=data,
    )


def _create_project(**fields) -> Project:
    """Create the project under a unique web address; a title taken at the same moment gets the next one."""
    for _attempt in range(5):
        fields["slug"] = unique_slug(fields["title"])
        try:
            with transaction.atomic():
                return Project.objects.create(**fields)
        except IntegrityError:
            continue
    raise B2BError(_("Another project took this web address at the same moment; please try again."))


# -------------------------------------------------------------------------------------------- mutations


@transaction.atomic
def start_project(
    *,
    introduction: Introduction | None = None,
    title: str,
    goals: str,
    ip_ownership: str,
    licence_terms: str,
    exclusivity: str,
    exclusivity_until: date | None,
    confidentiality: str,
    started_on: date,
    partners: Iterable[tuple[Organisation, str]] = (),
    broker: Organisation | None = None,
    acting_user: User,
) -> Project:
    """Start a co-development project from an accepted introduction, or (cluster staff) between the named
    buyer, supplier(s) and research organisations; ``partners`` are ``(organisation, role)`` pairs."""
    if not acting_user.has_perm("b2b.start_project"):
        raise B2BError(_("Only member firms and the cluster staff start co-development projects."))
    title = _text(title, _("title"))[:200]
    if started_on is None:
        raise B2BError(_("Give the date the project starts."))
    arrangement = _arrangement(
        goals=goals,
        ip_ownership=ip_ownership,
        licence_terms=licence_terms,
        exclusivity=exclusivity,
        exclusivity_until=exclusivity_until,
        confidentiality=confidentiality,
        started_on=started_on,
    )
    partners = list(partners)
    side = None
    if introduction is not None:
        introduction = (
            Introduction.objects.select_for_update(no_key=True, of=("self",))
            .select_related("need__organisation", "offer__organisation", "broker")
            .get(pk=introduction.pk)
        )
        if not introduction.is_accepted:
            raise B2BError(
                _(
                    "A project starts from an introduction once both firms have accepted it; this one "
                    "is “%(status)s”."
                )
                % {"status": introduction.get_status_display()}
            )
        if not acting_user.has_perm("b2b.record_outcome", introduction):
            raise B2BError(
                _("Only the two firms of the introduction and the cluster staff start its project.")
            )
        existing = Project.objects.filter(introduction=introduction).first()
        if existing is not None:
            raise B2BError(
                _("A project was already started from this introduction: “%(title)s”.")
                % {"title": existing.title}
            )
        if started_on > timezone.localdate():
            raise B2BError(
                _(
                    "Start the project from the introduction once it has started: the start date is "
                    "recorded as the introduction's outcome and cannot be in the future."
                )
            )
        mine = firm_ids(acting_user) & set(introduction.parties())
        if mine and not staff(acting_user):
            side = next(
                o for o in (introduction.need.organisation, introduction.offer.organisation) if o.pk in mine
            )
            require_ground_rules(acting_user, introduction, organisation=side)
        if any(role == Role.BUYER for _organisation, role in partners):
            raise B2BError(
                _("The buyer of a project started from an introduction is the firm that posted the need.")
            )
        partners = [
            (introduction.need.organisation, Role.BUYER),
            (introduction.offer.organisation, Role.SUPPLIER),
            *partners,
        ]
        broker = introduction.broker
    else:
        if not may_start_without_introduction(acting_user):
            raise B2BError(
                _(
                    "A firm starts a project from an accepted introduction; only the cluster staff start one "
                    "without an introduction."
                )
            )
        clusters = clusters_of(acting_user)
        if broker is None:
            broker = clusters.first()
            if broker is None:
                raise B2BError(_("Name the cluster organisation that follows the project."))
        elif not clusters.filter(pk=broker.pk).exists():
            raise B2BError(_("You are not on the staff of %(cluster)s.") % {"cluster": broker})
    _check_partners(partners)
    if introduction is None:
        # A double click on the staff's form: the buyer's row serialises the two, the second is refused.
        buyer = next(organisation for organisation, role in partners if role == Role.BUYER)
        Organisation.objects.select_for_update(no_key=True).filter(pk=buyer.pk).first()
        if Project.objects.filter(
            status=Status.ACTIVE, title__iexact=title, partners__organisation=buyer, partners__role=Role.BUYER
        ).exists():
            raise B2BError(
                _("%(buyer)s already has a running project called “%(title)s”.")
                % {"buyer": buyer, "title": title}
            )
    project = _create_project(
        title=title,
        introduction=introduction,
        broker=broker,
        started_on=started_on,
        status=Status.ACTIVE,
        created_by=acting_user,
        **arrangement,
    )
    ProjectPartner.objects.bulk_create(
        ProjectPartner(project=project, organisation=organisation, role=role)
        for organisation, role in partners
    )
    if introduction is not None:
        from .introductions import record_outcome

        record_outcome(
            introduction,
            kind=IntroductionOutcome.Kind.CODEVELOPMENT,
            occurred_on=started_on,
            note="",
            acting_user=acting_user,
        )
    audit.record(
        "b2b.project.start",
        actor=acting_user,
        obj=project,
        organisation=side or broker,
        data={
            "introduction": introduction.pk if introduction is not None else None,
            "broker": broker.pk,
            "partners": [[organisation.pk, role] for organisation, role in partners],
        },
    )
    return project


@transaction.atomic
def edit_project(
    project: Project,
    *,
    goals: str,
    ip_ownership: str,
    licence_terms: str,
    exclusivity: str,
    exclusivity_until: date | None,
    confidentiality: str,
    acting_user: User,
) -> Project:
    """A partner or the cluster staff change a running project's goals, IP arrangement or confidentiality."""
    project = _lock(project)
    _require_manage(acting_user, project)
    arrangement = _arrangement(
        goals=goals,
        ip_ownership=ip_ownership,
        licence_terms=licence_terms,
        exclusivity=exclusivity,
        exclusivity_until=exclusivity_until,
        confidentiality=confidentiality,
        started_on=project.started_on,
    )
    changed = sorted(name for name, value in arrangement.items() if getattr(project, name) != value)
    if not changed:
        return project
    for name, value in arrangement.items():
        setattr(project, name, value)
    project.save(update_fields=list(arrangement))
    _audit("b2b.project.edit", project, acting_user, {"fields": changed})
    return project


@transaction.atomic
def add_partner(
    project: Project, *, organisation: Organisation, role: str, acting_user: User
) -> ProjectPartner:
    """A research organisation or a further supplier joins a running project."""
    project = _lock(project)
    _require_manage(acting_user, project)
    if role == Role.BUYER:
        raise B2BError(_("A project has one buyer; add research organisations or further suppliers."))
    _check_partner(organisation, role)
    if project.partners.filter(organisation=organisation).exists():
        raise B2BError(
            _("%(organisation)s is already a partner of this project.") % {"organisation": organisation}
        )
    partner = ProjectPartner.objects.create(project=project, organisation=organisation, role=role)
    _audit("b2b.project.add_partner", project, acting_user, {"partner": organisation.pk, "role": role})
    return partner


@transaction.atomic
def remove_partner(project: Project, *, organisation: Organisation, acting_user: User) -> None:
    """A research organisation or a further supplier leaves a running project; the buyer and at least one
    supplier always remain."""
    project = _lock(project)
    _require_manage(acting_user, project)
    partner = project.partners.filter(organisation=organisation).first()
    if partner is None:
        raise B2BError(
            _("%(organisation)s is not a partner of this project.") % {"organisation": organisation}
        )
    if partner.role == Role.BUYER:
        raise B2BError(_("The buyer stays in the project; stop the project instead."))
    if partner.role == Role.SUPPLIER and project.partners.filter(role=Role.SUPPLIER).count() <= 1:
        raise B2BError(
            _("%(organisation)s is the only supplier: a project keeps at least one.")
            % {"organisation": organisation}
        )
    organisation_for_audit = _acting_organisation(acting_user, project)
    partner.delete()
    audit.record(
        "b2b.project.remove_partner",
        actor=acting_user,
        obj=project,
        organisation=organisation_for_audit,
        data={"partner": organisation.pk, "role": partner.role},
    )


@transaction.atomic
def add_milestone(project: Project, *, title: str, due_on: date, acting_user: User) -> ProjectMilestone:
    """A partner or the cluster staff add a milestone to a running project."""
    project = _lock(project)
    _require_manage(acting_user, project)
    title = (title or "").strip()
    if not title:
        raise B2BError(_("Name the milestone."))
    if due_on is None:
        raise B2BError(_("Give the date the milestone is due."))
    title = title[:200]
    if project.milestones.filter(title=title, due_on=due_on).exists():
        raise B2BError(
            _("The project already has the milestone “%(title)s” on that date.") % {"title": title}
        )
    milestone = ProjectMilestone.objects.create(project=project, title=title, due_on=due_on)
    _audit(
        "b2b.project.add_milestone",
        project,
        acting_user,
        {"milestone": milestone.pk, "due_on": due_on.isoformat()},
    )
    return milestone


@transaction.atomic
def complete_milestone(milestone: ProjectMilestone, *, acting_user: User) -> ProjectMilestone:
    """Mark a milestone of a running project done; a second click does not mark it again."""
    milestone = ProjectMilestone.objects.select_related("project__broker").get(pk=milestone.pk)
    project = milestone.project
    _require_manage(acting_user, project)
    now = timezone.now()
    done = ProjectMilestone.objects.filter(pk=milestone.pk, done_at__isnull=True).update(
        done_at=now, done_by=acting_user
    )
    if done != 1:
        raise B2BError(_("“%(title)s” is already marked done.") % {"title": milestone.title})
    milestone.done_at, milestone.done_by = now, acting_user
    _audit("b2b.project.complete_milestone", project, acting_user, {"milestone": milestone.pk})
    return milestone


def check_document(upload) -> tuple[str, str]:
    """Refuse a document that is empty, too large, or whose content is not an accepted type; return a safe
    file name and the content type found in the file (its name and declared type are not trusted)."""
    if upload is None:
        raise B2BError(_("Choose a file to upload."))
    shown = os.path.basename((upload.name or "").replace("\\", "/"))[:150] or _("(unnamed file)")
    size = upload.size or 0
    if size == 0:
        raise B2BError(_("“%(name)s” is empty.") % {"name": shown})
    if size > DOCUMENT_MAX_BYTES:
        raise B2BError(
            _("“%(name)s” is too large (%(size)s); a project document may be at most %(max)s.")
            % {
                "name": shown,
                "size": formats.number_format(size / 1024 / 1024, 1) + " MB",
                "max": formats.number_format(DOCUMENT_MAX_BYTES / 1024 / 1024, 1) + " MB",
            }
        )
    upload.seek(0)
    kind = filetype.guess(upload.read(8192))
    upload.seek(0)
    if kind is None or kind.mime not in DOCUMENT_TYPES:
        raise B2BError(
            _("“%(name)s” is not an accepted file type (%(accepted)s), whatever its name says.")
            % {"name": shown, "accepted": ", ".join(DOCUMENT_TYPES.values())}
        )
    stem = os.path.splitext(shown)[0][:100]
    try:
        stem = get_valid_filename(stem)
    except SuspiciousFileOperation:
        stem = "document"
    return f"{stem}.{kind.extension}", kind.mime


def _sha256(upload) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@transaction.atomic
def upload_document(project: Project, *, title: str, upload, acting_user: User) -> ProjectDocument:
    """A partner or the cluster staff share a document in a running project; it is stored privately with
    its SHA-256."""
    project = _lock(project)
    _require_manage(acting_user, project)
    name, content_type = check_document(upload)
    title = (title or "").strip() or os.path.splitext(name)[0]
    sha256 = _sha256(upload)
    same = project.documents.filter(sha256=sha256).first()
    if same is not None:
        raise B2BError(
            _("This file is already shared in the project, as “%(title)s”.") % {"title": same.title}
        )
    document = ProjectDocument(
        project=project,
        title=title[:200],
        name=name,
        content_type=content_type,
        size=upload.size,
        sha256=sha256,
        uploaded_by=acting_user,
    )
    document.file.save(name, upload, save=False)
    document.save()
    _audit(
        "b2b.project.upload_document",
        project,
        acting_user,
        {"document": document.pk, "sha256": document.sha256, "size": document.size},
    )
    return document


@transaction.atomic
def close_project(project: Project, *, status: str, acting_user: User) -> Project:
    """A partner or the cluster staff close a running project as completed or stopped."""
    project = _lock(project)
    _require_manage(acting_user, project)
    if status not in Project.TRANSITIONS.get(project.status, set()):
        raise B2BError(_("Close the project as completed or as stopped."))
    now = timezone.now()
    if Project.objects.filter(pk=project.pk, status=Status.ACTIVE).update(status=status, ended_at=now) != 1:
        raise B2BError(_("Someone else closed this project at the same moment."))
    project.status, project.ended_at = status, now
    _audit("b2b.project.close", project, acting_user, {"status": status})
    return project


@transaction.atomic
def launch_test_campaign(project: Project, *, acting_user: User):
    """Create the project's B2B test campaign (a draft, hosted by the project's cluster): the buyer's staff
    test the supplier's prototype. A project has at most one."""
    from pilots.models import Campaign, CampaignKind, IdeaOwnership, Maturity, Method
    from pilots.services.campaigns import save_campaign

    project = _lock(project)
    _require_manage(acting_user, project)
    if project.test_campaign_id is not None:
        raise B2BError(
            _("This project already has its test campaign: %(title)s.")
            % {"title": Campaign.objects.get(pk=project.test_campaign_id).title}
        )
    buyer, supplier = buyer_of(project), first_supplier(project)
    if buyer is None or supplier is None:
        raise B2BError(_("A test campaign needs the project's buyer and a supplier."))
    buyer, supplier = buyer.organisation, supplier.organisation
    names = {"buyer": buyer.name, "supplier": supplier.name, "project": project.title}
    campaign = save_campaign(
        Campaign(
            channel=Channel.B2B,
            kind=CampaignKind.TEST,
            title=(_("Test by %(buyer)s of the prototype of %(supplier)s") % names)[:200],
            lab=project.broker,
            requested_by=supplier,
            product_name=(_("Prototype from the project “%(project)s”") % names)[:200],
            product_description=project.goals,
            maturity=Maturity.PROTOTYPE,
            objectives=_(
                "Learn whether the prototype of %(supplier)s works for the staff of %(buyer)s in their daily "
                "work, and what must change before it is finished."
            )
            % names,
            methods=[Method.FIELD_TRIAL],
            expect_activities=_(
                "You are on the staff of %(buyer)s: you use the prototype of %(supplier)s in your work "
                "for the period of the test and tell what works and what does not."
            )
            % names,
            expect_time=_("To be set by the living lab with the partners."),
            expect_benefits=_("You help shape a tool for your own work before it is finished."),
            expect_not=_(
                "The prototype is unfinished: it may fail. Taking part is voluntary and not a condition of "
                "your job; you do not keep the prototype after the test unless the partners agree otherwise."
            ),
            expect_risks=_("To be set by the living lab with the partners before recruitment."),
            idea_ownership=IdeaOwnership.NONE,
            ip_terms=(
                _("The results of the co-development belong as the partners agreed: %(ownership)s.")
                % {"ownership": str(project.get_ip_ownership_display()).lower()}
            ),
            confidentiality_terms=project.confidentiality,
        ),
        partners=[buyer],
        acting_user=acting_user,
    )
    claimed = Project.objects.filter(pk=project.pk, status=Status.ACTIVE, test_campaign__isnull=True).update(
        test_campaign=campaign
    )
    if claimed != 1:
        raise B2BError(_("Someone else launched this project's test campaign at the same moment."))
    project.test_campaign = campaign
    _audit(
        "b2b.project.launch_test_campaign",
        project,
        acting_user,
        {"campaign": campaign.pk, "lab": project.broker_id, "requested_by": supplier.pk},
    )
    return campaign

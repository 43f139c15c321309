"""The core domain shared by every channel: people, organisations and roles, channels, ground rules,
consent and the audit trail. State changes live in ``livinglab.services``; this module holds fields,
choices, querysets and pure predicates."""

import hashlib
import json
from datetime import date

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


def text_hash(text: str) -> str:
    """SHA-256 of a document's text, the fingerprint stored with every acceptance and consent."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Channel(models.TextChoices):
    """Every activity on the platform runs in one of the three channels."""

    B2B = "b2b", _("Business to business (B2B)")
    B2C = "b2c", _("Business to consumers (B2C)")
    B2G = "b2g", _("Business to public services (B2G)")


class ChannelActivity(models.Model):
    """Abstract base for every activity model: it carries one channel."""

    channel = models.CharField(_("channel"), max_length=3, choices=Channel.choices, db_index=True)

    class Meta:
        abstract = True


# --------------------------------------------------------------------------------------------------
# People


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A login. Signs in with an e-mail address; the data subject behind it is its ``Person``."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self):
        return self.get_full_name() or self.email


class HouseholdType(models.TextChoices):
    """How people live together: asked by voucher eligibility rules and by user-panel profiles."""

    SINGLE = "single", _("One adult")
    COUPLE = "couple", _("Two or more adults, no children")
    FAMILY = "family", _("Adults with children")
    SINGLE_PARENT = "single_parent", _("Single parent with children")
    SHARED = "shared", _("Shared household or care home")
    BUSINESS = "business", _("Small business (B2B vouchers)")


class Person(models.Model):
    """A data subject: somebody whose consent and participation the platform records.

    Most people have a login; minors and people enrolled on paper by an interest group may not.
    """

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    full_name = models.CharField(_("full name"), max_length=200)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["full_name"]

    def __str__(self):
        return self.full_name

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)

    def needs_guardian_consent(self, on: date | None = None) -> bool:
        """True below the age of digital consent (GDPR Art. 8); unknown age counts as adult."""
        age = self.age_on(on or timezone.localdate())
        return age is not None and age < settings.AGE_OF_DIGITAL_CONSENT


class Guardianship(models.Model):
    """A guardian who consents for a minor and manages the minor's data."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    class Relationship(models.TextChoices):
        PARENT = "parent", _("Parent")
        LEGAL_GUARDIAN = "legal_guardian", _("Legal guardian")
        OTHER = "other", _("Other holder of parental responsibility")

    guardian = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="wards")
    ward = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="guardianships")
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["guardian", "ward"], name="unique_guardianship")]

    def __str__(self):
        return f"{self.guardian} → {self.ward} ({self.get_relationship_display()})"


# --------------------------------------------------------------------------------------------------
# Organisations and roles


class EnterpriseGroup(models.Model):
    """Linked enterprises counted together as one "single undertaking" for State aid."""

    name = models.CharField(_("name"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("linked-enterprise group")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Organisation(models.Model):
    class Kind(models.TextChoices):
        CLUSTER = "cluster", _("Cluster organisation")
        SME = "sme", _("SME")
        LARGE_ENTERPRISE = "large_enterprise", _("Large enterprise")
        PUBLIC_AUTHORITY = "public_authority", _("Public authority")
        FUNDING_AGENCY = "funding_agency", _("Funding agency")
        RESEARCH = "research", _("Research or education organisation")
        INTEREST_GROUP = "interest_group", _("User interest group")

    class Size(models.TextChoices):
        MICRO = "micro", _("Micro (fewer than 10 staff)")
        SMALL = "small", _("Small (10–49 staff)")
        MEDIUM = "medium", _("Medium (50–249 staff)")
        LARGE = "large", _("Large (250 staff or more)")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    country = CountryField(_("country"))
    region = models.CharField(_("region"), max_length=120, blank=True)
    sector = models.CharField(_("sector"), max_length=120, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    group = models.ForeignKey(
        EnterpriseGroup,
        verbose_name=_("linked-enterprise group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organisations",
    )
    website = models.URLField(_("website"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def single_undertaking(self) -> models.QuerySet["Organisation"]:
        """This organisation and every enterprise linked to it (State-aid "single undertaking")."""
        if self.group_id is None:
            return Organisation.objects.filter(pk=self.pk)
        return Organisation.objects.filter(group_id=self.group_id)


class Role(models.TextChoices):
    """What a member does for an organisation. Which roles fit which kind: ``ROLES_BY_KIND``."""

    CLUSTER_MANAGER = "cluster_manager", _("Cluster manager")
    LAB_COORDINATOR = "lab_coordinator", _("Living-lab coordinator")
    FIRM_ADMIN = "firm_admin", _("Firm administrator")
    FIRM_MEMBER = "firm_member", _("Firm staff member")
    PROCURER = "procurer", _("Procurer")
    EVALUATOR = "evaluator", _("Evaluator")
    COMPLIANCE = "compliance", _("Compliance officer")
    FUNDING_OFFICER = "funding_officer", _("Funding officer")
    RESEARCHER = "researcher", _("Researcher")
    GROUP_REPRESENTATIVE = "group_representative", _("Interest-group representative")


K = Organisation.Kind
ROLES_BY_KIND: dict[str, set[str]] = {
    K.CLUSTER: {Role.CLUSTER_MANAGER, Role.LAB_COORDINATOR},
    K.SME: {Role.FIRM_ADMIN, Role.FIRM_MEMBER},
    K.LARGE_ENTERPRISE: {Role.FIRM_ADMIN, Role.FIRM_MEMBER},
    K.RESEARCH: {Role.RESEARCHER, Role.FIRM_ADMIN},
    K.PUBLIC_AUTHORITY: {Role.PROCURER, Role.EVALUATOR, Role.COMPLIANCE},
    K.FUNDING_AGENCY: {Role.FUNDING_OFFICER},
    K.INTEREST_GROUP: {Role.GROUP_REPRESENTATIVE},
}
# Roles that hold other people's data or public money: they must use multi-factor authentication.
PRIVILEGED_ROLES = frozenset(
    {
        Role.CLUSTER_MANAGER,
        Role.LAB_COORDINATOR,
        Role.PROCURER,
        Role.EVALUATOR,
        Role.COMPLIANCE,
        Role.FUNDING_OFFICER,
    }
)


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(ended_at__isnull=True)

    def addresses(self) -> list[str]:
        """Where mail to these memberships goes: their active users' addresses, each once, sorted."""
        users = self.filter(user__is_active=True).exclude(user__email="")
        return sorted(set(users.values_list("user__email", flat=True)))


class Membership(models.Model):
    """A user's role in an organisation; ended, never deleted, so that history stays readable."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        ordering = ["organisation__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"],
                condition=Q(ended_at__isnull=True),
                name="unique_active_membership",
            )
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} @ {self.organisation}"

    def clean(self):
        if self.organisation_id and self.role not in ROLES_BY_KIND[self.organisation.kind]:
            raise ValidationError(
                {
                    "role": _("A %(kind)s has no role “%(role)s”.")
                    % {"kind": self.organisation.get_kind_display(), "role": self.get_role_display()}
                }
            )


# --------------------------------------------------------------------------------------------------
# Scopes: ground rules and consent documents apply to the whole platform, to a channel, or to one
# object (a campaign, a programme, a call) that later apps attach.


class ScopedDocument(models.Model):
    """Abstract: a versioned document that applies at a platform, channel or object scope."""

    class ScopeKind(models.TextChoices):
        PLATFORM = "platform", _("Whole platform")
        CHANNEL = "channel", _("One channel")
        OBJECT = "object", _("One call, campaign or programme")

    title = models.CharField(_("title"), max_length=200)
    scope_kind = models.CharField(_("applies to"), max_length=10, choices=ScopeKind.choices)
    channel = models.CharField(_("channel"), max_length=3, choices=Channel.choices, blank=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    scope_object = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.title

    def clean(self):
        kind = self.ScopeKind
        if self.scope_kind == kind.CHANNEL and not self.channel:
            raise ValidationError({"channel": _("Choose the channel these apply to.")})
        if self.scope_kind == kind.OBJECT and not (self.content_type_id and self.object_id):
            raise ValidationError({"scope_kind": _("Attach the call, campaign or programme.")})


def scope_filter(scope) -> Q:
    """Documents that apply to ``scope``: None (platform), a Channel value, or an object with a channel."""
    kind = ScopedDocument.ScopeKind
    applies = Q(scope_kind=kind.PLATFORM)
    if scope is None:
        return applies
    if isinstance(scope, str):
        return applies | Q(scope_kind=kind.CHANNEL, channel=scope)
    channel = getattr(scope, "channel", "")
    if channel:
        applies |= Q(scope_kind=kind.CHANNEL, channel=channel)
    return applies | Q(
        scope_kind=kind.OBJECT, content_type=ContentType.objects.get_for_model(scope), object_id=scope.pk
    )


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Replaced by a newer version")


class DocumentVersion(models.Model):
    """Abstract: one version of a scoped document. A published version never changes."""

    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    summary_of_changes = models.CharField(_("what changed"), max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    text_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT


class GroundRules(ScopedDocument):
    """A code of conduct every party accepts before contact, bids or campaign actions."""

    class Meta:
        verbose_name = _("ground rules")
        verbose_name_plural = _("ground rules")
        ordering = ["title"]


class GroundRulesVersionQuerySet(models.QuerySet):
    def current(self):
        return self.filter(status=VersionStatus.PUBLISHED)

    def for_scope(self, scope):
        return (
            self.current()
            .filter(rules__in=GroundRules.objects.filter(scope_filter(scope)))
            .select_related("rules")
        )


class GroundRulesVersion(DocumentVersion):
    rules = models.ForeignKey(GroundRules, on_delete=models.PROTECT, related_name="versions")

    objects = GroundRulesVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("ground rules version")
        ordering = ["rules__title", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rules", "number"], name="unique_ground_rules_version"),
            models.UniqueConstraint(
                fields=["rules"], condition=Q(status="published"), name="one_published_ground_rules_version"
            ),
        ]

    def __str__(self):
        return _("%(title)s, version %(number)s") % {"title": self.rules.title, "number": self.number}


class GroundRulesAcceptance(models.Model):
    """Who accepted which version, for which organisation, when and how. Never edited."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    version = models.ForeignKey(GroundRulesVersion, on_delete=models.PROTECT, related_name="acceptances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ground_rules_acceptances"
    )
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT)
    text_sha256 = models.CharField(max_length=64)
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        verbose_name = _("ground rules acceptance")
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user", "organisation"],
                name="unique_ground_rules_acceptance_for_organisation",
            ),
            models.UniqueConstraint(
                fields=["version", "user"],
                condition=Q(organisation__isnull=True),
                name="unique_ground_rules_acceptance_for_oneself",
            ),
        ]

    def __str__(self):
        return f"{self.user} accepted {self.version}"


# --------------------------------------------------------------------------------------------------
# Consent (GDPR Art. 7, 8, 9)


class ConsentPurpose(models.Model):
    """One specific thing a person may agree to, e.g. "recording audio and video"."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("plain-language description"))
    special_category = models.BooleanField(
        _("special-category data (e.g. health)"),
        default=False,
        help_text=_("Needs explicit consent under GDPR Art. 9."),
    )

    class Meta:
        verbose_name = _("consent purpose")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ConsentDocument(ScopedDocument):
    class Meta:
        verbose_name = _("consent document")
        ordering = ["title"]


class ConsentDocumentVersion(DocumentVersion):
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="versions")
    purposes = models.ManyToManyField(ConsentPurpose, related_name="document_versions")

    class Meta:
        verbose_name = _("consent document version")
        ordering = ["document__title", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="unique_consent_document_version"),
            models.UniqueConstraint(
                fields=["document"], condition=Q(status="published"), name="one_published_consent_version"
            ),
        ]

    def __str__(self):
        return _("%(title)s, version %(number)s") % {"title": self.document.title, "number": self.number}


class ConsentRecordQuerySet(models.QuerySet):
    def active(self):
        return self.filter(withdrawn_at__isnull=True)

    def for_scope(self, scope):
        return self.filter(version__document__in=ConsentDocument.objects.filter(scope_filter(scope)))


class ConsentRecord(models.Model):
    """One person's consent to one purpose under one version of a consent document."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    class Method(models.TextChoices):
        ONLINE = "online", _("Online form")
        PAPER = "paper", _("Signed paper form")
        WITNESSED = "witnessed", _("Verbal, in front of a witness")

    class WithdrawalChannel(models.TextChoices):
        ONLINE = "online", _("Online, by the person")
        GUARDIAN = "guardian", _("Online, by the guardian")
        STAFF = "staff", _("Recorded by staff on request")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="records")
    version = models.ForeignKey(ConsentDocumentVersion, on_delete=models.PROTECT, related_name="records")
    text_sha256 = models.CharField(max_length=64)
    method = models.CharField(_("how consent was given"), max_length=10, choices=Method.choices)
    explicit = models.BooleanField(_("explicit consent (Art. 9)"), default=False)
    given_at = models.DateTimeField(default=timezone.now)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    guardian = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents_given_as_guardian"
    )
    guardian_relationship = models.CharField(
        max_length=20, choices=Guardianship.Relationship.choices, blank=True
    )
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_channel = models.CharField(max_length=10, choices=WithdrawalChannel.choices, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent record")
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose", "version"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_active_consent_per_purpose_and_version",
            )
        ]
        indexes = [models.Index(fields=["person", "purpose", "withdrawn_at"])]

    def __str__(self):
        return f"{self.person} — {self.purpose}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


# --------------------------------------------------------------------------------------------------
# Audit trail


class AuditChainHead(models.Model):
    """The single row that serialises writers of the hash chain and remembers its tip."""

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit chain at #{self.last_seq}"


class AuditEntry(models.Model):
    """One state change. Append-only; each entry's hash covers its content and its predecessor's hash."""

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the actor's account is deleted: a pseudonymous reference, never a name or e-mail.
    actor_ref = models.CharField(max_length=40, blank=True)
    # PROTECT: the hash covers these ids, so what an entry refers to must outlive it.
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=100, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-seq"]

    def __str__(self):
        return f"#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        # Append-only: the audit service creates entries; nothing updates them.
        if not self._state.adding:
            raise ValidationError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit entries cannot be deleted.")

    def canonical(self) -> str:
        """The text the hash covers; references use ids so that later renames keep the chain valid."""
        return json.dumps(
            {
                "seq": self.seq,
                "created_at": self.created_at.isoformat(),
                "actor_ref": self.actor_ref,
                "organisation": self.organisation_id,
                "action": self.action,
                "content_type": self.content_type_id,
                "object_id": self.object_id,
                "data": self.data,
                "prev": self.prev_hash,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

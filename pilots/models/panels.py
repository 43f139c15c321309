"""Standing user panels, the people in them and what they told us about themselves."""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import (
    ChannelActivity,
    ConsentDocument,
    HouseholdType,
    Organisation,
    Person,
)

from .attributes import (
    DEFAULT_SHARED,
    FIXED_ATTRIBUTES,
    AttributeKind,
    DigitalSkills,
    Sector,
    age_band_of,
    pack,
    unpack,
)


def current_year() -> int:
    return timezone.localdate().year


class ParticipantProfile(models.Model):
    """What a participant tells the living lab about themselves; one per person, shared by all panels."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Contact(models.TextChoices):
        EMAIL = "email", _("By e-mail")
        PHONE = "phone", _("By telephone")
        POST = "post", _("By post")
        GROUP = "group", _("Through the group that enrolled me")

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="profile")
    year_of_birth = models.PositiveSmallIntegerField(
        _("year of birth"), validators=[MinValueValidator(1900), MaxValueValidator(2100)], db_index=True
    )
    region = models.CharField(_("region"), max_length=100, db_index=True)
    postcode_area = models.CharField(
        _("postcode area"), max_length=10, blank=True, help_text=_("The first part of the postcode only.")
    )
    languages = models.CharField(_("languages"), max_length=200, blank=True)
    household_type = models.CharField(
        _("household"), max_length=20, choices=HouseholdType.choices, blank=True, db_index=True
    )
    household_key = models.CharField(
        _("household reference"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_("The same reference for people who live together, so a draw can take one per household."),
    )
    accessibility_needs = models.CharField(_("accessibility needs"), max_length=200, blank=True)
    accessibility_notes = models.TextField(_("what helps you take part"), blank=True)
    digital_skills = models.CharField(
        _("digital skills"), max_length=10, choices=DigitalSkills.choices, blank=True, db_index=True
    )
    devices = models.CharField(_("devices"), max_length=200, blank=True)
    occupation = models.CharField(_("occupation"), max_length=120, blank=True)
    sector = models.CharField(_("sector"), max_length=2, choices=Sector.choices, blank=True)
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    contact_email = models.EmailField(
        _("e-mail address for invitations"),
        blank=True,
        help_text=_("For people without an account; account holders are written to at their login address."),
    )
    phone = models.CharField(_("telephone"), max_length=40, blank=True)
    preferred_contact = models.CharField(
        _("how we contact you"), max_length=10, choices=Contact.choices, default=Contact.EMAIL
    )
    contact_via = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact through"),
        limit_choices_to={"kind": Organisation.Kind.INTEREST_GROUP},
    )
    shared_attributes = models.CharField(
        _("what firms may see about you"), max_length=300, default=pack(DEFAULT_SHARED), blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("participant profile")

    def __str__(self):
        return _("Profile #%(pk)s") % {"pk": self.pk}

    @property
    def age_band(self) -> str:
        return age_band_of(self.year_of_birth)

    def values_of(self, column: str) -> list[str]:
        return unpack(getattr(self, column))

    def labels_of(self, column: str) -> str:
        """A multi-choice answer as people read it: "French, English"."""
        choices = {
            a.column: dict(a.choices) for a in FIXED_ATTRIBUTES.values() if a.kind == AttributeKind.MULTI
        }
        labels = choices.get(column, {})
        return ", ".join(str(labels.get(v, v)) for v in self.values_of(column))

    @property
    def languages_text(self) -> str:
        return self.labels_of("languages")

    @property
    def accessibility_text(self) -> str:
        return self.labels_of("accessibility_needs")

    @property
    def devices_text(self) -> str:
        return self.labels_of("devices")

    @property
    def shared(self) -> list[str]:
        return unpack(self.shared_attributes)

    def contact_address(self) -> str:
        """Where invitations go: the login address, else the address given at enrolment."""
        user = self.person.user
        return (user.email if user is not None else "") or self.contact_email


class Panel(ChannelActivity):
    """A standing pool of participants kept by a cluster organisation's living lab."""

    owner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        # Not "panels": Wagtail reads a model's ``panels`` attribute as its edit form.
        related_name="user_panels",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
        verbose_name=_("living lab"),
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    description = models.TextField(_("description"), help_text=_("Who the panel is for, in plain language."))
    consent_document = models.ForeignKey(
        ConsentDocument,
        on_delete=models.PROTECT,
        related_name="user_panels",
        verbose_name=_("consent form"),
        help_text=_("The form members read and consent to when they join or confirm."),
    )
    recruiting_groups = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="recruits_for_panels",
        limit_choices_to={"kind": Organisation.Kind.INTEREST_GROUP},
        verbose_name=_("interest groups that recruit"),
    )
    open_for_sign_up = models.BooleanField(_("people can join on their own"), default=True)
    # Fair-contact rules: nobody is asked too often.
    period_days = models.PositiveSmallIntegerField(
        _("rolling period (days)"), default=365, validators=[MinValueValidator(1)]
    )
    max_invitations = models.PositiveSmallIntegerField(
        _("maximum invitations per period"), default=6, validators=[MinValueValidator(1)]
    )
    max_participations = models.PositiveSmallIntegerField(
        _("maximum studies taken part in per period"), default=3, validators=[MinValueValidator(1)]
    )
    cooldown_days = models.PositiveSmallIntegerField(_("rest after taking part (days)"), default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("user panel")
        ordering = ["name"]

    def __str__(self):
        return self.name


class MembershipQuerySet(models.QuerySet):
    def contactable(self):
        """Confirmed members who have not paused, left, or been protected from contact."""
        return self.filter(status=PanelMembership.Status.ACTIVE)


class PanelMembership(models.Model):
    """One person in one panel: how they came, and whether they may be contacted."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the person to confirm")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused by the participant")
        OPTED_OUT = "opted_out", _("Left the panel")
        DO_NOT_CONTACT = "do_not_contact", _("Do not contact")
        BLOCKED = "blocked", _("Blocklisted")
        REMOVED = "removed", _("Removed by staff")

    class Source(models.TextChoices):
        SELF = "self", _("Signed up on their own")
        INTEREST_GROUP = "interest_group", _("Enrolled by an interest group")
        STAFF = "staff", _("Enrolled by living-lab staff")
        EVENT = "event", _("Signed up at an event")
        IMPORT = "import", _("Imported from a list")

    # Who may move a membership where (participants pause and leave; staff protect and remove).
    TRANSITIONS = {
        Status.PENDING: {
            Status.ACTIVE,
            Status.OPTED_OUT,
            Status.REMOVED,
            Status.BLOCKED,
            Status.DO_NOT_CONTACT,
        },
        Status.ACTIVE: {
            Status.PAUSED,
            Status.OPTED_OUT,
            Status.DO_NOT_CONTACT,
            Status.BLOCKED,
            Status.REMOVED,
        },
        Status.PAUSED: {
            Status.ACTIVE,
            Status.OPTED_OUT,
            Status.DO_NOT_CONTACT,
            Status.BLOCKED,
            Status.REMOVED,
        },
        Status.OPTED_OUT: {Status.ACTIVE},
        Status.DO_NOT_CONTACT: {Status.ACTIVE, Status.REMOVED},
        Status.BLOCKED: {Status.ACTIVE, Status.REMOVED},
        Status.REMOVED: {Status.ACTIVE},
    }
    PARTICIPANT_STATUSES = {Status.ACTIVE, Status.PAUSED, Status.OPTED_OUT}

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="panel_memberships")
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(_("reason"), max_length=300, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(_("recruited"), max_length=15, choices=Source.choices)
    recruited_by = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="panel_recruits",
        verbose_name=_("recruited by"),
    )
    source_detail = models.CharField(_("where"), max_length=200, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An opaque key (the normalised e-mail or the list's own reference) that makes re-imports idempotent.
    import_key = models.CharField(max_length=64, blank=True)
    confirmation_nonce = models.CharField(max_length=64, default=secrets.token_urlsafe, editable=False)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("panel membership")
        ordering = ["-joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "person"], name="one_membership_per_panel"),
            models.UniqueConstraint(
                fields=["panel", "import_key"], condition=~Q(import_key=""), name="one_member_per_import_key"
            ),
        ]
        indexes = [models.Index(fields=["panel", "status"])]

    def __str__(self):
        return _("Member #%(pk)s of %(panel)s") % {"pk": self.pk, "panel": self.panel}

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())


class PanelAttribute(models.Model):
    """A question staff add to one panel without code changes, e.g. "Do you care for a relative?"."""

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="attributes")
    code = models.SlugField(
        _("code"), max_length=40, help_text=_("Used in screeners; letters, digits, - and _.")
    )
    label = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("answer type"), max_length=10, choices=AttributeKind.choices)
    options = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("For choice questions: the answers offered.")
    )
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    required = models.BooleanField(_("answer required"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("custom attribute")
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["panel", "code"], name="unique_attribute_code")]

    def __str__(self):
        return self.label

    def option_values(self) -> list[str]:
        return [str(o) for o in self.options]


class AttributeValue(models.Model):
    """One member's answer to a custom attribute. Choices and text in ``value`` (multi as ``|a|b|``),
    numbers in ``number`` and yes/no as ``"true"``/``"false"`` so that screeners compare in SQL."""

    wagtail_reference_index_ignore = True

    membership = models.ForeignKey(PanelMembership, on_delete=models.CASCADE, related_name="answers")
    attribute = models.ForeignKey(PanelAttribute, on_delete=models.CASCADE, related_name="answers")
    value = models.CharField(max_length=500, blank=True)
    number = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "attribute"], name="one_answer_per_attribute")
        ]
        indexes = [models.Index(fields=["attribute", "value"])]

    def __str__(self):
        return f"{self.attribute.code}={self.display()}"

    def display(self) -> str:
        if self.attribute.kind == AttributeKind.NUMBER:
            return "" if self.number is None else f"{self.number.normalize():f}"
        if self.attribute.kind == AttributeKind.MULTI:
            return ", ".join(unpack(self.value))
        if self.attribute.kind == AttributeKind.BOOLEAN:
            return str({"true": _("Yes"), "false": _("No")}.get(self.value, self.value))
        return self.value

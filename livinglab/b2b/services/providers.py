"""The directory of service providers: anyone signed in proposes a provider, cluster staff list, hide and
edit them, and firms ask a listed provider to get in touch through the platform (the provider's address is
never shown; the platform mails it).

A firm may send ``CONTACT_REQUESTS_PER_FIRM_PER_DAY`` contact requests in any 24 hours. The requests are
counted in the database under a lock on the firm's row, so the cap holds across web processes and
simultaneous clicks."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Channel, Organisation, User
from livinglab.policy import FIRM_KINDS, firm_ids
from livinglab.services import require_ground_rules

from ..errors import B2BError
from ..models import ContactRequest, ProviderService, Service, ServiceProvider
from ..tasks.providers import mail_contact_request, notify_staff_of_proposal

__all__ = [
    "CONTACT_REQUESTS_PER_FIRM_PER_DAY",
    "CONTACT_WINDOW",
    "DUPLICATE_WINDOW",
    "contact_allowance",
    "curate_provider",
    "propose_provider",
    "request_contact",
    "save_provider",
    "search_providers",
    "service_counts",
    "summarise",
]

# How many contact requests one firm may send in any 24 hours.
CONTACT_REQUESTS_PER_FIRM_PER_DAY = 5
CONTACT_WINDOW = timedelta(hours=24)
# The same request sent again within this time (a double click, a reloaded page) is the same request.
DUPLICATE_WINDOW = timedelta(minutes=10)

Status = ServiceProvider.Status
# Where curation may take a provider: a proposal is listed or turned down (hidden); a listed provider is
# hidden, a hidden one listed again. Nothing goes back to "proposed".
CURATION = {
    Status.PROPOSED: {Status.LISTED, Status.HIDDEN},
    Status.LISTED: {Status.HIDDEN},
    Status.HIDDEN: {Status.LISTED},
}
# Words of the directory's own addresses (/b2b/providers/propose/…) that no provider may take.
RESERVED_SLUGS = {"propose", "curation"}
# The fields a proposal or an edit sets (services apart).
PROVIDER_FIELDS = ("name", "description", "country", "region", "website", "contact_email", "languages")


# ------------------------------------------------------------------------------------------------ search


def with_services(providers: QuerySet[ServiceProvider]) -> QuerySet[ServiceProvider]:
    """Providers with their services in one more query, in the order of the ``Service`` choices."""
    return providers.prefetch_related(
        Prefetch("services", queryset=ProviderService.objects.order_by("service", "pk"))
    )


def search_providers(*, q: str = "", service: str = "", country: str = "", region: str = "") -> QuerySet:
    """Listed providers matching every given filter, by name. ``q``: each word must appear (any case) in
    the name, description, region or languages; ``service``: a ``Service`` value; ``country``: an ISO
    code; ``region``: part of the region's name."""
    providers = ServiceProvider.objects.listed()
    for word in (q or "").split():
        providers = providers.filter(
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(region__icontains=word)
            | Q(languages__icontains=word)
        )
    if service:
        providers = providers.filter(
            Exists(ProviderService.objects.filter(provider=OuterRef("pk"), service=service))
        )
    if country:
        providers = providers.filter(country=str(country).upper())
    if region and region.strip():
        providers = providers.filter(region__icontains=region.strip())
    return with_services(providers.order_by("name", "pk"))


def summarise(providers: QuerySet[ServiceProvider]) -> tuple[int, list[tuple[str, int]]]:
    """How many ``providers`` there are, and (service label, how many of them offer it) for every service,
    in one query (one scan of the matches instead of two)."""
    totals = providers.order_by().aggregate(
        total=Count("pk", distinct=True),
        **{f"n_{value}": Count("services", filter=Q(services__service=value)) for value in Service.values},
    )
    return totals["total"], [(label, totals[f"n_{value}"]) for value, label in Service.choices]


def service_counts(providers: QuerySet[ServiceProvider]) -> list[tuple[str, int]]:
    """(service label, number of ``providers`` offering it) for every service, in one query."""
    return summarise(providers)[1]


# ------------------------------------------------------------------------------------- proposals and edits


def _clean_services(services) -> list[str]:
    chosen = sorted({str(s) for s in services})
    unknown = [s for s in chosen if s not in Service.values]
    if unknown:
        raise B2BError(_("Unknown service: %(codes)s.") % {"codes": ", ".join(unknown)})
    if not chosen:
        raise B2BError(_("Choose at least one service the provider offers."))
    return chosen


def _clean_fields(fields: dict) -> dict:
    unknown = set(fields) - set(PROVIDER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown provider fields: {', '.join(sorted(unknown))}")
    cleaned = {key: value.strip() if isinstance(value, str) else value for key, value in fields.items()}
    for required, message in (
        ("name", _("Give the provider's name.")),
        ("description", _("Say what the provider offers.")),
        ("country", _("Give the provider's country.")),
    ):
        if required in cleaned and not cleaned[required]:
            raise B2BError(message)
    return cleaned


def _create_with_slug(values: dict) -> ServiceProvider:
    """Create a provider under a free web address made from its name (``-2``, ``-3``… when taken)."""
    base = slugify(values["name"])[:70].strip("-") or "provider"
    taken = set(ServiceProvider.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    taken |= RESERVED_SLUGS
    number = 1
    while True:
        slug = base if number == 1 else f"{base}-{number}"
        number += 1
        if slug in taken:
            continue
        try:
            with transaction.atomic():  # a savepoint: someone else may take the address meanwhile
                return ServiceProvider.objects.create(slug=slug, **values)
        except IntegrityError:
            if ServiceProvider.objects.filter(slug=slug).exists():
                continue
            raise


def _set_services(provider: ServiceProvider, services: list[str]) -> None:
    provider.services.exclude(service__in=services).delete()
    have = set(provider.services.values_list("service", flat=True))
    ProviderService.objects.bulk_create(
        [ProviderService(provider=provider, service=s) for s in services if s not in have]
    )


@transaction.atomic
def propose_provider(*, services, acting_user: User, **fields) -> ServiceProvider:
    """Propose a provider for the directory; cluster staff review it before it is listed."""
    if not acting_user.has_perm("b2b.propose_provider"):
        raise B2BError(_("Sign in to propose a service provider."))
    services = _clean_services(services)
    values = _clean_fields(fields)
    missing = {"name", "description", "country", "contact_email"} - {k for k, v in values.items() if v}
    if missing:
        raise B2BError(_("Give the provider's name, country, what it offers and an e-mail address."))
    provider = _create_with_slug({**values, "status": Status.PROPOSED, "proposed_by": acting_user})
    _set_services(provider, services)
    audit.record(
        "b2b.provider.propose",
        actor=acting_user,
        obj=provider,
        data={"services": services, "country": str(provider.country.code)},
    )
    notify_staff_of_proposal.delay_on_commit(provider.pk)
    return provider


@transaction.atomic
def save_provider(
    provider: ServiceProvider | None, *, services, acting_user: User, **fields
) -> ServiceProvider:
    """Create a listed provider (``provider`` None) or change one, with the services it offers (staff)."""
    if not acting_user.has_perm("b2b.curate_providers", provider):
        raise B2BError(_("Only the cluster's staff edit the directory of service providers."))
    services = _clean_services(services)
    values = _clean_fields(fields)
    if "contact_email" in values and not values["contact_email"]:
        values.pop("contact_email")  # left empty: keep the address the provider has
    if provider is None:
        if not values.get("contact_email"):
            raise B2BError(_("Give the e-mail address where contact requests go."))
        now = timezone.now()
        provider = _create_with_slug(
            {**values, "status": Status.LISTED, "curated_by": acting_user, "curated_at": now}
        )
        action, changed = "b2b.provider.create", sorted(values)
    else:
        provider = ServiceProvider.objects.select_for_update(no_key=True).get(pk=provider.pk)
        changed = sorted(key for key, value in values.items() if getattr(provider, key) != value)
        for key, value in values.items():
            setattr(provider, key, value)
        provider.save()
        action = "b2b.provider.edit"
    before = set(provider.services.values_list("service", flat=True))
    _set_services(provider, services)
    audit.record(
        action,
        actor=acting_user,
        obj=provider,
        data={
            "fields": changed,
            "services_added": sorted(set(services) - before),
            "services_removed": sorted(before - set(services)),
        },
    )
    return provider


@transaction.atomic
def curate_provider(provider: ServiceProvider, *, status: str, note: str = "", acting_user: User) -> bool:
    """List or hide a provider, from the status ``provider`` had when the curator saw it (staff)."""
    if not acting_user.has_perm("b2b.curate_providers", provider):
        raise B2BError(_("Only the cluster's staff list or hide service providers."))
    seen = provider.status
    if status not in CURATION.get(seen, set()):
        if status == seen:
            raise B2BError(
                _("“%(name)s” is already “%(status)s”.")
                % {"name": provider.name, "status": provider.get_status_display()}
            )
        raise B2BError(_("A provider cannot be moved back to “proposed”."))
    now = timezone.now()
    note = (note or "").strip()[: ServiceProvider._meta.get_field("curator_note").max_length]
    updated = ServiceProvider.objects.filter(pk=provider.pk, status=seen).update(
        status=status, curator_note=note, curated_by=acting_user, curated_at=now, updated_at=now
    )
    if updated != 1:
        raise B2BError(
            _("Someone changed “%(name)s” meanwhile; look at it again before deciding.")
            % {"name": provider.name}
        )
    provider.status, provider.curator_note = status, note
    provider.curated_by, provider.curated_at = acting_user, now
    audit.record(
        "b2b.provider.list" if status == Status.LISTED else "b2b.provider.hide",
        actor=acting_user,
        obj=provider,
        data={"from": seen, "to": status, "with_note": bool(note)},
    )
    return True


# ------------------------------------------------------------------------------------- contact requests


def contact_allowance(organisation: Organisation, now=None) -> tuple[int, object]:
    """(requests ``organisation`` may still send now, when the next one frees up or None)."""
    now = now or timezone.now()
    recent = list(
        ContactRequest.objects.filter(organisation=organisation, created_at__gt=now - CONTACT_WINDOW)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    left = max(0, CONTACT_REQUESTS_PER_FIRM_PER_DAY - len(recent))
    if left:
        return left, None
    # The oldest request that still counts leaves the window first.
    return 0, recent[len(recent) - CONTACT_REQUESTS_PER_FIRM_PER_DAY] + CONTACT_WINDOW


@transaction.atomic
def request_contact(
    provider: ServiceProvider, *, organisation: Organisation, service: str, message: str, acting_user: User
) -> ContactRequest:
    """Ask a listed provider to get in touch with ``organisation``; the platform mails the provider."""
    if not acting_user.has_perm("b2b.request_contact", provider):
        raise B2BError(_("Firms ask service providers for contact through the platform."))
    if organisation.kind not in FIRM_KINDS or organisation.pk not in firm_ids(acting_user):
        raise B2BError(_("You can ask for contact only for a firm you act for."))
    require_ground_rules(acting_user, Channel.B2B, organisation=organisation)
    message = (message or "").strip()
    if not message:
        raise B2BError(_("Write a few words about what you need."))
    current = (
        ServiceProvider.objects.filter(pk=provider.pk)
        .annotate(offers=Exists(ProviderService.objects.filter(provider=OuterRef("pk"), service=service)))
        .values("status", "offers")
        .first()
    )
    if current is None or current["status"] != Status.LISTED:
        raise B2BError(
            _(
                "“%(name)s” is not in the directory at the moment; "
                "it cannot be contacted through the platform."
            )
            % {"name": provider.name}
        )
    if not current["offers"]:
        raise B2BError(
            _("“%(name)s” does not list this service; choose one of the services it offers.")
            % {"name": provider.name}
        )
    # One firm's requests are counted one at a time: the lock on its row holds until commit.
    Organisation.objects.select_for_update(no_key=True).filter(pk=organisation.pk).first()
    now = timezone.now()
    repeated = (
        ContactRequest.objects.filter(
            provider=provider,
            organisation=organisation,
            user=acting_user,
            service=service,
            message=message,
            created_at__gt=now - DUPLICATE_WINDOW,
        )
        .order_by("-created_at")
        .first()
    )
    if repeated is not None:
        return repeated  # the same request sent twice: sent once
    left, next_at = contact_allowance(organisation, now)
    if not left:
        raise B2BError(
            _(
                "“%(firm)s” has sent %(cap)s contact requests in the last 24 hours, "
                "the most a firm may send. You can send the next one from %(when)s."
            )
            % {
                "firm": organisation.name,
                "cap": CONTACT_REQUESTS_PER_FIRM_PER_DAY,
                "when": formats.date_format(timezone.localtime(next_at), "DATETIME_FORMAT"),
            }
        )
    contact = ContactRequest.objects.create(
        provider=provider, organisation=organisation, user=acting_user, service=service, message=message
    )
    audit.record(
        "b2b.contact_request.create",
        actor=acting_user,
        obj=contact,
        organisation=organisation,
        data={"provider": provider.pk, "service": service},
    )
    mail_contact_request.delay_on_commit(contact.pk)
    return contact

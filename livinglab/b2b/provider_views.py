"""The directory of service providers: search, a provider's page with the contact form, proposals, and the
staff's curation queue and edits. Every change goes through ``services.providers``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.acting import ORGANISATION_PARAM, acting_organisations, pending_rules, refuse
from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError
from livinglab.policy import FIRM_KINDS, firm_ids
from livinglab.views import PAGE_SIZE, paginate, safe_next

from .models import ContactRequest, Service, ServiceProvider
from .provider_forms import ContactForm, CurationFilterForm, CurationForm, ProviderForm, ProviderSearchForm
from .services import providers as services

Status = ServiceProvider.Status


def visitor_organisation(request):
    """The organisation the visitor acts for (``?as=`` among several; firms first), to mark providers
    abroad. None for people without an organisation."""
    candidates = acting_organisations(request, FIRM_KINDS) or acting_organisations(request)
    wanted = request.GET.get(ORGANISATION_PARAM)
    return next((o for o in candidates if o.slug == wanted), candidates[0] if candidates else None)


def contact_organisations(request) -> list:
    """The firms the user may ask for contact for."""
    mine = firm_ids(request.user)
    return [o for o in acting_organisations(request, FIRM_KINDS) if o.pk in mine]


def visible_provider(request, slug: str) -> ServiceProvider:
    """A listed provider, or any provider for the staff; 404 otherwise (its existence is not revealed)."""
    provider = get_object_or_404(services.with_services(ServiceProvider.objects.all()), slug=slug)
    if provider.status != Status.LISTED and not request.user.has_perm("b2b.curate_providers", provider):
        raise Http404
    return provider


def service_labels() -> dict[str, str]:
    """Service names translated once per page (``get_service_display`` translates every choice per call)."""
    return {value: str(label) for value, label in Service.choices}


def require_curator(request) -> None:
    if not request.user.has_perm("b2b.curate_providers"):
        raise PermissionDenied(_("The directory is curated by the cluster's staff."))


# ------------------------------------------------------------------------------------------------ search


@login_required
def provider_search(request):
    """Search the listed providers by words, service, country and region."""
    codes = ServiceProvider.objects.listed().order_by().values_list("country", flat=True).distinct()
    form = ProviderSearchForm(request.GET or None, country_codes=list(codes))
    results = services.search_providers(**form.filters())
    total, counts = services.summarise(results)
    paginator = Paginator(results, PAGE_SIZE)
    paginator.count = total  # counted with the services above: the matches are scanned once, not twice
    page = paginator.get_page(request.GET.get("page"))
    visitor = visitor_organisation(request)
    home = visitor.country.code if visitor is not None and visitor.country else ""
    labels = service_labels()
    for provider in page:
        provider.abroad = bool(home) and provider.country.code != home
        provider.service_labels = [labels[s.service] for s in provider.services.all()]
    return render(
        request,
        "b2b/providers/search.html",
        {
            "form": form,
            "providers": page,
            "visitor": visitor,
            "service_chart": horizontal_bars(counts),
            "may_propose": request.user.has_perm("b2b.propose_provider"),
            "may_curate": request.user.has_perm("b2b.curate_providers"),
        },
    )


# ------------------------------------------------------------------------------------------- one provider


def detail_context(request, provider: ServiceProvider, contact_form=None) -> dict:
    user = request.user
    may_curate = user.has_perm("b2b.curate_providers", provider)
    organisations = contact_organisations(request)
    may_contact = (
        provider.status == Status.LISTED
        and bool(organisations)
        and user.has_perm("b2b.request_contact", provider)
    )
    offered = [s.service for s in provider.services.all()]
    if may_contact and contact_form is None:
        contact_form = ContactForm(organisations=organisations, services=offered)
    sent = (
        ContactRequest.objects.filter(provider=provider, organisation_id__in=[o.pk for o in organisations])
        .select_related("organisation")
        .order_by("-created_at", "-pk")[:10]
        if organisations
        else []
    )
    allowance = None
    if may_contact and len(organisations) == 1:
        allowance = services.contact_allowance(organisations[0])
    return {
        "provider": provider,
        "may_curate": may_curate,
        "may_contact": may_contact,
        "contact_form": contact_form if may_contact else None,
        "sent": sent,
        "allowance": allowance,
        "cap": services.CONTACT_REQUESTS_PER_FIRM_PER_DAY,
        "next_statuses": services.CURATION.get(provider.status, set()) if may_curate else set(),
        "is_firm_user": bool(organisations),
        "pending_rules": pending_rules(request),
    }


@login_required
def provider_detail(request, slug: str):
    """A provider's page; firms ask it for contact here."""
    provider = visible_provider(request, slug)
    return render(request, "b2b/providers/detail.html", detail_context(request, provider))


@login_required
@require_POST
def provider_contact(request, slug: str):
    """Send a contact request to a listed provider for one of the user's firms."""
    provider = visible_provider(request, slug)
    organisations = contact_organisations(request)
    if not organisations or not request.user.has_perm("b2b.request_contact", provider):
        raise PermissionDenied(_("Firms ask service providers for contact through the platform."))
    form = ContactForm(
        request.POST, organisations=organisations, services=[s.service for s in provider.services.all()]
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.request_contact(
                provider,
                organisation=data["organisation"],
                service=data["service"],
                message=data["message"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(
                request,
                _(
                    "Your request is on its way to %(name)s, who will answer you by e-mail. "
                    "A copy is on its way to you."
                )
                % {"name": provider.name},
            )
            return redirect("b2b:provider_detail", slug=provider.slug)
    return render(request, "b2b/providers/detail.html", detail_context(request, provider, form))


# ------------------------------------------------------------------------------- proposals and curation


def provider_form_values(form: ProviderForm) -> dict:
    return {"services": form.cleaned_data["services"], **form.provider_fields()}


@login_required
def provider_propose(request):
    """Propose a provider (listed once the staff have reviewed it); the staff add one listed at once."""
    user = request.user
    if not user.has_perm("b2b.propose_provider"):
        raise PermissionDenied
    is_curator = user.has_perm("b2b.curate_providers")
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if is_curator:
                provider = services.save_provider(None, acting_user=user, **provider_form_values(form))
            else:
                provider = services.propose_provider(acting_user=user, **provider_form_values(form))
        except DomainError as error:
            refuse(request, error, form)
        else:
            if is_curator:
                messages.success(request, _("“%(name)s” is in the directory.") % {"name": provider.name})
                return redirect("b2b:provider_detail", slug=provider.slug)
            messages.success(
                request,
                _("Thank you. The cluster's staff review “%(name)s” before it appears in the directory.")
                % {"name": provider.name},
            )
            return redirect("b2b:provider_search")
    return render(
        request,
        "b2b/providers/form.html",
        {"form": form, "provider": None, "is_curator": is_curator, "pending_rules": pending_rules(request)},
    )


@login_required
def provider_edit(request, slug: str):
    """Change a provider's entry and services (staff)."""
    require_curator(request)
    provider = get_object_or_404(services.with_services(ServiceProvider.objects.all()), slug=slug)
    if request.method == "POST":
        form = ProviderForm(request.POST, edit=True)
        if form.is_valid():
            try:
                services.save_provider(provider, acting_user=request.user, **provider_form_values(form))
            except DomainError as error:
                refuse(request, error, form)
            else:
                messages.success(request, _("“%(name)s” is saved.") % {"name": form.cleaned_data["name"]})
                return redirect("b2b:provider_detail", slug=provider.slug)
    else:
        form = ProviderForm(initial=ProviderForm.initial_for(provider), edit=True)
    return render(
        request,
        "b2b/providers/form.html",
        {"form": form, "provider": provider, "is_curator": True, "pending_rules": pending_rules(request)},
    )


@login_required
@require_POST
def provider_status(request, slug: str):
    """List or hide a provider (staff), if its status is still the one the curator saw."""
    require_curator(request)
    provider = get_object_or_404(ServiceProvider, slug=slug)
    back = safe_next(request, request.POST.get("next"))
    back = back or reverse("b2b:provider_detail", args=[provider.slug])
    form = CurationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to list or to hide “%(name)s”.") % {"name": provider.name})
        return redirect(back)
    data = form.cleaned_data
    if data["seen"] != provider.status:
        messages.error(
            request,
            _(
                "Someone changed “%(name)s” meanwhile: it is now “%(status)s”. "
                "Look at it again before deciding."
            )
            % {"name": provider.name, "status": provider.get_status_display()},
        )
        return redirect(back)
    try:
        services.curate_provider(provider, status=data["status"], note=data["note"], acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        if provider.status == Status.LISTED:
            messages.success(request, _("“%(name)s” is listed in the directory.") % {"name": provider.name})
        else:
            messages.success(request, _("“%(name)s” is hidden from the directory.") % {"name": provider.name})
    return redirect(back)


@login_required
def provider_curation(request):
    """The staff's queue: proposals first, then listed and hidden providers."""
    require_curator(request)
    filters = CurationFilterForm(request.GET or None)
    providers = ServiceProvider.objects.all()
    if filters.is_valid():
        if filters.cleaned_data["status"]:
            providers = providers.filter(status=filters.cleaned_data["status"])
        for word in filters.cleaned_data["q"].split():
            providers = providers.filter(
                Q(name__icontains=word) | Q(description__icontains=word) | Q(region__icontains=word)
            )
    providers = services.with_services(
        providers.annotate(
            queue=Case(
                When(status=Status.PROPOSED, then=Value(0)),
                When(status=Status.LISTED, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        ).order_by("queue", "name", "pk")
    )
    counts = dict(ServiceProvider.objects.order_by().values_list("status").annotate(n=Count("pk")))
    status_chart = horizontal_bars([(label, counts.get(value, 0)) for value, label in Status.choices])
    page = paginate(request, providers)
    labels = service_labels()
    for provider in page:
        provider.next_statuses = services.CURATION.get(provider.status, set())
        provider.service_labels = [labels[s.service] for s in provider.services.all()]
    return render(
        request,
        "b2b/providers/curation.html",
        {
            "filters": filters,
            "providers": page,
            "status_chart": status_chart,
            "waiting": counts.get(Status.PROPOSED, 0),
            "pending_rules": pending_rules(request),
        },
    )

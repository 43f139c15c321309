"""Thin views: parse the request, ask the policy, call a service, render."""

from allauth.account.adapter import get_adapter as get_account_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .charts import horizontal_bars
from .errors import DomainError
from .forms import AcceptGroundRulesForm, GiveConsentForm
from .models import (
    AuditEntry,
    ConsentDocument,
    ConsentDocumentVersion,
    ConsentRecord,
    GroundRulesAcceptance,
    GroundRulesVersion,
    Membership,
    Organisation,
    Person,
    VersionStatus,
)
from .policy import active_memberships, is_cluster_staff, visible_organisations
from .receipts import consent_receipt, ground_rules_receipt
from .workspaces import WORKSPACE_SESSION_KEY, workspace_kind

PAGE_SIZE = 20


def safe_next(request, url: str | None) -> str | None:
    """``url`` when it leads back into this site (a ``next`` field or the referrer), else None: a page never
    sends anyone on to an address a link planted."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def paginate(request, queryset, per_page: int = PAGE_SIZE, param: str = "page"):
    return Paginator(queryset, per_page).get_page(request.GET.get(param))


def pdf_response(filename: str, pdf: bytes) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def client_ip(request) -> str | None:
    """The client's address as allauth's rate limits see it (honours ALLAUTH_TRUSTED_PROXY_COUNT)."""
    return get_account_adapter(request).get_client_ip(request) or None


def version_replaced(request, old, current, url_name: str):
    """An old link to a replaced version explains itself and points to the current one (410 Gone)."""
    current_url = reverse(url_name, args=[current.pk]) if current else None
    context = {"old": old, "current_url": current_url}
    return render(request, "livinglab/document_replaced.html", context, status=410)


def healthz(request):
    """The cheapest page the stack can serve: a liveness probe, and the benchmarks' floor."""
    return HttpResponse("ok", content_type="text/plain")


def mfa_required(request):
    return render(
        request, "livinglab/mfa_required.html", status=403 if request.user.is_authenticated else 200
    )


def person_of(user) -> Person:
    person = Person.objects.filter(user=user).first()
    if person is None:
        person = services.register_person(user, full_name=user.get_full_name() or user.email)
    return person


# ------------------------------------------------------------------------------------------ workspaces


def remember_workspace(request, slug: str | None) -> None:
    """Land here next time; written only when it changes, so that reading a workspace writes nothing."""
    if request.session.get(WORKSPACE_SESSION_KEY) != slug:
        request.session[WORKSPACE_SESSION_KEY] = slug


@login_required
def workspace(request):
    """Land on the workspace used last, or the first one the user holds."""
    slug = request.session.get(WORKSPACE_SESSION_KEY)
    organisations = visible_organisations(request.user)
    if slug and organisations.filter(slug=slug).exists():
        return redirect("organisation_workspace", slug=slug)
    first = organisations.order_by("name").first()
    if first is not None and not request.user.is_superuser:
        return redirect("organisation_workspace", slug=first.slug)
    return redirect("participant_workspace")


@login_required
def participant_workspace(request):
    remember_workspace(request, None)
    person = person_of(request.user)
    wards = list(Person.objects.filter(guardianships__guardian=person).order_by("full_name"))
    consents = (
        ConsentRecord.objects.filter(person__in=[person, *wards], withdrawn_at__isnull=True)
        .select_related("person", "purpose", "version__document")
        .order_by("-given_at")
    )
    return render(
        request,
        "livinglab/workspace_participant.html",
        {
            "person": person,
            "wards": wards,
            "consents": paginate(request, consents),
            "pending_rules": services.pending_ground_rules(request.user),
            "memberships": Membership.objects.active()
            .filter(user=request.user)
            .select_related("organisation"),
            "open_documents": ConsentDocumentVersion.objects.filter(
                status=VersionStatus.PUBLISHED, document__scope_kind=ConsentDocument.ScopeKind.PLATFORM
            ).select_related("document"),
        },
    )


@login_required
def organisation_workspace(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    if not request.user.has_perm("livinglab.open_organisation_workspace", organisation):
        raise PermissionDenied(_("You are not a member of this organisation."))
    remember_workspace(request, organisation.slug)
    members = (
        Membership.objects.active()
        .filter(organisation=organisation)
        .select_related("user")
        .order_by("user__email")
    )
    context = {
        "organisation": organisation,
        "kind": workspace_kind(organisation),
        "members": paginate(request, members, param="members"),
        "my_roles": [m for m in active_memberships(request.user) if m.organisation_id == organisation.pk],
        "pending_rules": services.pending_ground_rules(request.user, organisation=organisation),
        "group_members": organisation.single_undertaking().exclude(pk=organisation.pk)
        if organisation.group_id
        else [],
    }
    if organisation.kind == Organisation.Kind.CLUSTER and is_cluster_staff(request.user):
        audit = AuditEntry.objects.select_related("organisation", "content_type").order_by("-seq")
        context["audit_entries"] = paginate(request, audit, per_page=15, param="audit")
        by_purpose = list(
            ConsentRecord.objects.active()
            .values_list("purpose__name")
            .annotate(n=Count("pk"))
            .order_by("-n", "purpose__name")
        )
        context["platform_counts"] = {
            "organisations": Organisation.objects.count(),
            "people": Person.objects.count(),
            "active_consents": sum(n for _, n in by_purpose),
        }
        context["consents_chart"] = horizontal_bars(by_purpose)
    return render(request, "livinglab/workspace_organisation.html", context)


# ---------------------------------------------------------------------------------------- ground rules


@login_required
def ground_rules_list(request):
    organisations = visible_organisations(request.user)
    pending = [(None, v) for v in services.pending_ground_rules(request.user)]
    for organisation in organisations:
        pending += [
            (organisation, v) for v in services.pending_ground_rules(request.user, organisation=organisation)
        ]
    accepted = (
        GroundRulesAcceptance.objects.filter(user=request.user)
        .select_related("version__rules", "organisation")
        .order_by("-accepted_at")
    )
    return render(
        request,
        "livinglab/ground_rules_list.html",
        {
            "pending": pending,
            "accepted": paginate(request, accepted),
        },
    )


@login_required
def ground_rules_detail(request, pk):
    version = get_object_or_404(GroundRulesVersion.objects.select_related("rules"), pk=pk)
    if version.status != VersionStatus.PUBLISHED:
        current = GroundRulesVersion.objects.current().filter(rules=version.rules).first()
        return version_replaced(request, version, current, "ground_rules_detail")
    organisations = visible_organisations(request.user)
    # The page that asked for the rules (see includes/ground_rules_refusal.html): where the user goes back to.
    back = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = AcceptGroundRulesForm(
        request.POST or None, organisations=organisations, initial={"text_sha256": version.text_sha256}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.accept_ground_rules(
                version,
                organisation=form.cleaned_data["organisation"],
                acting_user=request.user,
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                shown_sha256=form.cleaned_data["text_sha256"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Thank you: you accepted “%(rules)s”.") % {"rules": version})
            return redirect(back or "ground_rules_list")
    accepted = GroundRulesAcceptance.objects.filter(version=version, user=request.user).select_related(
        "organisation"
    )
    return render(
        request,
        "livinglab/ground_rules_detail.html",
        {
            "version": version,
            "form": form,
            "accepted": accepted,
            "back": back,
        },
    )


@login_required
def ground_rules_receipt_pdf(request, pk):
    acceptance = get_object_or_404(
        GroundRulesAcceptance.objects.select_related("version__rules", "user"), pk=pk
    )
    if not request.user.has_perm("livinglab.view_acceptance", acceptance):
        raise PermissionDenied
    return pdf_response(*ground_rules_receipt(acceptance))


# --------------------------------------------------------------------------------------------- consent


@login_required
def consent_overview(request):
    person = person_of(request.user)
    wards = list(Person.objects.filter(guardianships__guardian=person))
    records = (
        ConsentRecord.objects.filter(person__in=[person, *wards])
        .select_related("person", "purpose", "version__document", "guardian")
        .order_by("withdrawn_at", "-given_at")
    )
    documents = (
        ConsentDocumentVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("document")
        .prefetch_related(Prefetch("purposes"))
    )
    return render(
        request,
        "livinglab/consent_overview.html",
        {
            "person": person,
            "wards": wards,
            "records": paginate(request, records),
            "documents": documents,
        },
    )


@login_required
def consent_give(request, pk):
    version = get_object_or_404(ConsentDocumentVersion.objects.select_related("document"), pk=pk)
    if version.status != VersionStatus.PUBLISHED:
        current = ConsentDocumentVersion.objects.filter(
            document=version.document, status=VersionStatus.PUBLISHED
        ).first()
        return version_replaced(request, version, current, "consent_give")
    me = person_of(request.user)
    wards = list(Person.objects.filter(guardianships__guardian=me).order_by("full_name"))
    form = GiveConsentForm(request.POST or None, version=version, wards=wards)
    if request.method == "POST" and form.is_valid():
        subject = me
        ward_id = form.cleaned_data.get("for_person")
        if ward_id:
            subject = next((w for w in wards if str(w.pk) == ward_id), None)
            if subject is None or not request.user.has_perm("livinglab.give_consent_for", subject):
                raise PermissionDenied
        try:
            services.give_consent(
                subject,
                version,
                form.cleaned_data["chosen"],
                explicit_purposes=form.cleaned_data["explicit"],
                method="online",
                acting_user=request.user,
                guardian=me if subject != me else None,
                evidence={
                    "ip": client_ip(request),
                    "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
                    "form": "web",
                },
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your consent is recorded. A receipt is on its way by e-mail."))
            return redirect("consent_overview")
    return render(request, "livinglab/consent_give.html", {"version": version, "form": form})


@login_required
@require_POST
def consent_withdraw(request, pk):
    record = get_object_or_404(ConsentRecord.objects.select_related("person", "purpose"), pk=pk)
    if not request.user.has_perm("livinglab.withdraw_consent", record):
        raise PermissionDenied
    own = record.person.user_id == request.user.pk
    channel = (
        ConsentRecord.WithdrawalChannel.ONLINE
        if own
        else (
            ConsentRecord.WithdrawalChannel.STAFF
            if is_cluster_staff(request.user)
            and not request.user.has_perm("livinglab.give_consent_for", record.person)
            else ConsentRecord.WithdrawalChannel.GUARDIAN
        )
    )
    if services.withdraw_consent(record, channel=channel, acting_user=request.user):
        messages.success(
            request,
            _("Consent to “%(purpose)s” is withdrawn from now on.") % {"purpose": record.purpose.name},
        )
    else:
        messages.info(request, _("This consent had already been withdrawn."))
    return redirect(
        request.POST.get("next")
        if request.POST.get("next", "").startswith(("/workspace/", "/panels/me/"))
        else "consent_overview"
    )


@login_required
def consent_receipt_pdf(request, pk):
    record = get_object_or_404(
        ConsentRecord.objects.select_related("person", "purpose", "version__document", "guardian"), pk=pk
    )
    if not request.user.has_perm("livinglab.view_consent", record):
        raise PermissionDenied
    return pdf_response(*consent_receipt(record))

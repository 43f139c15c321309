"""The participant's own page: what the platform holds about them (or a ward), their panels and contact
preferences, a copy of their data, and erasure with its receipt."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.errors import DomainError
from livinglab.links import absolute_url
from livinglab.models import ConsentRecord, Person
from livinglab.pdf import render_pdf
from livinglab.views import paginate, pdf_response, person_of

from .models import (
    FIXED_ATTRIBUTES,
    AttributeKind,
    AttributeValue,
    DataExport,
    ErasureReceipt,
    Invitation,
    PanelMembership,
    ParticipantProfile,
    Participation,
)
from .rights_forms import ConfirmErasureForm, ContactPreferencesForm, MembershipStatusForm
from .rules import may_manage_own_data
from .services import panels as panel_services
from .services import rights

PER_PAGE = 10
# Failed password confirmations before the erasure form rests, and for how long.
ERASURE_ATTEMPTS = 5
ERASURE_LOCK_SECONDS = 15 * 60
# Receipts this browser was given, so that a second attempt can point to the first one's receipt.
RECEIPTS_SESSION_KEY = "pilots_erasure_receipts"


def subject_of(request, person_id: int | None) -> Person:
    """The person the page is about: the user's own person, or a ward they are guardian of."""
    if person_id is None:
        return person_of(request.user)
    person = get_object_or_404(Person.objects.select_related("user"), pk=person_id)
    if not may_manage_own_data(request.user, person):
        raise PermissionDenied
    return person


def page_of(person: Person, request) -> str:
    if person.user_id is not None and person.user_id == request.user.pk:
        return reverse("pilots:my_data")
    return reverse("pilots:my_data_for", args=[person.pk])


def edit_profile_url(person: Person, own: bool) -> str | None:
    """The profile form, where it exists (for oneself, or for a ward)."""
    try:
        return (
            reverse("pilots:edit_profile") if own else reverse("pilots:edit_ward_profile", args=[person.pk])
        )
    except NoReverseMatch:
        return None


def profile_rows(profile: ParticipantProfile | None) -> list[tuple[str, str]]:
    """Every attribute of the profile as (label, value as people read it)."""
    if profile is None:
        return []
    field = ParticipantProfile._meta.get_field
    rows = [(field("year_of_birth").verbose_name, profile.year_of_birth)]
    for attribute in FIXED_ATTRIBUTES.values():
        if attribute.code == "age":
            continue
        labels = dict(attribute.choices)
        if attribute.code == "age_band":
            values = [profile.age_band]
        elif attribute.kind == AttributeKind.MULTI:
            values = profile.values_of(attribute.column)
        else:
            values = [getattr(profile, attribute.column)]
        rows.append((attribute.label, ", ".join(str(labels.get(v, v)) for v in values if v)))
    for name in ("accessibility_notes", "household_key", "employer", "contact_email", "phone"):
        rows.append((field(name).verbose_name, getattr(profile, name)))
    rows.append((field("preferred_contact").verbose_name, profile.get_preferred_contact_display()))
    rows.append((field("contact_via").verbose_name, profile.contact_via.name if profile.contact_via else ""))
    shared = [str(FIXED_ATTRIBUTES[c].label) if c in FIXED_ATTRIBUTES else c for c in profile.shared]
    rows.append((field("shared_attributes").verbose_name, ", ".join(shared) or _("Nothing")))
    return [(capfirst(str(label)), value if value not in (None, "") else "—") for label, value in rows]


def membership_moves(membership: PanelMembership) -> list[dict]:
    """The buttons a participant sees for one membership: pause, resume or rejoin, leave."""
    status = PanelMembership.Status
    labels = {
        status.PAUSED: _("Pause"),
        status.ACTIVE: _("Rejoin") if membership.status == status.OPTED_OUT else _("Resume"),
        status.OPTED_OUT: _("Leave"),
    }
    return [
        {
            "status": move,
            "label": labels[move],
            "style": "button-danger" if move == status.OPTED_OUT else "button-secondary",
        }
        for move in rights.participant_moves(membership)
    ]


@login_required
def my_data(request, person_id=None):
    person = subject_of(request, person_id)
    own = person.user_id is not None and person.user_id == request.user.pk
    profile = ParticipantProfile.objects.select_related("contact_via").filter(person=person).first()
    memberships = (
        PanelMembership.objects.filter(person=person)
        .select_related("panel__owner")
        .prefetch_related(
            Prefetch(
                "answers",
                queryset=AttributeValue.objects.select_related("attribute").order_by(
                    "attribute__order", "pk"
                ),
            )
        )
        .order_by("panel__name", "pk")
    )
    invitations = (
        Invitation.objects.filter(person=person)
        .select_related("panel", "selection__draw")
        .order_by("-created_at", "-pk")
    )
    participations = (
        Participation.objects.filter(person=person)
        .select_related("panel", "invitation__selection__draw")
        .order_by("-occurred_at", "-pk")
    )
    consents = (
        ConsentRecord.objects.filter(person=person)
        .select_related("purpose", "version__document", "guardian")
        .order_by("withdrawn_at", "-given_at", "-pk")
    )
    memberships = paginate(request, memberships, PER_PAGE, "panels_page")
    for membership in memberships.object_list:
        membership.moves = membership_moves(membership)
    context = {
        "person": person,
        "own": own,
        "profile": profile,
        "profile_rows": profile_rows(profile),
        "edit_profile_url": edit_profile_url(person, own),
        "memberships": memberships,
        "invitations": paginate(request, invitations, PER_PAGE, "invitations_page"),
        "participations": paginate(request, participations, PER_PAGE, "history_page"),
        "consents": paginate(request, consents, PER_PAGE, "consents_page"),
        "contact_form": ContactPreferencesForm.for_profile(profile) if profile else None,
        "export": DataExport.objects.filter(person=person).order_by("-created_at").first(),
        "wards": list(Person.objects.filter(guardianships__guardian=person).order_by("full_name"))
        if own
        else [],
        "has_active": PanelMembership.objects.filter(
            person=person, status=PanelMembership.Status.ACTIVE
        ).exists(),
        "page_url": page_of(person, request),
    }
    return render(request, "pilots/rights/my_data.html", context)


@login_required
@require_POST
def change_my_membership(request, pk):
    membership = get_object_or_404(PanelMembership.objects.select_related("person", "panel"), pk=pk)
    if not may_manage_own_data(request.user, membership.person):
        raise PermissionDenied
    form = MembershipStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose pause, resume or leave."))
    else:
        try:
            rights.change_own_membership(membership, form.cleaned_data["status"], acting_user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, rights.membership_message(membership.panel, form.cleaned_data["status"])
            )
    return redirect(page_of(membership.person, request))


@login_required
@require_POST
def pause_my_panels(request, person_id=None):
    person = subject_of(request, person_id)
    paused = rights.pause_memberships(person, acting_user=request.user)
    if paused:
        messages.success(request, _("Paused: nobody will invite you to a study until you resume a panel."))
    else:
        messages.info(request, _("No panel was active: there was nothing to pause."))
    return redirect(page_of(person, request))


@login_required
@require_POST
def my_contact_preferences(request, person_id=None):
    person = subject_of(request, person_id)
    profile = get_object_or_404(ParticipantProfile, person=person)
    form = ContactPreferencesForm.for_profile(profile, request.POST)
    if form.is_valid():
        try:
            panel_services.save_profile(person, form.cleaned_data, acting_user=request.user)
        except (DomainError, ValidationError) as error:
            messages.error(request, getattr(error, "message", None) or "; ".join(error.messages))
        else:
            messages.success(request, _("Your contact preferences are saved."))
    else:
        messages.error(request, _("Please choose how we should contact you."))
    return redirect(page_of(person, request) + "#contact-heading")


# ------------------------------------------------------------------------------------------- export


@login_required
@require_POST
def request_my_export(request, person_id=None):
    person = subject_of(request, person_id)
    export = rights.request_data_export(person, acting_user=request.user)
    return redirect("pilots:my_export", pk=export.pk)


def own_export(request, pk) -> DataExport:
    """An export of the user's own data or of a ward's; anyone else learns nothing (404)."""
    export = DataExport.objects.select_related("person").filter(pk=pk).first()
    if export is None or not may_manage_own_data(request.user, export.person):
        raise Http404
    return export


@login_required
def my_export(request, pk):
    export = own_export(request, pk)
    in_progress = export.status in (DataExport.Status.QUEUED, DataExport.Status.RUNNING)
    return render(
        request,
        "pilots/rights/export.html",
        {
            "export": export,
            "person": export.person,
            "in_progress": in_progress,
            "refresh_seconds": 2,
            "page_url": page_of(export.person, request),
            "kept_days": rights.EXPORT_KEPT_FOR.days,
        },
    )


@login_required
def download_my_export(request, pk):
    export = own_export(request, pk)
    if export.status != DataExport.Status.READY or not export.file:
        raise Http404
    response = FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=f"livinglab-data-{export.finished_at:%Y-%m-%d}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------------------ erasure


def remembered_receipt(request, person_ref: str) -> str | None:
    return request.session.get(RECEIPTS_SESSION_KEY, {}).get(person_ref)


def remember_receipt(request, receipt: ErasureReceipt) -> None:
    receipts = dict(request.session.get(RECEIPTS_SESSION_KEY, {}))
    receipts[receipt.person_ref] = str(receipt.reference)
    request.session[RECEIPTS_SESSION_KEY] = receipts


def already_erased(request, reference: str | None):
    return render(request, "pilots/rights/already_erased.html", {"reference": reference}, status=410)


def erase_me(request, person_id=None):
    """Confirm, then erase. A second attempt (a double click, another tab, the back button) explains that
    the data is already gone, with the receipt this browser was given the first time."""
    if person_id is not None:
        if not request.user.is_authenticated:  # say nothing about who exists or was erased
            return redirect_to_login(request.get_full_path())
        ward = get_object_or_404(Person, pk=person_id)
        if rights.is_erased(ward):
            return already_erased(request, remembered_receipt(request, rights.person_ref(ward)))
    if not request.user.is_authenticated:
        receipts = request.session.get(RECEIPTS_SESSION_KEY, {})
        if person_id is None and receipts:
            return already_erased(request, next(iter(receipts.values())))
        return redirect_to_login(request.get_full_path())
    person = subject_of(request, person_id)
    own = person.user_id is not None and person.user_id == request.user.pk
    form = ConfirmErasureForm(request.POST or None, user=request.user)
    lock_key = f"pilots:erase-attempts:{request.user.pk}"
    if request.method == "POST":
        if cache.get(lock_key, 0) >= ERASURE_ATTEMPTS:
            form.is_valid()
            form.add_error(None, _("Too many wrong passwords. Please try again in 15 minutes."))
        elif form.is_valid():
            try:
                receipt = rights.erase_person(
                    person,
                    acting_user=request.user,
                    requested_by=rights.RequestedBy.PERSON if own else rights.RequestedBy.GUARDIAN,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                if own:
                    logout(
                        request
                    )  # the account no longer exists; the new, anonymous session keeps the receipt
                remember_receipt(request, receipt)
                return redirect("pilots:erasure_receipt", reference=receipt.reference)
        elif "password" in form.errors and not cache.add(lock_key, 1, ERASURE_LOCK_SECONDS):
            cache.incr(lock_key)
    context = {
        "person": person,
        "own": own,
        "form": form,
        "page_url": page_of(person, request),
        "wards": list(Person.objects.filter(guardianships__guardian=person).order_by("full_name"))
        if own
        else [],
        "counts": rights.erasure_preview(person),
    }
    return render(request, "pilots/rights/erase_confirm.html", context)


def erasure_receipt(request, reference):
    """Open to anyone holding the reference: it names nobody."""
    receipt = get_object_or_404(ErasureReceipt, reference=reference)
    return render(request, "pilots/rights/erasure_receipt.html", receipt_context(receipt))


def erasure_receipt_pdf(request, reference):
    receipt = get_object_or_404(ErasureReceipt, reference=reference)
    pdf = render_pdf("pdf/erasure_receipt.html", receipt_context(receipt))
    return pdf_response(f"erasure-receipt-{receipt.reference}.pdf", pdf)


def receipt_context(receipt: ErasureReceipt) -> dict:
    return {
        "receipt": receipt,
        "receipt_url": absolute_url("pilots:erasure_receipt", receipt.reference),
        "summary": rights.erasure_summary(receipt),
        "requested_by": rights.RequestedBy.LABELS.get(receipt.requested_by, receipt.requested_by),
    }

"""Wagtail admin for voucher programmes, run by cluster staff. Every change goes through
``vouchers.services``; the ledger is shown, never edited."""

from django import forms
from django.contrib import messages as django_messages
from django.db.models import DecimalField, Q, Sum
from django.db.models.functions import Coalesce, Round
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import ListingButton

from livinglab.errors import DomainError
from livinglab.models import Person
from livinglab.policy import staff
from livinglab.viewsets import ReadOnlyViewSet, RulesPolicy, ServiceCreateView, ServiceEditView

from . import services
from .models import (
    ZERO,
    Application,
    DeMinimisAid,
    Enrolment,
    HouseholdType,
    LedgerEntry,
    Programme,
    Solution,
    Voucher,
    cents,
)

MONEY = DecimalField(max_digits=14, decimal_places=2)


def entries_sum(kinds, *, negate=False):
    """SUM of a programme's ledger entries of ``kinds``, to the cent, zero when there are none."""
    total = Sum("vouchers__entries__amount", filter=Q(vouchers__entries__kind__in=kinds))
    if negate:
        total = -total
    return Coalesce(Round(total, 2, output_field=MONEY), ZERO, output_field=MONEY)


def money_of(attribute: str):
    """A column accessor showing an annotated sum to the cent (SQLite hands sums back without places)."""
    return lambda instance: cents(getattr(instance, attribute))


class ListQuerysetMixin:
    """The queryset a viewset's listing starts from (with ``select_related``), given to its index view."""

    list_queryset = None

    def get_index_view_kwargs(self, **kwargs):
        if self.list_queryset is not None:
            kwargs.setdefault("queryset", self.list_queryset)
        return super().get_index_view_kwargs(**kwargs)


class ServiceFormView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """A small admin form acting on one object through a service; a refusal is shown as a form error."""

    template_name = "wagtailadmin/generic/form.html"
    model = None
    permission_required = "change"
    index_url_name = None
    header_icon = ""
    submit_button_label = _("Save")
    error_message = _("This could not be done.")

    @cached_property
    def object(self):
        return get_object_or_404(self.model, pk=self.kwargs["pk"])

    def get_page_title(self):
        return self.page_title

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.object,
            action_url=self.request.path,
            submit_button_label=self.submit_button_label,
            submit_button_active_label=self.submit_button_label,
        )
        return context

    def perform(self, form):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            message = self.perform(form)
        except DomainError as error:
            form.add_error(None, error.message)
            messages.validation_error(self.request, self.error_message, form)
            return self.form_invalid(form)
        django_messages.success(self.request, message)
        return redirect(self.index_url_name)


# ------------------------------------------------------------------------------------------ programmes


class ProgrammeStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Programme.Status.choices)


class ProgrammeStatusView(ServiceFormView):
    page_title = _("Change the status of a programme")
    form_class = ProgrammeStatusForm
    submit_button_label = _("Change status")
    error_message = _("The status could not be changed.")

    def get_initial(self):
        following = sorted(Programme.TRANSITIONS.get(self.object.status, ()))
        return {"status": following[0] if following else self.object.status}

    def perform(self, form):
        programme = services.change_programme_status(
            self.object, form.cleaned_data["status"], acting_user=self.request.user
        )
        return _("%(programme)s is now %(status)s.") % {
            "programme": programme,
            "status": programme.get_status_display().lower(),
        }


class ProgrammeIndexView(IndexView):
    status_url_name = None

    def get_base_queryset(self):
        # Committed and redeemed come from the ledger in the same query as the programmes.
        return (
            super()
            .get_base_queryset()
            .select_related("funder", "operator")
            .annotate(
                committed=entries_sum(LedgerEntry.COMMITTING_KINDS),
                redeemed=entries_sum((LedgerEntry.Kind.REDEEM, LedgerEntry.Kind.REVERSE), negate=True),
            )
        )

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if (
            self.status_url_name
            and self.user_has_permission("change")
            and Programme.TRANSITIONS[instance.status]
        ):
            buttons.append(
                ListingButton(
                    _("Change status"),
                    url=reverse(self.status_url_name, args=(instance.pk,)),
                    icon_name="resubmit",
                    priority=15,
                )
            )
        return buttons


class LinesField(forms.CharField):
    """A list of short texts edited as a textarea, one per line (blank lines and repeats dropped)."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value):
        lines = []
        for line in (value or "").splitlines():
            line = line.strip()
            if line and line.casefold() not in {seen.casefold() for seen in lines}:
                lines.append(line)
        return lines

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if any(len(line) > 100 for line in value):
            raise forms.ValidationError(_("A region name has at most 100 characters."))


class ProgrammeForm(WagtailAdminModelForm):
    """The programme's settings, with the eligibility rules in forms people can fill in."""

    eligible_regions = LinesField(
        label=_("Eligible regions"),
        required=False,
        help_text=_("One region per line. Leave empty to accept every region."),
    )
    eligible_household_types = forms.TypedMultipleChoiceField(
        label=_("Eligible household types"),
        choices=HouseholdType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick none to accept every household type."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left empty, these keep the model's defaults (first come, first served; 14 days).
        for name in ("selection", "reminder_days"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_selection(self):
        return self.cleaned_data.get("selection") or Programme.Selection.FIRST_COME

    def clean_reminder_days(self):
        days = self.cleaned_data.get("reminder_days")
        return days if days is not None else Programme._meta.get_field("reminder_days").default


PROGRAMME_PANELS = [
    MultiFieldPanel(
        [FieldPanel(name) for name in ("title", "slug", "funder", "operator", "channel")],
        heading=_("Programme"),
    ),
    MultiFieldPanel(
        [
            FieldPanel(name)
            for name in (
                "total_budget",
                "value_rule",
                "face_value",
                "co_funding_rate",
                "co_funding_cap",
                "partial_redemption",
                "de_minimis_ceiling",
            )
        ],
        heading=_("Money"),
    ),
    MultiFieldPanel(
        [FieldPanel(name) for name in ("opens_at", "closes_at", "valid_from", "valid_until")],
        heading=_("Dates"),
    ),
    MultiFieldPanel(
        [
            FieldPanel(name)
            for name in (
                "eligible_regions",
                "eligible_household_types",
                "min_age",
                "max_age",
                "first_time_only",
            )
        ],
        heading=_("Who can apply"),
    ),
    MultiFieldPanel(
        [
            FieldPanel("selection", widget=forms.RadioSelect),
            FieldPanel("feedback_required"),
            FieldPanel("reminder_days"),
        ],
        heading=_("Selection and follow-up"),
    ),
]


class ProgrammeCreateView(ServiceCreateView):
    service = staticmethod(services.save_programme)


class ProgrammeEditView(ServiceEditView):
    service = staticmethod(services.save_programme)


class ProgrammeViewSet(ModelViewSet):
    model = Programme
    icon = "folder-open-inverse"
    menu_label = _("Programmes")
    index_view_class = ProgrammeIndexView
    add_view_class, edit_view_class = ProgrammeCreateView, ProgrammeEditView
    edit_handler = ObjectList(PROGRAMME_PANELS, base_form_class=ProgrammeForm)
    list_display = [
        "title",
        "status",
        "channel",
        "funder",
        "total_budget",
        Column("committed", label=_("Committed (EUR)"), accessor=money_of("committed"), sort_key="committed"),
        Column("redeemed", label=_("Redeemed (EUR)"), accessor=money_of("redeemed"), sort_key="redeemed"),
    ]
    list_filter = ["status", "channel", "funder"]
    search_fields = ["title"]
    copy_view_enabled = False
    inspect_view_enabled = True

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(status_url_name=self.get_url_name("status"), **kwargs)

    @property
    def status_view(self):
        return self.construct_view(ProgrammeStatusView, index_url_name=self.get_url_name("index"))

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("status/<int:pk>/", self.status_view, name="status")]


# ------------------------------------------------------------------------------- solutions, enrolments


class SolutionCreateView(ServiceCreateView):
    service = staticmethod(services.save_solution)


class SolutionEditView(ServiceEditView):
    service = staticmethod(services.save_solution)


class SolutionViewSet(ListQuerysetMixin, ModelViewSet):
    model = Solution
    icon = "pick"
    menu_label = _("Solutions")
    add_view_class, edit_view_class = SolutionCreateView, SolutionEditView
    form_fields = ["firm", "name", "description", "price", "category"]
    list_display = ["name", "firm", "category", "price"]
    list_filter = ["category"]
    search_fields = ["name", "firm__name"]
    copy_view_enabled = False
    list_queryset = Solution.objects.select_related("firm")


class EnrolmentDecisionForm(WagtailAdminModelForm):
    decision = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )


class EnrolmentDecideView(ServiceEditView):
    page_title = _("Decide")
    submit_button_label = _("Save the decision")

    def save_instance(self):
        return services.decide_enrolment(
            self.object,
            approve=self.form.cleaned_data["decision"] == "approve",
            acting_user=self.request.user,
        )


class EnrolmentViewSet(ListQuerysetMixin, ModelViewSet):
    model = Enrolment
    icon = "tick"
    menu_label = _("Enrolments")
    edit_view_class = EnrolmentDecideView
    edit_handler = ObjectList([FieldPanel("decision")], base_form_class=EnrolmentDecisionForm)
    list_display = ["solution", "solution__firm", "programme", "status", "applied_at", "decided_at"]
    list_filter = ["status", "programme"]
    copy_view_enabled = False
    list_queryset = Enrolment.objects.select_related("solution__firm", "programme")


# -------------------------------------------------------------------------------------------- vouchers


def masked_code(voucher: Voucher) -> str:
    """Enough of the code to tell vouchers apart on the telephone, never enough to spend one."""
    return "••••-••••-••••-" + voucher.formatted_code[-6:]


def pseudonym(voucher: Voucher) -> str:
    return _("person #%(id)s") % {"id": voucher.holder_id}


class IssueVoucherForm(WagtailAdminModelForm):
    holder = forms.ModelChoiceField(
        queryset=Person.objects.all(),
        widget=forms.NumberInput,
        label=_("Person number"),
        help_text=_("The number of the person who receives the voucher (shown as “person #…”)."),
    )


class VoucherIssueView(ServiceCreateView):
    page_title = _("Issue a voucher")
    submit_button_label = _("Issue the voucher")

    def save_instance(self):
        data = self.form.cleaned_data
        return services.issue_voucher(data["programme"], data["holder"], acting_user=self.request.user)


class CancelVoucherForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the audit trail."),
    )


class VoucherCancelView(ServiceFormView):
    permission_required = "cancel"
    page_title = _("Cancel a voucher")
    form_class = CancelVoucherForm
    submit_button_label = _("Cancel the voucher")
    error_message = _("The voucher could not be cancelled.")

    def perform(self, form):
        voucher = services.cancel_voucher(
            self.object, reason=form.cleaned_data["reason"], acting_user=self.request.user
        )
        return _("%(voucher)s is cancelled; its remaining value went back to the budget.") % {
            "voucher": voucher
        }


class VoucherIndexView(IndexView):
    cancel_url_name = None
    add_item_label = _("Issue a voucher")

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("programme").with_balance()

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if (
            self.cancel_url_name
            and instance.can_transition(Voucher.Status.CANCELLED)
            and self.user_has_permission("cancel")
        ):
            buttons.append(
                ListingButton(
                    _("Cancel"),
                    url=reverse(self.cancel_url_name, args=(instance.pk,)),
                    icon_name="cross",
                    priority=40,
                )
            )
        return buttons


class VoucherViewSet(ModelViewSet):
    model = Voucher
    icon = "tag"
    menu_label = _("Vouchers")
    index_view_class = VoucherIndexView
    add_view_class = VoucherIssueView
    edit_handler = ObjectList(
        [FieldPanel("programme"), FieldPanel("holder")], base_form_class=IssueVoucherForm
    )
    list_display = [
        Column("code", label=_("Code"), accessor=masked_code),
        Column("holder", label=_("Holder"), accessor=pseudonym),
        "programme",
        "status",
        "face_value",
        Column("balance", label=_("Balance (EUR)"), accessor=money_of("balance_sum"), sort_key="balance_sum"),
        "expires_at",
    ]
    list_filter = ["status", "programme"]
    copy_view_enabled = False
    inspect_view_enabled = True
    # Neither the code (a bearer secret) nor the holder's name.
    inspect_view_fields = ["programme", "face_value", "status", "issued_at", "expires_at"]
    list_per_page = 50

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(cancel_url_name=self.get_url_name("cancel"), **kwargs)

    @property
    def cancel_view(self):
        return self.construct_view(VoucherCancelView, index_url_name=self.get_url_name("index"))

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("cancel/<int:pk>/", self.cancel_view, name="cancel")]


class LedgerEntryViewSet(ListQuerysetMixin, ReadOnlyViewSet):
    model = LedgerEntry
    icon = "list-ul"
    menu_label = _("Ledger")
    list_display = ["voucher", "kind", "amount", "firm", "solution", "created_at"]
    list_filter = ["kind"]
    ordering = ["-created_at", "-pk"]
    inspect_view_fields_exclude = ["idempotency_key"]
    list_queryset = LedgerEntry.objects.select_related("voucher", "firm", "solution")


# ---------------------------------------------------------------------------------------- applications


def applicant_pseudonym(application: Application) -> str:
    return _("person #%(id)s") % {"id": application.applicant_id}


class ApplicationPolicy(RulesPolicy):
    """Cluster staff follow applications here (pseudonymised); the operator's own page shows names."""

    def user_has_permission(self, user, action):
        return action in self.actions and staff(user)


class ApplicationViewSet(ListQuerysetMixin, ReadOnlyViewSet):
    model = Application
    icon = "form"
    menu_label = _("Applications")
    list_display = [
        Column("applicant", label=_("Applicant"), accessor=applicant_pseudonym),
        "programme",
        "status",
        "region",
        "household_type",
        "lottery_rank",
        "submitted_at",
    ]
    list_filter = ["programme", "status"]
    ordering = ["-submitted_at", "-pk"]
    # No names, postcodes or the reasons' wording (which may quote what the person declared).
    inspect_view_fields = [
        "programme",
        "status",
        "region",
        "household_type",
        "lottery_rank",
        "submitted_at",
        "decided_at",
    ]
    list_queryset = Application.objects.select_related("programme")


# ------------------------------------------------------------------------------------------- State aid


class DeclareAidView(ServiceCreateView):
    page_title = _("Record declared de minimis aid")

    def save_instance(self):
        data = self.form.cleaned_data
        return services.record_de_minimis_aid(
            data["organisation"],
            amount=data["amount"],
            granted_on=data["granted_on"],
            granting_body=data["granting_body"],
            source=DeMinimisAid.Source.DECLARED,
            acting_user=self.request.user,
        )


class DeMinimisAidViewSet(ListQuerysetMixin, ModelViewSet):
    model = DeMinimisAid
    icon = "warning"
    menu_label = _("De minimis aid")
    add_view_class = DeclareAidView
    form_fields = ["organisation", "amount", "granted_on", "granting_body"]
    list_display = ["organisation", "amount", "granted_on", "granting_body", "source", "programme"]
    list_filter = ["source", "programme"]
    search_fields = ["organisation__name", "granting_body"]
    copy_view_enabled = False
    inspect_view_enabled = True
    list_queryset = DeMinimisAid.objects.select_related("organisation", "programme")


class VouchersGroup(ViewSetGroup):
    menu_label = _("Vouchers")
    menu_icon = "tag"
    menu_order = 300
    items = (
        ProgrammeViewSet,
        SolutionViewSet,
        EnrolmentViewSet,
        VoucherViewSet,
        ApplicationViewSet,
        LedgerEntryViewSet,
        DeMinimisAidViewSet,
    )


# The actions each model supports in the admin, whatever a user's permissions ("cancel" is a voucher's
# own action). Nobody, not even a superuser, changes or deletes a ledger entry, a voucher or aid here.
POLICIES = {
    Programme: ("add", "change", "view"),
    Solution: ("add", "change", "view"),
    Enrolment: ("change", "view"),
    Voucher: ("add", "view", "cancel"),
    LedgerEntry: ("view",),
    DeMinimisAid: ("add", "view"),
    Application: ("view",),
}
# Models whose admin permissions are not the model-level rules of vouchers/rules.py.
POLICY_CLASSES = {Application: ApplicationPolicy}

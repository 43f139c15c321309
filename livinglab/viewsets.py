"""Wagtail admin for the core domain. Every save goes through ``livinglab.services``."""

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.views.generic import CreateView, DeleteView, EditView
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import ModelPermissionPolicy

from . import services
from .errors import DomainError
from .models import (
    AuditEntry,
    ConsentDocument,
    ConsentDocumentVersion,
    ConsentPurpose,
    ConsentRecord,
    EnterpriseGroup,
    GroundRules,
    GroundRulesAcceptance,
    GroundRulesVersion,
    Membership,
    Organisation,
)


class RulesPolicy(ModelPermissionPolicy):
    """Asks ``livinglab.policy`` (through user.has_perm) and allows only the actions a model supports,
    so that not even a superuser edits an audit entry or a consent record through the admin."""

    def __init__(self, model, actions=("add", "change", "view")):
        super().__init__(model)
        self.actions = set(actions)

    def user_has_permission(self, user, action):
        return action in self.actions and super().user_has_permission(user, action)


class ServiceSaveMixin:
    """Save through a service: ``service(instance, acting_user=...)``; domain errors become form errors."""

    service = None

    def save_instance(self):
        return type(self).service(self.form.instance, acting_user=self.request.user)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except (DomainError, ValidationError) as error:
            form.add_error(None, getattr(error, "message", None) or error.messages[0])
            # Wagtail sets this only when the form itself is invalid; form_invalid() reads it.
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class ServiceCreateView(ServiceSaveMixin, CreateView):
    pass


class ServiceEditView(ServiceSaveMixin, EditView):
    pass


class ReferenceCreateView(ServiceCreateView):
    service = staticmethod(services.save_reference_data)


class ReferenceEditView(ServiceEditView):
    service = staticmethod(services.save_reference_data)


# ---------------------------------------------------------------------------------------- organisations


class OrganisationViewSet(ModelViewSet):
    model = Organisation
    icon = "group"
    menu_label = _("Organisations")
    add_view_class, edit_view_class = ReferenceCreateView, ReferenceEditView
    form_fields = ["name", "slug", "kind", "country", "region", "sector", "size", "group", "website"]
    list_display = ["name", "kind", "country", "region", "sector", "group"]
    list_filter = ["kind", "country", "size"]
    search_fields = ["name", "region", "sector"]
    copy_view_enabled = False
    inspect_view_enabled = True


class EnterpriseGroupViewSet(ModelViewSet):
    model = EnterpriseGroup
    icon = "link"
    menu_label = _("Linked-enterprise groups")
    add_view_class, edit_view_class = ReferenceCreateView, ReferenceEditView
    form_fields = ["name"]
    list_display = ["name"]
    search_fields = ["name"]
    copy_view_enabled = False


class MembershipCreateView(ServiceCreateView):
    def save_instance(self):
        m = self.form.instance
        return services.add_membership(m.user, m.organisation, m.role, acting_user=self.request.user)


class MembershipEndView(DeleteView):
    """ "Delete" ends the membership: the record stays for the audit trail."""

    def delete_action(self):
        services.end_membership(self.object, acting_user=self.request.user)


class MembershipFilterSet(WagtailFilterSet):
    active = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull", label=_("Active"))

    class Meta:
        model = Membership
        fields = ["role", "organisation"]


class MembershipViewSet(ModelViewSet):
    model = Membership
    icon = "user"
    menu_label = _("Memberships")
    add_view_class = MembershipCreateView
    delete_view_class = MembershipEndView
    form_fields = ["user", "organisation", "role"]
    list_display = ["user", "organisation", "role", "created_at", "ended_at"]
    filterset_class = MembershipFilterSet
    search_fields = ["user__email", "organisation__name"]
    copy_view_enabled = False


# ---------------------------------------------------------------------------- ground rules and consent

SCOPE_FIELDS = ["title", "scope_kind", "channel", "content_type", "object_id"]


class GroundRulesViewSet(ModelViewSet):
    model = GroundRules
    icon = "doc-full"
    menu_label = _("Ground rules")
    add_view_class, edit_view_class = ReferenceCreateView, ReferenceEditView
    form_fields = SCOPE_FIELDS
    list_display = ["title", "scope_kind", "channel"]
    list_filter = ["scope_kind", "channel"]
    copy_view_enabled = False


class ConsentDocumentViewSet(GroundRulesViewSet):
    model = ConsentDocument
    menu_label = _("Consent documents")


class VersionForm(WagtailAdminModelForm):
    publish_now = forms.BooleanField(
        label=_("Publish this version now"),
        required=False,
        help_text=_("Published text can never be changed. Earlier acceptances or consents must be renewed."),
    )


class SaveVersionMixin:
    """Save the draft (and its purposes), then publish it if asked to: two services, one per change."""

    def save_instance(self):
        # save(commit=False) writes nothing; it only makes save_m2m() available for the purposes.
        version = services.save_draft_version(self.form.save(commit=False), acting_user=self.request.user)
        self.form.save_m2m()
        if self.form.cleaned_data.get("publish_now"):
            version = services.publish_version(version, acting_user=self.request.user)
        return version


class VersionCreateView(SaveVersionMixin, ServiceCreateView):
    pass


class VersionEditView(SaveVersionMixin, ServiceEditView):
    def dispatch(self, request, *args, **kwargs):
        version = self.model.objects.filter(pk=kwargs.get("pk")).first()
        if version is not None and not version.is_editable:
            messages.warning(
                request,
                _("This version is published and can no longer be changed. Add a new version instead."),
            )
            return redirect(self.index_url_name)
        return super().dispatch(request, *args, **kwargs)


class GroundRulesVersionViewSet(ModelViewSet):
    model = GroundRulesVersion
    icon = "doc-full-inverse"
    menu_label = _("Ground rules versions")
    add_view_class, edit_view_class = VersionCreateView, VersionEditView
    edit_handler = ObjectList(
        [
            FieldPanel("rules"),
            FieldPanel("text"),
            FieldPanel("summary_of_changes"),
            FieldPanel("publish_now"),
        ],
        base_form_class=VersionForm,
    )
    list_display = ["__str__", "status", "published_at", "text_sha256"]
    list_filter = ["status", "rules"]
    copy_view_enabled = False
    inspect_view_enabled = True


class ConsentDocumentVersionViewSet(GroundRulesVersionViewSet):
    model = ConsentDocumentVersion
    menu_label = _("Consent document versions")
    edit_handler = ObjectList(
        [
            FieldPanel("document"),
            FieldPanel("text"),
            FieldPanel("purposes", widget=forms.CheckboxSelectMultiple),
            FieldPanel("summary_of_changes"),
            FieldPanel("publish_now"),
        ],
        base_form_class=VersionForm,
    )
    list_filter = ["status", "document"]


class ConsentPurposeViewSet(ModelViewSet):
    model = ConsentPurpose
    icon = "tick-inverse"
    menu_label = _("Consent purposes")
    add_view_class, edit_view_class = ReferenceCreateView, ReferenceEditView
    form_fields = ["code", "name", "description", "special_category"]
    list_display = ["name", "code", "special_category"]
    copy_view_enabled = False


class ReadOnlyViewSet(ModelViewSet):
    """Records that only services write: listed, filtered and inspected, never edited here."""

    copy_view_enabled = False
    inspect_view_enabled = True
    list_per_page = 50
    # Wagtail builds an add form for every viewset; RulesPolicy never lets anyone reach it.
    exclude_form_fields: list[str] = []


class GroundRulesAcceptanceViewSet(ReadOnlyViewSet):
    model = GroundRulesAcceptance
    icon = "tick"
    menu_label = _("Ground rules acceptances")
    list_display = ["version", "user", "organisation", "accepted_at"]
    list_filter = ["version", "organisation"]
    search_fields = ["user__email"]
    list_export = ["version", "organisation", "accepted_at", "text_sha256"]


class ConsentRecordViewSet(ReadOnlyViewSet):
    model = ConsentRecord
    icon = "tick"
    menu_label = _("Consent records")
    list_display = ["person", "purpose", "version", "method", "given_at", "withdrawn_at"]
    list_filter = ["purpose", "method", "withdrawal_channel"]


class AuditFilterSet(WagtailFilterSet):
    action = django_filters.CharFilter(lookup_expr="istartswith", label=_("Action code starts with"))
    created_at = django_filters.DateFromToRangeFilter(label=_("Date"))
    actor_ref = django_filters.CharFilter(label=_("Actor reference (user:id)"))

    class Meta:
        model = AuditEntry
        fields = ["action", "organisation", "content_type", "actor_ref", "created_at"]


class AuditEntryViewSet(ReadOnlyViewSet):
    model = AuditEntry
    icon = "history"
    menu_label = _("Audit trail")
    add_to_admin_menu = True
    menu_order = 900
    list_display = ["seq", "created_at", "action", "actor_ref", "organisation", "object_repr"]
    filterset_class = AuditFilterSet
    ordering = ["-seq"]
    search_fields = ["action", "object_repr"]


class PlatformGroup(ViewSetGroup):
    menu_label = _("Organisations")
    menu_icon = "group"
    menu_order = 200
    items = (OrganisationViewSet, MembershipViewSet, EnterpriseGroupViewSet)


class RulesAndConsentGroup(ViewSetGroup):
    menu_label = _("Ground rules & consent")
    menu_icon = "doc-full"
    menu_order = 210
    items = (
        GroundRulesViewSet,
        GroundRulesVersionViewSet,
        GroundRulesAcceptanceViewSet,
        ConsentPurposeViewSet,
        ConsentDocumentViewSet,
        ConsentDocumentVersionViewSet,
        ConsentRecordViewSet,
    )


POLICIES = {
    Organisation: ("add", "change", "view"),
    EnterpriseGroup: ("add", "change", "view"),
    Membership: ("add", "view", "delete"),
    GroundRules: ("add", "change", "view"),
    ConsentDocument: ("add", "change", "view"),
    GroundRulesVersion: ("add", "change", "view"),
    ConsentDocumentVersion: ("add", "change", "view"),
    ConsentPurpose: ("add", "change", "view"),
    GroundRulesAcceptance: ("view",),
    ConsentRecord: ("view",),
    AuditEntry: ("view",),
}

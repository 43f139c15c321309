"""Wagtail admin for the B2B reference data the cluster's staff keep tidy: the sector and technology tags
needs and offers are matched on, and the topics reports are published under. Both are snippets; every save
goes through ``services.intelligence.save_reference_entry`` (audited). Nothing is deleted here: needs,
offers, reports and subscriptions refer to them."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.snippets.views.chooser import SnippetChooserViewSet, SnippetChosenView
from wagtail.snippets.views.snippets import CreateView, EditView, SnippetViewSet, SnippetViewSetGroup

from livinglab.viewsets import ServiceSaveMixin

from .models import Tag, Topic
from .services.intelligence import save_reference_entry


class ReferenceSaveMixin(ServiceSaveMixin):
    service = staticmethod(save_reference_entry)

    def save_instance(self):
        self.new_revision = None  # tags and topics keep no revisions
        return super().save_instance()


class ReferenceCreateView(ReferenceSaveMixin, CreateView):
    pass


class ReferenceEditView(ReferenceSaveMixin, EditView):
    pass


class ReferenceChosenView(SnippetChosenView):
    def get_object(self, pk):
        # Wagtail answers 404 for an unknown object but lets a malformed id through to the query as a 500.
        try:
            return super().get_object(pk)
        except (TypeError, ValueError) as error:
            raise self.model_class.DoesNotExist from error


class ReferenceChooserViewSet(SnippetChooserViewSet):
    chosen_view_class = ReferenceChosenView


class TagViewSet(SnippetViewSet):
    model = Tag
    icon = "tag"
    menu_label = _("Sector and technology tags")
    add_view_class, edit_view_class = ReferenceCreateView, ReferenceEditView
    chooser_viewset_class = ReferenceChooserViewSet
    panels = [FieldPanel("kind"), FieldPanel("name"), FieldPanel("slug")]
    list_display = ["name", "kind", "slug"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    ordering = ["kind", "name"]
    copy_view_enabled = False


class TopicViewSet(SnippetViewSet):
    model = Topic
    icon = "doc-full"
    menu_label = _("Intelligence topics")
    add_view_class, edit_view_class = ReferenceCreateView, ReferenceEditView
    chooser_viewset_class = ReferenceChooserViewSet
    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")]
    list_display = ["name", "slug", "description"]
    search_fields = ["name", "slug", "description"]
    ordering = ["name"]
    copy_view_enabled = False


class B2BReferenceGroup(SnippetViewSetGroup):
    menu_label = _("Business to business")
    menu_icon = "tag"
    menu_order = 330
    items = (TagViewSet, TopicViewSet)


# The actions each model supports in the admin, whatever a user's permissions (``b2b.rules`` decides who).
POLICIES = {Tag: ("add", "change", "view"), Topic: ("add", "change", "view")}

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from .blocks import BodyBlock


class HomePage(Page):
    """The public front page: what the living lab offers and to whom."""

    introduction = models.TextField(_("introduction"), blank=True)
    body = StreamField(BodyBlock(), blank=True, use_json_field=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    subpage_types = ["cms.StandardPage", "cms.VoucherProgrammePage"]
    max_count = 1

    class Meta:
        verbose_name = _("home page")


class StandardPage(Page):
    """A general page built from the shared body blocks."""

    introduction = models.TextField(_("introduction"), blank=True)
    body = StreamField(BodyBlock(), blank=True, use_json_field=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    subpage_types = ["cms.StandardPage", "cms.VoucherProgrammePage"]

    class Meta:
        verbose_name = _("standard page")


class VoucherProgrammePage(Page):
    """The public page of a voucher programme: who can apply, for what, at which firms, and how.

    Whether applications are open is computed on each request from the programme's window and its
    remaining budget, so that the page closes itself."""

    programme = models.ForeignKey(
        "vouchers.Programme", verbose_name=_("programme"), on_delete=models.PROTECT, related_name="pages"
    )
    introduction = models.TextField(_("introduction"), blank=True)
    how_to_apply = RichTextField(
        _("how to apply"),
        blank=True,
        features=["bold", "italic", "link", "ol", "ul", "h3"],
        help_text=_("Steps, documents to have at hand, whom to ask for help."),
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("programme"),
        FieldPanel("introduction"),
        FieldPanel("how_to_apply"),
    ]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("voucher programme page")

    def closed_reason(self, programme, remaining, now) -> str | None:
        """Why applications are closed now, or None when people can apply."""
        if not programme.accepts_applications(now):
            if programme.status == programme.Status.DRAFT or (
                programme.status == programme.Status.OPEN and now < programme.opens_at
            ):
                return _("Applications have not opened yet.")
            return _("The application period has ended.")
        if remaining < programme.voucher_value:
            return _("The programme's budget is used up.")
        return None

    def get_context(self, request, *args, **kwargs):
        # Imported here: the vouchers app's models import nothing from cms, and pages load early.
        from vouchers.models import Enrolment
        from vouchers.services.applications import eligibility_summary

        context = super().get_context(request, *args, **kwargs)
        programme = (
            type(self.programme).objects.select_related("funder", "operator").get(pk=self.programme_id)
        )
        remaining = programme.remaining_budget()
        enrolments = (
            Enrolment.objects.filter(programme=programme, status=Enrolment.Status.APPROVED)
            .select_related("solution__firm")
            .order_by("solution__firm__name", "solution__name")
        )
        firms: dict = {}
        for enrolment in enrolments:
            firms.setdefault(enrolment.solution.firm, []).append(enrolment.solution)
        context.update(
            programme=programme,
            remaining_budget=max(remaining, 0),
            closed_reason=self.closed_reason(programme, remaining, timezone.now()),
            firms=list(firms.items()),
            who_can_apply=eligibility_summary(programme),
        )
        return context

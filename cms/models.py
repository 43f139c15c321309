from django.db import models
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page, PageManager
from wagtail.query import PageQuerySet

from .blocks import BodyBlock


class HomePage(Page):
    """The public front page: what the living lab offers and to whom."""

    introduction = models.TextField(_("introduction"), blank=True)
    body = StreamField(BodyBlock(), blank=True, use_json_field=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    subpage_types = [
        "cms.StandardPage",
        "cms.VoucherProgrammePage",
        "cms.CampaignCallPage",
        "cms.ProcurementIndexPage",
    ]
    max_count = 1

    class Meta:
        verbose_name = _("home page")


class StandardPage(Page):
    """A general page built from the shared body blocks."""

    introduction = models.TextField(_("introduction"), blank=True)
    body = StreamField(BodyBlock(), blank=True, use_json_field=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction"), FieldPanel("body")]
    subpage_types = [
        "cms.StandardPage",
        "cms.VoucherProgrammePage",
        "cms.CampaignCallPage",
        "cms.ProcurementIndexPage",
    ]

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


# Campaign statuses in which a call for participants is shown: approved (about to recruit) and recruiting.
CALL_OPEN_STATUSES = ("approved", "recruiting")
SIGN_UP_FEATURES = ["bold", "italic", "link", "ol", "ul", "h3"]


class CampaignCallPageQuerySet(PageQuerySet):
    def live_calls(self, today=None):
        """Published calls whose campaign is still recruiting: what listings and menus may show."""
        today = today or timezone.localdate()
        return self.live().filter(
            Q(campaign__recruitment_closes_on__isnull=True) | Q(campaign__recruitment_closes_on__gte=today),
            campaign__status__in=CALL_OPEN_STATUSES,
        )


CampaignCallPageManager = PageManager.from_queryset(CampaignCallPageQuerySet)


class CampaignCallPage(Page):
    """The public call for participants of a test campaign: what it is, who can join, what to expect and
    how to sign up. Whether the call is open is computed on each request from the campaign's status and
    closing date, so the page closes itself (410 Gone) and leaves the sitemap when recruitment ends."""

    campaign = models.ForeignKey(
        "pilots.Campaign",
        verbose_name=_("test campaign"),
        on_delete=models.PROTECT,
        related_name="call_pages",
    )
    introduction = models.TextField(
        _("introduction"), blank=True, help_text=_("What the test is about, in one or two sentences.")
    )
    who_can_join = RichTextField(
        _("who can join"),
        blank=True,
        features=SIGN_UP_FEATURES,
        help_text=_("Who the campaign is looking for, in plain language."),
    )
    how_to_sign_up = RichTextField(
        _("how to sign up"),
        blank=True,
        features=SIGN_UP_FEATURES,
        help_text=_("Steps to take part: join the panel, wait for an invitation, whom to ask for help."),
    )

    objects = CampaignCallPageManager()

    content_panels = [
        *Page.content_panels,
        FieldPanel("campaign"),
        FieldPanel("introduction"),
        FieldPanel("who_can_join"),
        FieldPanel("how_to_sign_up"),
    ]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("call for participants")
        verbose_name_plural = _("calls for participants")

    def closed_reason(self, campaign, today=None) -> str | None:
        """Why the call is closed, or None while the campaign recruits."""
        today = today or timezone.localdate()
        if campaign.status not in CALL_OPEN_STATUSES:
            return _("This call for participants is closed: the campaign no longer recruits.")
        if campaign.recruitment_closes_on is not None and campaign.recruitment_closes_on < today:
            return _("This call for participants closed on %(day)s.") % {
                "day": date_format(campaign.recruitment_closes_on, "DATE_FORMAT")
            }
        return None

    def load_campaign(self):
        from pilots.models import Campaign  # pilots imports nothing from cms; pages load early

        return Campaign.objects.select_related("lab", "panel").get(pk=self.campaign_id)

    def is_open(self) -> bool:
        return self.closed_reason(self.load_campaign()) is None

    def get_sitemap_urls(self, request=None):
        if not self.is_open():
            return []
        return super().get_sitemap_urls(request)

    def sign_up_url(self, campaign) -> str:
        """The panel's join page, when people can join it on their own."""
        if campaign.panel is None or not campaign.panel.open_for_sign_up:
            return ""
        try:
            return reverse("pilots:join_panel", args=[campaign.panel.slug])
        except NoReverseMatch:
            return ""

    def get_context(self, request, *args, **kwargs):
        from pilots.models import Method

        context = super().get_context(request, *args, **kwargs)
        campaign = kwargs.get("campaign") or self.load_campaign()
        labels = dict(Method.choices)
        closed_reason = self.closed_reason(campaign)
        context.update(
            campaign=campaign,
            closed_reason=closed_reason,
            # Editors previewing a closed call still see its content, under the notice visitors get.
            show_content=not closed_reason or getattr(request, "is_preview", False),
            methods=[labels.get(m, m) for m in campaign.methods],
            sign_up_url=self.sign_up_url(campaign),
        )
        return context

    def serve(self, request, *args, **kwargs):
        campaign = self.load_campaign()
        context = self.get_context(request, *args, campaign=campaign, **kwargs)
        if not context["show_content"]:
            return TemplateResponse(request, self.get_template(request), context, status=410)
        return TemplateResponse(request, self.get_template(request), context)


# --------------------------------------------------------------------------------------------------
# Pre-commercial procurement notices. Their facts (phases, dates, documents, clarifications) are read
# live from the procurement, so a notice never disagrees with the call it announces.


class ProcurementIndexPage(Page):
    """The public index of challenges, market consultations and calls, with filters."""

    introduction = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types = ["cms.ChallengeNoticePage", "cms.CallNoticePage"]
    max_count = 1

    class Meta:
        verbose_name = _("procurement index")


class ProcurementNotice(Page):
    """Abstract: a public notice about one procurement."""

    procurement = models.ForeignKey(
        "procurement.Procurement", verbose_name=_("procurement"), on_delete=models.PROTECT, related_name="+"
    )
    introduction = models.TextField(_("introduction"), blank=True)
    body = StreamField(BodyBlock(), blank=True, use_json_field=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("procurement"),
        FieldPanel("introduction"),
        FieldPanel("body"),
    ]
    parent_page_types = ["cms.ProcurementIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        abstract = True


class ChallengeNoticePage(ProcurementNotice):
    """The societal challenge and its open market consultation: how to register, events, the summary."""

    class Meta:
        verbose_name = _("challenge and market consultation notice")


class CallNoticePage(ProcurementNotice):
    """The call for tenders: summary, phases, documents, key dates and the published clarifications."""

    class Meta:
        verbose_name = _("call for tenders notice")

from django import forms
from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
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
        "cms.B2BEventIndexPage",
        "cms.ProviderDirectoryPage",
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
        "cms.B2BEventIndexPage",
        "cms.ProviderDirectoryPage",
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


class ProcurementStage(models.TextChoices):
    """Where a published procurement stands, as the public index shows and filters it."""

    CONSULTATION = "consultation", _("Open market consultation")
    ANNOUNCED = "announced", _("Call announced")
    OPEN = "open", _("Call open for bids")
    EVALUATION = "evaluation", _("Bids closed, under evaluation")
    AWARDED = "awarded", _("Contracts awarded")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


def with_public_stage(procurements, now=None):
    """Annotate each procurement with ``stage`` (a ``ProcurementStage``), from its status and its phases'."""
    from procurement.models import Phase, Procurement  # procurement imports nothing from cms

    now = now or timezone.now()

    def has_phase(**lookups):
        return Exists(Phase.objects.filter(procurement=OuterRef("pk"), **lookups))

    status, phase = Procurement.Status, Phase.Status
    return procurements.annotate(
        stage=Case(
            When(status=status.CONSULTATION, then=Value(ProcurementStage.CONSULTATION)),
            When(status=status.COMPLETED, then=Value(ProcurementStage.COMPLETED)),
            When(status=status.CANCELLED, then=Value(ProcurementStage.CANCELLED)),
            When(has_phase(status=phase.OPEN, bid_deadline__gt=now), then=Value(ProcurementStage.OPEN)),
            # An open phase past its deadline is closed for bids, whether or not it moved on yet.
            When(
                has_phase(status__in=(phase.OPEN, phase.EVALUATION, phase.STANDSTILL)),
                then=Value(ProcurementStage.EVALUATION),
            ),
            When(
                has_phase(status__in=(phase.AWARDED, phase.COMPLETED)), then=Value(ProcurementStage.AWARDED)
            ),
            default=Value(ProcurementStage.ANNOUNCED),
            output_field=models.CharField(),
        )
    )


class ProcurementFilterForm(forms.Form):
    """The public index's filters, read from the query string."""

    stage = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *ProcurementStage.choices]
    )
    buyer = forms.ModelChoiceField(
        label=_("Buyer"), required=False, queryset=None, empty_label=_("Any buyer"), to_field_name="slug"
    )
    q = forms.CharField(label=_("Title contains"), required=False, max_length=100)

    def __init__(self, *args, buyers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buyer"].queryset = buyers


NOTICES_PER_PAGE = 10
CLARIFICATIONS_PER_PAGE = 20


class ProcurementIndexPage(Page):
    """The public index of challenges, market consultations and calls, with filters."""

    introduction = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types = ["cms.ChallengeNoticePage", "cms.CallNoticePage"]
    max_count = 1

    class Meta:
        verbose_name = _("procurement index")

    def notices(self, procurements):
        """Live notices under this index about one of ``procurements``, newest first."""
        return (
            Page.objects.child_of(self)
            .live()
            .type(ChallengeNoticePage, CallNoticePage)
            .annotate(
                procurement_pk=Coalesce("challengenoticepage__procurement", "callnoticepage__procurement")
            )
            .filter(procurement_pk__in=procurements.values("pk"))
            .order_by("-first_published_at", "-pk")
        )

    def get_context(self, request, *args, **kwargs):
        from livinglab.models import Organisation
        from livinglab.views import paginate
        from procurement.models import Procurement
        from procurement.templatetags.procurement_tags import key_dates, next_key_date

        context = super().get_context(request, *args, **kwargs)
        now = timezone.now()
        published = Procurement.objects.exclude(status=Procurement.Status.DRAFT)
        buyers = Organisation.objects.filter(pk__in=published.values("buyer")).order_by("name")
        form = ProcurementFilterForm(request.GET or None, buyers=buyers)
        procurements = with_public_stage(published, now)
        notices = None
        if form.is_valid():
            if form.cleaned_data["stage"]:
                procurements = procurements.filter(stage=form.cleaned_data["stage"])
            if form.cleaned_data["buyer"]:
                procurements = procurements.filter(buyer=form.cleaned_data["buyer"])
            if text := form.cleaned_data["q"].strip():
                matching = Procurement.objects.filter(title__icontains=text).values("pk")
                notices = self.notices(procurements).filter(
                    Q(title__icontains=text) | Q(procurement_pk__in=matching)
                )
        notices = notices if notices is not None else self.notices(procurements)
        page_obj = paginate(request, notices.specific(), per_page=NOTICES_PER_PAGE)
        pages = list(page_obj.object_list)
        facts = {
            p.pk: p
            for p in with_public_stage(
                Procurement.objects.filter(pk__in=[n.procurement_id for n in pages]), now
            )
            .select_related("buyer")
            .prefetch_related("phases", "consultation_events")
        }
        stages = dict(ProcurementStage.choices)
        items = []
        for notice in pages:
            procurement = facts[notice.procurement_id]
            dates = key_dates(procurement, procurement.phases.all(), procurement.consultation_events.all())
            items.append(
                {
                    "page": notice,
                    "kind": notice._meta.verbose_name,
                    "procurement": procurement,
                    "stage": stages[procurement.stage],
                    "next_date": next_key_date(dates, now),
                }
            )
        filtered = any(request.GET.get(name) for name in form.fields)
        context.update(filter_form=form, page_obj=page_obj, items=items, filtered=filtered)
        return context


class ProcurementNotice(Page):
    """Abstract: a public notice about one procurement. A notice of a procurement still in draft is not
    served (404), except to editors previewing it."""

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

    def load_procurement(self):
        from procurement.models import Procurement

        return Procurement.objects.select_related("buyer").get(pk=self.procurement_id)

    def is_public(self, procurement) -> bool:
        return procurement.status != procurement.Status.DRAFT

    def get_sitemap_urls(self, request=None):
        if not self.is_public(self.load_procurement()):
            return []
        return super().get_sitemap_urls(request)

    def serve(self, request, *args, **kwargs):
        procurement = self.load_procurement()
        if not self.is_public(procurement) and not getattr(request, "is_preview", False):
            raise Http404(_("This procurement has not been published."))
        return super().serve(request, *args, procurement=procurement, **kwargs)

    def get_context(self, request, *args, **kwargs):
        from procurement.models import CallDocument

        context = super().get_context(request, *args, **kwargs)
        procurement = kwargs.get("procurement") or self.load_procurement()
        context.update(
            procurement=procurement,
            intermediaries=list(procurement.intermediaries.order_by("name")),
            now=timezone.now(),
            is_draft=not self.is_public(procurement),
        )
        documents, seen = [], set()
        # The latest version of each document only (they come newest version first): one per generated
        # kind (its title names its version), one per title among the annexes.
        for document in CallDocument.objects.filter(procurement=procurement, kind__in=self.document_kinds):
            title = document.title if document.kind == CallDocument.Kind.ANNEX else ""
            key = (document.kind, document.phase_id, title)
            if key not in seen:
                seen.add(key)
                documents.append(document)
        context["documents"] = documents
        return context

    def sibling(self, model):
        """The live notice of the other kind about the same procurement, if any."""
        return model.objects.live().filter(procurement_id=self.procurement_id).order_by("pk").first()


class ChallengeNoticePage(ProcurementNotice):
    """The societal challenge and its open market consultation: how to register, events, the summary."""

    document_kinds = ("consultation_notice", "consultation_summary")

    class Meta:
        verbose_name = _("challenge and market consultation notice")

    def get_context(self, request, *args, **kwargs):
        from procurement.models import ConsultationInput, Registration
        from procurement.templatetags.procurement_tags import key_dates, next_key_date

        context = super().get_context(request, *args, **kwargs)
        procurement, now = context["procurement"], context["now"]
        events = list(
            procurement.consultation_events.prefetch_related("attendees").order_by("starts_at", "pk")
        )
        for event in events:
            event.attendee_names = sorted(o.name for o in event.attendees.all())
            event.is_past = event.ends_at <= now
        opens, closes = procurement.consultation_opens_at, procurement.consultation_closes_at
        context.update(
            events=events,
            consultation_open=procurement.consultation_open(now),
            consultation_ahead=procurement.status == procurement.Status.CONSULTATION
            and opens is not None
            and now < opens,
            consultation_over=(closes is not None and closes <= now)
            or procurement.status != procurement.Status.CONSULTATION,
            registered=Registration.objects.filter(
                procurement=procurement, stage=Registration.Stage.CONSULTATION
            ).count(),
            inputs=ConsultationInput.objects.filter(procurement=procurement).count(),
            summary_published=bool(
                procurement.consultation_summary_published_at and procurement.consultation_summary
            ),
            next_date=next_key_date(key_dates(procurement, events=events), now),
            call_notice=self.sibling(CallNoticePage),
        )
        return context


class CallNoticePage(ProcurementNotice):
    """The call for tenders: summary, phases, documents, key dates and the published clarifications."""

    document_kinds = ("call", "annex", "consultation_summary")

    class Meta:
        verbose_name = _("call for tenders notice")

    def get_context(self, request, *args, **kwargs):
        from livinglab.views import paginate
        from procurement.models import AwardDecision, Clarification, Contract
        from procurement.templatetags.procurement_tags import key_dates, next_key_date

        context = super().get_context(request, *args, **kwargs)
        procurement, now = context["procurement"], context["now"]
        phases = list(procurement.phases.prefetch_related("criteria").order_by("number"))
        contracts = (
            Contract.objects.filter(
                phase__procurement=procurement, award__decision__status=AwardDecision.Status.FINAL
            )
            .select_related("award__bid__consortium")
            .order_by("phase__number", "award__rank", "pk")
        )
        by_phase: dict[int, list] = {}
        for contract in contracts:
            by_phase.setdefault(contract.phase_id, []).append(contract)
        for phase in phases:
            phase.contract_list = by_phase.get(phase.pk, [])
            phase.public_status = phase.get_status_display()
            if phase.status == phase.Status.OPEN and not phase.accepts_bids(now):
                phase.public_status = ProcurementStage.EVALUATION.label
        clarifications = (
            Clarification.objects.filter(
                phase__procurement=procurement, status=Clarification.Status.PUBLISHED
            )
            .select_related("phase")
            .order_by("phase__number", "published_at", "pk")
        )
        dates = key_dates(procurement, phases)
        context.update(
            phases=phases,
            key_dates=dates,
            next_date=next_key_date(dates, now),
            clarifications=paginate(
                request, clarifications, per_page=CLARIFICATIONS_PER_PAGE, param="clarifications"
            ),
            challenge_notice=self.sibling(ChallengeNoticePage),
        )
        return context


# --------------------------------------------------------------------------------------------------
# B2B channel: the public list of cluster events and the public directory of service providers. Both read
# the B2B models live; registering for an event and asking a provider for contact need a sign-in.

EVENTS_PER_PAGE = 10
PROVIDERS_PER_PAGE = 10


class B2BEventFilterForm(forms.Form):
    """The public event list's filter, read from the query string."""

    kind = forms.ChoiceField(label=_("Kind of event"), required=False, choices=[])

    def __init__(self, *args, **kwargs):
        from livinglab.b2b.models import Event

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Any kind")), *Event.Kind.choices]


class B2BEventIndexPage(Page):
    """The public list of the cluster's published B2B events: upcoming ones first (soonest first), then
    past ones (latest first), each with its date in the event's time zone, venue and places left."""

    introduction = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types: list[str] = []
    max_count = 1

    class Meta:
        verbose_name = _("B2B event list")

    def get_context(self, request, *args, **kwargs):
        from livinglab.b2b.models import Event, EventRegistration
        from livinglab.views import paginate

        context = super().get_context(request, *args, **kwargs)
        now = timezone.now()
        form = B2BEventFilterForm(request.GET or None)
        events = Event.objects.filter(status=Event.Status.PUBLISHED)
        if form.is_valid() and form.cleaned_data["kind"]:
            events = events.filter(kind=form.cleaned_data["kind"])
        registered = EventRegistration.objects.filter(
            event=OuterRef("pk"), status=EventRegistration.Status.REGISTERED
        )
        events = events.annotate(
            is_past=Case(When(ends_at__lt=now, then=Value(True)), default=Value(False)),
            registered=Coalesce(
                Subquery(registered.order_by().values("event").annotate(n=Count("pk")).values("n")[:1]),
                Value(0),
            ),
        ).order_by(
            "is_past",
            # Upcoming events soonest first, then past events latest first.
            Case(When(ends_at__gte=now, then=F("starts_at"))).asc(nulls_last=True),
            F("starts_at").desc(),
            "pk",
        )
        page_obj = paginate(request, events, per_page=EVENTS_PER_PAGE)
        upcoming, past = [], []
        for event in page_obj.object_list:
            event.places_left = max(event.capacity - event.registered, 0)
            event.registration_open = (
                not event.is_past and event.registration_closes_at > now and event.places_left > 0
            )
            (past if event.is_past else upcoming).append(event)
        groups = [
            {"id": "upcoming", "title": _("Upcoming events"), "events": upcoming},
            {"id": "past", "title": _("Past events"), "events": past},
        ]
        filtered = any(request.GET.get(name) for name in form.fields)
        context.update(
            filter_form=form,
            page_obj=page_obj,
            groups=[group for group in groups if group["events"]],
            filtered=filtered,
        )
        return context


class ProviderFilterForm(forms.Form):
    """The public provider directory's search, read from the query string."""

    q = forms.CharField(label=_("Words"), required=False, max_length=100)
    service = forms.ChoiceField(label=_("Service"), required=False, choices=[])
    country = forms.ChoiceField(label=_("Country"), required=False, choices=[])
    region = forms.CharField(label=_("Region"), required=False, max_length=120)

    def __init__(self, *args, countries, **kwargs):
        from livinglab.b2b.models import Service

        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", _("Any service")), *Service.choices]
        self.fields["country"].choices = [("", _("Any country")), *countries]


class ProviderDirectoryPage(Page):
    """The public directory of listed service providers (design, IPR, financing, internationalisation,
    testing, living labs and design centres abroad), searchable by words, service, country and region.
    Providers' e-mail addresses are never shown: firms ask for contact through the platform."""

    introduction = models.TextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("introduction")]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types: list[str] = []
    max_count = 1

    class Meta:
        verbose_name = _("service provider directory")

    def get_context(self, request, *args, **kwargs):
        from django_countries import countries as all_countries

        from livinglab.b2b.models import ServiceProvider
        from livinglab.b2b.services.providers import search_providers
        from livinglab.views import paginate

        context = super().get_context(request, *args, **kwargs)
        codes = set(ServiceProvider.objects.listed().order_by().values_list("country", flat=True).distinct())
        countries = sorted(((c, all_countries.name(c)) for c in codes), key=lambda choice: choice[1])
        form = ProviderFilterForm(request.GET or None, countries=countries)
        filters = form.cleaned_data if form.is_valid() else {}
        providers = search_providers(**{name: filters.get(name) or "" for name in form.fields})
        page_obj = paginate(request, providers, per_page=PROVIDERS_PER_PAGE)
        filtered = any(request.GET.get(name) for name in form.fields)
        context.update(filter_form=form, page_obj=page_obj, providers=page_obj.object_list, filtered=filtered)
        return context

"""factory_boy factories for the B2B channel, used by the tests, the demo seeder and the benchmarks."""

from datetime import timedelta

import factory
from django.utils import timezone
from django.utils.text import slugify

from livinglab.factories import OrganisationFactory
from livinglab.models import Organisation

from . import models


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Tag
        django_get_or_create = ("kind", "slug")

    kind = models.Tag.Kind.TECHNOLOGY
    name = factory.Sequence(lambda n: f"Technology {n}")
    slug = factory.LazyAttribute(lambda t: slugify(t.name)[:80])


class _ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True
        skip_postgeneration_save = True

    summary = "A short teaser every member firm may read."
    description = "The confidential details of what is asked or offered."
    visibility = models.Visibility.INTRODUCTION
    status = models.ListingStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def sectors(self, create, extracted, **kwargs):
        if create and extracted:
            self.sectors.set(extracted)

    @factory.post_generation
    def technologies(self, create, extracted, **kwargs):
        if create and extracted:
            self.technologies.set(extracted)


class NeedFactory(_ListingFactory):
    class Meta:
        model = models.Need

    organisation = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.LARGE_ENTERPRISE)
    title = factory.Sequence(lambda n: f"Need {n}")
    users_affected = "Warehouse staff on night shifts."
    timeframe = models.Need.Timeframe.YEAR
    budget = "€50,000–€100,000"


class OfferFactory(_ListingFactory):
    class Meta:
        model = models.Offer

    organisation = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.SME)
    title = factory.Sequence(lambda n: f"Offer {n}")
    kind = models.Offer.Kind.PRODUCT
    maturity = models.Offer.Maturity.PROTOTYPE
    references = "Piloted with two logistics firms."


class IntroductionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Introduction

    need = factory.SubFactory(NeedFactory)
    offer = factory.SubFactory(OfferFactory)
    broker = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.CLUSTER)
    requested_by = factory.LazyAttribute(lambda i: i.need.organisation)
    message = "We would like to discuss a pilot."


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    title = factory.Sequence(lambda n: f"Co-development {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.title)[:80])
    broker = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.CLUSTER)
    goals = "A prototype tested by the buyer's staff within six months."
    ip_ownership = models.Project.Ownership.SUPPLIER
    licence_terms = "The buyer receives a free, non-exclusive licence for its own operations."
    confidentiality = "Both partners keep the specifications confidential for three years."
    started_on = factory.LazyFunction(lambda: timezone.localdate())


class ProjectPartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ProjectPartner

    project = factory.SubFactory(ProjectFactory)
    organisation = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.SME)
    role = models.ProjectPartner.Role.SUPPLIER


class EventFactory(factory.django.DjangoModelFactory):
    """A published workshop in two weeks, 30 places, registration open until the day before."""

    class Meta:
        model = models.Event

    organiser = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.CLUSTER)
    title = factory.Sequence(lambda n: f"Cluster workshop {n}")
    slug = factory.LazyAttribute(lambda e: slugify(e.title)[:80])
    kind = models.Event.Kind.WORKSHOP
    description = "Buyers present their needs; suppliers pitch in five minutes each."
    venue = "Cluster house, 1 Harbour Street"
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))
    ends_at = factory.LazyAttribute(lambda e: e.starts_at + timedelta(hours=3))
    registration_closes_at = factory.LazyAttribute(lambda e: e.starts_at - timedelta(days=1))
    capacity = 30
    status = models.Event.Status.PUBLISHED


class EventRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.EventRegistration

    event = factory.SubFactory(EventFactory)
    full_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"attendee{n}@example.com")
    organisation_name = "Example Ltd"


class ServiceProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ServiceProvider
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Design studio {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.name)[:80])
    description = "Service design and prototyping for small firms."
    country = "FR"
    region = "Bretagne"
    contact_email = factory.Sequence(lambda n: f"provider{n}@example.com")
    status = models.ServiceProvider.Status.LISTED

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create:
            for service in extracted or [models.Service.DESIGN]:
                models.ProviderService.objects.create(provider=self, service=service)


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Topic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.LazyAttribute(lambda t: slugify(t.name)[:80])


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Report
        skip_postgeneration_save = True

    kind = models.Report.Kind.MARKET
    title = factory.Sequence(lambda n: f"Market report {n}")
    slug = factory.LazyAttribute(lambda r: slugify(r.title)[:80])
    publisher = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.CLUSTER)
    summary = "What buyers in the region are looking for this quarter."
    body = "Demand for predictive maintenance grows in food processing."
    status = models.Report.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if create and extracted:
            self.topics.set(extracted)

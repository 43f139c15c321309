"""factory_boy factories for panels, used by tests, the demo seeder and the benchmarks."""

import factory
from django.utils import timezone
from django.utils.text import slugify

from livinglab.factories import ConsentDocumentFactory, OrganisationFactory, PersonFactory
from livinglab.models import Channel, Organisation

from . import models


class PanelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Panel

    owner = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.CLUSTER)
    name = factory.Sequence(lambda n: f"Panel {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.name)[:80])
    channel = Channel.B2C
    description = "People who try new services for living well at home."
    consent_document = factory.SubFactory(ConsentDocumentFactory)


class ParticipantProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ParticipantProfile

    person = factory.SubFactory(PersonFactory)
    year_of_birth = factory.LazyAttribute(lambda p: p.person.birth_date.year if p.person.birth_date else 1970)
    region = "Bretagne"
    postcode_area = "35"
    languages = models.pack(["fr"])
    household_type = "single"
    digital_skills = models.DigitalSkills.EVERYDAY
    devices = models.pack(["smartphone"])


class PanelMembershipFactory(factory.django.DjangoModelFactory):
    """An active, confirmed member with a profile of their own."""

    class Meta:
        model = models.PanelMembership

    panel = factory.SubFactory(PanelFactory)
    person = factory.LazyFunction(lambda: ParticipantProfileFactory().person)
    status = models.PanelMembership.Status.ACTIVE
    source = models.PanelMembership.Source.SELF
    confirmed_at = factory.LazyFunction(timezone.now)


class PanelAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PanelAttribute

    panel = factory.SubFactory(PanelFactory)
    code = factory.Sequence(lambda n: f"attribute-{n}")
    label = factory.Sequence(lambda n: f"Question {n}")
    kind = models.AttributeKind.CHOICE
    options = ["yes", "no"]

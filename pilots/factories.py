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


class CampaignFactory(factory.django.DjangoModelFactory):
    """A B2C usability test in draft, requested by a firm of a living lab."""

    class Meta:
        model = models.Campaign

    lab = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.CLUSTER)
    requested_by = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.SME)
    channel = Channel.B2C
    title = factory.Sequence(lambda n: f"Usability test {n}")
    slug = factory.LazyAttribute(lambda c: slugify(c.title)[:80])
    product_name = "Medication reminder app"
    product_description = "A phone app that reminds people to take their medicines."
    maturity = models.Maturity.PROTOTYPE
    objectives = "Find out whether people over 65 can set up a reminder without help."
    methods = [models.Method.USABILITY]
    target_participants = 12
    expect_activities = "Try the app for one hour at the living lab while a researcher watches."
    expect_time = "One session of 90 minutes"
    expect_benefits = "A 20 EUR shopping voucher and a summary of the results."
    expect_not = "No payment beyond the voucher; you do not keep the phone."
    expect_risks = "None beyond mild frustration if the prototype fails."
    idea_ownership = models.IdeaOwnership.NONE


class CampaignSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CampaignSession

    campaign = factory.SubFactory(CampaignFactory)
    title = factory.Sequence(lambda n: f"Session {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timezone.timedelta(minutes=90))
    place = "Living lab, 2 rue de la Chalotais, Rennes"
    capacity = 6
    accessibility_info = "Step-free entrance; hearing loop in the test room."


class QuestionnaireFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Questionnaire

    campaign = factory.SubFactory(CampaignFactory)
    title = factory.Sequence(lambda n: {"en": f"Questionnaire {n}"})
    languages = ["en"]


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Question

    questionnaire = factory.SubFactory(QuestionnaireFactory)
    position = factory.Sequence(lambda n: n + 1)
    key = factory.Sequence(lambda n: f"q{n}")
    kind = models.QuestionKind.LIKERT5
    text = {"en": "The app was easy to use."}

"""factory_boy factories for pre-commercial procurement, used by the tests and the demo seeder."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from django.utils.text import slugify

from livinglab.factories import OrganisationFactory
from livinglab.models import Organisation, text_hash

from . import models


class ProcurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Procurement
        skip_postgeneration_save = True

    buyer = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.PUBLIC_AUTHORITY, country="FI")
    title = factory.Sequence(lambda n: f"Living at home longer {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.title)[:80])
    challenge = "Older people want to live at home longer, safely and with dignity."
    needs = "Early detection of falls and loneliness without cameras; works with existing home-care visits."
    expected_outcome = "Solutions that let home-care nurses act before a crisis, tested with 200 households."
    budget = Decimal("1500000.00")
    time_zone = "Europe/Helsinki"
    status = models.Procurement.Status.CALL
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def intermediaries(self, create, extracted, **kwargs):
        if create and extracted:
            self.intermediaries.set(extracted)


class PhaseFactory(factory.django.DjangoModelFactory):
    """Phase 1, open for bids until a week from now, questions until five days from now."""

    class Meta:
        model = models.Phase

    procurement = factory.SubFactory(ProcurementFactory)
    number = 1
    title = "Solution design"
    description = "Design a solution and show that it is feasible."
    budget = Decimal("150000.00")
    max_contractors = 5
    duration_months = 4
    deliverables = "Feasibility study and solution design."
    question_deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=5))
    bid_deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    status = models.Phase.Status.OPEN
    opened_at = factory.LazyFunction(timezone.now)


class AwardCriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.AwardCriterion

    phase = factory.SubFactory(PhaseFactory)
    name = factory.Sequence(lambda n: f"Criterion {n}")
    description = "How well the bid answers the challenge."
    weight = Decimal("50")
    max_score = 10
    threshold = Decimal("0")
    position = factory.Sequence(lambda n: n)


class ConsortiumFactory(factory.django.DjangoModelFactory):
    """A formed consortium whose lead has accepted (add partners with ``ConsortiumMemberFactory``)."""

    class Meta:
        model = models.Consortium
        skip_postgeneration_save = True

    procurement = factory.SubFactory(ProcurementFactory)
    name = factory.Sequence(lambda n: f"Consortium {n}")
    lead = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.SME)
    agreement_text = "The lead coordinates; each partner keeps the IPR of its own results."
    agreement_sha256 = factory.LazyAttribute(lambda c: text_hash(c.agreement_text))
    status = models.Consortium.Status.FORMED

    @factory.post_generation
    def lead_member(self, create, extracted, **kwargs):
        if create:
            models.ConsortiumMember.objects.get_or_create(
                consortium=self,
                organisation=self.lead,
                defaults={
                    "role": models.ConsortiumMember.Role.LEAD,
                    "status": models.ConsortiumMember.Status.ACCEPTED,
                    "agreement_sha256": self.agreement_sha256,
                    "responded_at": timezone.now(),
                },
            )


class ConsortiumMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ConsortiumMember

    consortium = factory.SubFactory(ConsortiumFactory)
    organisation = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.SME)
    role = models.ConsortiumMember.Role.PARTNER
    status = models.ConsortiumMember.Status.ACCEPTED
    agreement_sha256 = factory.LazyAttribute(lambda m: m.consortium.agreement_sha256)
    responded_at = factory.LazyFunction(timezone.now)


class BidFactory(factory.django.DjangoModelFactory):
    """A submitted bid with sealed content (``content__price``, ``content__answers`` to change it)."""

    class Meta:
        model = models.Bid
        skip_postgeneration_save = True

    phase = factory.SubFactory(PhaseFactory)
    consortium = factory.SubFactory(
        ConsortiumFactory, procurement=factory.SelfAttribute("..phase.procurement")
    )
    status = models.Bid.Status.SUBMITTED
    submitted_at = factory.LazyFunction(timezone.now)
    receipt_sha256 = "0" * 64

    @factory.post_generation
    def content(self, create, extracted, **kwargs):
        if create:
            models.BidContent.objects.create(
                bid=self,
                summary=kwargs.get(
                    "summary", "A sensor-free fall-detection service built on home-care visits."
                ),
                price=kwargs.get("price", Decimal("120000.00")),
                answers=kwargs.get("answers", {}),
            )

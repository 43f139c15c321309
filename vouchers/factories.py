"""factory_boy factories for voucher programmes, solutions and vouchers, used by tests and demo data."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from django.utils.text import slugify

from livinglab.factories import OrganisationFactory, PersonFactory
from livinglab.models import Channel, Organisation

from . import models
from .codes import generate_code


class ProgrammeFactory(factory.django.DjangoModelFactory):
    """An open, fixed-value programme whose application window and validity include today."""

    class Meta:
        model = models.Programme
        django_get_or_create = ("slug",)

    funder = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.FUNDING_AGENCY)
    operator = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.CLUSTER)
    channel = Channel.B2C
    title = factory.Sequence(lambda n: f"Home energy vouchers {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.title)[:80])
    status = models.Programme.Status.OPEN
    total_budget = Decimal("10000.00")
    value_rule = models.Programme.ValueRule.FIXED
    face_value = Decimal("500.00")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=7))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=60))
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=7))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=180))
    partial_redemption = False

    class Params:
        co_funding = factory.Trait(
            value_rule=models.Programme.ValueRule.CO_FUNDING,
            face_value=None,
            co_funding_rate=Decimal("0.5000"),
            co_funding_cap=Decimal("1500.00"),
        )


class SolutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Solution

    firm = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.SME)
    name = factory.Sequence(lambda n: f"Smart thermostat {n}")
    description = "Learns the household's routine and lowers heating when nobody is home."
    price = Decimal("900.00")
    category = models.Solution.Category.ENERGY_EFFICIENCY


class EnrolmentFactory(factory.django.DjangoModelFactory):
    """An approved enrolment unless ``status`` says otherwise."""

    class Meta:
        model = models.Enrolment

    solution = factory.SubFactory(SolutionFactory)
    programme = factory.SubFactory(ProgrammeFactory)
    status = models.Enrolment.Status.APPROVED
    decided_at = factory.LazyFunction(timezone.now)


class VoucherFactory(factory.django.DjangoModelFactory):
    """A voucher with its issue entry in the ledger, written directly (demo data and fixtures); the
    service ``issue_voucher`` is what checks the budget."""

    class Meta:
        model = models.Voucher
        skip_postgeneration_save = True

    programme = factory.SubFactory(ProgrammeFactory)
    holder = factory.SubFactory(PersonFactory)
    code = factory.LazyFunction(generate_code)
    face_value = factory.LazyAttribute(lambda v: v.programme.voucher_value)
    status = models.Voucher.Status.ISSUED
    issued_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda v: v.programme.voucher_expiry())

    @factory.post_generation
    def issue_entry(voucher, create, extracted, **kwargs):
        if create:
            models.LedgerEntry.objects.create(
                voucher=voucher, kind=models.LedgerEntry.Kind.ISSUE, amount=voucher.face_value
            )


class DeMinimisAidFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DeMinimisAid

    organisation = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.SME)
    undertaking = factory.LazyAttribute(lambda a: a.organisation.group)
    amount = Decimal("10000.00")
    granted_on = factory.LazyFunction(timezone.localdate)
    granting_body = "Regional innovation agency"
    source = models.DeMinimisAid.Source.DECLARED

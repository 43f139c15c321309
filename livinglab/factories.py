"""factory_boy factories for the core domain, used by the tests and by ``seed_demo``."""

import factory
from django.utils import timezone
from django.utils.text import slugify

from . import models

DEMO_PASSWORD = "livinglab-demo-2026"  # noqa: S105 -- the published password of the demo logins


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(DEMO_PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        """Demo and test accounts have a verified primary e-mail, as allauth requires to sign in."""
        if create and extracted is not False:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    user = factory.SubFactory(UserFactory)
    full_name = factory.LazyAttribute(lambda p: p.user.get_full_name() if p.user else "Anonymous")
    birth_date = factory.Faker("date_of_birth", minimum_age=18, maximum_age=90)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organisation
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name)[:80])
    kind = models.Organisation.Kind.SME
    country = "FR"
    region = "Bretagne"
    sector = "Digital services"
    size = models.Organisation.Size.SMALL


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = models.Role.FIRM_ADMIN


class GroundRulesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.GroundRules

    title = factory.Sequence(lambda n: f"Code of conduct {n}")
    scope_kind = models.ScopedDocument.ScopeKind.PLATFORM


class GroundRulesVersionFactory(factory.django.DjangoModelFactory):
    """A published version unless ``status`` says otherwise."""

    class Meta:
        model = models.GroundRulesVersion

    rules = factory.SubFactory(GroundRulesFactory)
    number = factory.Sequence(lambda n: n + 1)
    text = "1. No gifts or favours.\n2. Equal information for everyone.\n3. Declare conflicts of interest."
    status = models.VersionStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    text_sha256 = factory.LazyAttribute(lambda v: models.text_hash(v.text))


class ConsentPurposeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ConsentPurpose
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"purpose-{n}")
    name = factory.LazyAttribute(lambda p: p.code.replace("-", " ").capitalize())
    description = "What we do with your data for this purpose, in plain words."
    special_category = False


class ConsentDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ConsentDocument

    title = factory.Sequence(lambda n: f"Consent form {n}")
    scope_kind = models.ScopedDocument.ScopeKind.PLATFORM


class ConsentDocumentVersionFactory(factory.django.DjangoModelFactory):
    """A published version; pass ``purposes=[...]`` to choose what it asks for."""

    class Meta:
        model = models.ConsentDocumentVersion
        skip_postgeneration_save = True

    document = factory.SubFactory(ConsentDocumentFactory)
    number = factory.Sequence(lambda n: n + 1)
    text = "We ask your permission for the purposes below. You can withdraw at any time."
    status = models.VersionStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    text_sha256 = factory.LazyAttribute(lambda v: models.text_hash(v.text))

    @factory.post_generation
    def purposes(version, create, extracted, **kwargs):
        if create:
            version.purposes.set(extracted if extracted is not None else [ConsentPurposeFactory()])

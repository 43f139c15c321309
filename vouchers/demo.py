"""Demo voucher programmes for ``manage.py seed_demo``: built through the same services as the screens."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from livinglab import services as core
from livinglab.models import Organisation, Person, User

from . import services
from .models import DeMinimisAid, Programme, Solution, Voucher

# slug, title, channel, budget, value rule, face value, rate, cap, partial use, holders
PROGRAMMES = [
    ("renovation-2026", "Home energy renovation vouchers 2026", "b2c", "250000.00",
     Programme.ValueRule.CO_FUNDING, None, "0.40", "1500.00", False, 130),
    ("carers-digital-2026", "Digital services for carers 2026", "b2c", "60000.00",
     Programme.ValueRule.FIXED, "250.00", None, None, True, 110),
]  # fmt: skip

# programme slug, firm slug, name, price, category, description
SOLUTIONS = [
    ("renovation-2026", "loire-renov-energie", "Attic insulation with bio-sourced materials", "3800.00",
     Solution.Category.ENERGY_EFFICIENCY, "Hemp and wood-fibre insulation of lost attic space, in two days."),
    ("renovation-2026", "loire-renov-energie", "Heat-pump health check", "290.00",
     Solution.Category.ENERGY_EFFICIENCY, "An engineer measures and tunes an existing heat pump."),
    ("renovation-2026", "kerveil-capteurs", "Connected thermostat and comfort sensors", "420.00",
     Solution.Category.ENERGY_EFFICIENCY, "Room sensors and a thermostat that learns the household's days."),
    ("carers-digital-2026", "kerveil-mobile", "Carer coordination app, one year", "240.00",
     Solution.Category.DIGITAL_SERVICES, "Shared calendar, tasks and messages for family carers."),
    ("carers-digital-2026", "oresund-mobile-labs", "Medication reminder service, one year", "180.00",
     Solution.Category.HEALTH, "Spoken and visual reminders on a phone, tablet or smart speaker."),
    ("carers-digital-2026", "atelier-lumen", "Home accessibility design consultation", "300.00",
     Solution.Category.DIGITAL_SERVICES, "A designer visits and proposes small changes for daily life."),
]  # fmt: skip

# The firm close to its de minimis ceiling, and the aid it declared from elsewhere.
NEAR_CEILING_FIRM = "loire-renov-energie"
DECLARED_AID = [("185000.00", 400, "Région Pays de la Loire"), ("112600.00", 800, "Bpifrance")]


def seed_voucher_programmes(
    *, orgs: dict[str, Organisation], operator_user: User, firm_users: dict[str, User], step
) -> None:
    """Two programmes with enrolled solutions, a few hundred vouchers in several states and a firm whose
    de minimis headroom is almost used up. Does nothing if the programmes exist already."""
    if Programme.objects.filter(slug__in=[p[0] for p in PROGRAMMES]).exists():
        return
    rng = random.Random(2026)
    now = timezone.now()
    today = timezone.localdate()
    adults = list(
        Person.objects.filter(user__isnull=False, birth_date__lte=today - timedelta(days=18 * 366))
        .exclude(user__email__endswith="@demo.livinglab.eu")
        .order_by("pk")
    )
    programmes = {}
    for slug, title, channel, budget, rule, face, rate, cap, partial, _holders in PROGRAMMES:
        programme = services.save_programme(
            Programme(
                slug=slug,
                title=title,
                channel=channel,
                funder=orgs["agence-innovation-bretagne-loire"],
                operator=orgs["armor-medias-reseaux"],
                total_budget=Decimal(budget),
                value_rule=rule,
                face_value=Decimal(face) if face else None,
                co_funding_rate=Decimal(rate) if rate else None,
                co_funding_cap=Decimal(cap) if cap else None,
                partial_redemption=partial,
                opens_at=now - timedelta(days=45),
                closes_at=now + timedelta(days=75),
                valid_from=today - timedelta(days=45),
                valid_until=today + timedelta(days=300),
            ),
            acting_user=operator_user,
        )
        programmes[slug] = programme
        step(title)
    solutions: dict[str, list[Solution]] = {slug: [] for slug in programmes}
    for programme_slug, firm_slug, name, price, category, description in SOLUTIONS:
        firm_user = firm_users[firm_slug]
        solution = services.save_solution(
            Solution(
                firm=orgs[firm_slug],
                name=name,
                price=Decimal(price),
                category=category,
                description=description,
            ),
            acting_user=firm_user,
        )
        enrolment = services.apply_for_enrolment(solution, programmes[programme_slug], acting_user=firm_user)
        services.decide_enrolment(enrolment, approve=True, acting_user=operator_user)
        solutions[programme_slug].append(solution)
        # The firm accepts whatever ground rules apply to the programme before it may redeem.
        for version in core.pending_ground_rules(
            firm_user, programmes[programme_slug], organisation=orgs[firm_slug]
        ):
            core.accept_ground_rules(version, organisation=orgs[firm_slug], acting_user=firm_user)
    for programme in programmes.values():
        services.change_programme_status(programme, Programme.Status.OPEN, acting_user=operator_user)

    for slug, *_, holders in PROGRAMMES:
        programme = programmes[slug]
        for person in rng.sample(adults, holders):
            voucher = services.issue_voucher(programme, person, acting_user=operator_user, send_mail=False)
            use_voucher(voucher, programme, rng.choice(solutions[slug]), rng, firm_users, operator_user)
            step(programme.title)

    firm = orgs[NEAR_CEILING_FIRM]
    if not DeMinimisAid.objects.filter(organisation=firm).exists():
        for amount, days_ago, body in DECLARED_AID:
            services.record_de_minimis_aid(
                firm,
                amount=Decimal(amount),
                granted_on=today - timedelta(days=days_ago),
                granting_body=body,
                source=DeMinimisAid.Source.DECLARED,
                acting_user=firm_users[NEAR_CEILING_FIRM],
            )


def use_voucher(voucher: Voucher, programme: Programme, solution: Solution, rng, firm_users, operator_user):
    """Leave a voucher unused, used in part or in full, reversed, or cancelled: the states staff meet."""
    firm_user = firm_users[solution.firm.slug]
    roll = rng.random()
    if roll < 0.35:
        return  # still to be used
    if roll < 0.40:
        services.cancel_voucher(voucher, acting_user=operator_user, reason="Holder moved out of the region")
        return
    if programme.value_rule == Programme.ValueRule.CO_FUNDING:
        amount = min(programme.co_funding_rate * solution.price, programme.co_funding_cap).quantize(
            Decimal("0.01")
        )
        price = solution.price
    else:
        amount = voucher.face_value if roll > 0.7 else Decimal(rng.choice(["60.00", "90.00", "120.00"]))
        amount, price = min(amount, solution.price), None
    entry = services.redeem_voucher(
        voucher.code,
        firm=solution.firm,
        amount=amount,
        idempotency_key=f"demo-{voucher.pk}",
        acting_user=firm_user,
        purchase_price=price,
        solution=solution,
    )
    if roll > 0.97:
        services.reverse_redemption(entry, acting_user=firm_user)

"""Demo voucher programmes for ``manage.py seed_demo``: built through the same services as the screens."""

import random
from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone
from weasyprint import HTML

from livinglab import services as core
from livinglab.models import Membership, Organisation, Person, Role, User

from . import services
from .errors import VoucherError
from .models import Claim, DeMinimisAid, HouseholdType, LedgerEntry, Programme, Solution, Voucher

# slug, title, channel, budget, value rule, face value, rate, cap, partial use, holders
PROGRAMMES = [
    ("renovation-2026", "Home energy renovation vouchers 2026", "b2c", "250000.00",
     Programme.ValueRule.CO_FUNDING, None, "0.40", "1500.00", False, 130),
    ("carers-digital-2026", "Digital services for carers 2026", "b2c", "60000.00",
     Programme.ValueRule.FIXED, "250.00", None, None, True, 110),
    ("cargo-bikes-2026", "Electric cargo bikes for small shops 2026", "b2b", "30000.00",
     Programme.ValueRule.FIXED, "1000.00", None, None, False, 60),
]  # fmt: skip

REGIONS = ["Bretagne", "Pays de la Loire"]
HOUSEHOLDS = [HouseholdType.SINGLE, HouseholdType.COUPLE, HouseholdType.FAMILY, HouseholdType.SINGLE_PARENT]
# Who may apply, per programme; the cargo-bike vouchers are drawn by lottery once the window has closed.
RULES = {
    "renovation-2026": {
        "eligible_regions": REGIONS,
        "eligible_household_types": [*HOUSEHOLDS, HouseholdType.SHARED],
        "first_time_only": True,
    },
    "carers-digital-2026": {"min_age": 18},
    "cargo-bikes-2026": {
        "eligible_regions": REGIONS,
        "eligible_household_types": [HouseholdType.BUSINESS],
        "selection": Programme.Selection.LOTTERY,
        "feedback_required": False,
    },
}
LOTTERY_SEED = "cargo-bikes-2026-draw"
FEEDBACK_COMMENTS = [
    "",
    "",
    "The installer explained everything and left the house clean.",
    "Useful, but the app asks for too many permissions.",
    "My mother uses the reminders every day now.",
    "Took three weeks to get an appointment.",
]
# Demo bank details (a published example IBAN); nothing is ever paid from the demo.
DEMO_IBAN, DEMO_BIC = "FR7630006000011234567890189", "AGRIFRPPXXX"

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
    ("cargo-bikes-2026", "kerveil-mobile", "Electric cargo bike with delivery-round app, 3-month trial",
     "2400.00", Solution.Category.MOBILITY, "A cargo bike, charger and an app that plans delivery rounds."),
]  # fmt: skip

# The firm close to its de minimis ceiling, and the aid it declared from elsewhere.
NEAR_CEILING_FIRM = "loire-renov-energie"
DECLARED_AID = [("185000.00", 400, "Région Pays de la Loire"), ("112600.00", 800, "Bpifrance")]


def seed_voucher_programmes(
    *,
    orgs: dict[str, Organisation],
    operator_user: User,
    funder_user: User,
    firm_users: dict[str, User],
    step,
) -> None:
    """Three programmes with enrolled solutions; a few hundred applications, vouchers in every state,
    feedback, reimbursement claims at each stage, payment batches, a lottery, and a firm whose de minimis
    headroom is almost used up. Does nothing if the programmes exist already."""
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
                **RULES[slug],
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

    for slug, *_, applicants in PROGRAMMES:
        programme = programmes[slug]
        for person in rng.sample(adults, applicants):
            application = apply(programme, person, rng)
            if application.voucher is not None:
                use_voucher(
                    application.voucher,
                    programme,
                    rng.choice(solutions[slug]),
                    rng,
                    firm_users,
                    operator_user,
                )
            step(programme.title)

    # The lottery's window closes, the operator draws it, and some winners already bought their bike.
    lottery = programmes["cargo-bikes-2026"]
    lottery.closes_at = timezone.now() - timedelta(minutes=1)
    lottery = services.save_programme(lottery, acting_user=operator_user)
    services.change_programme_status(lottery, Programme.Status.CLOSED, acting_user=operator_user)
    services.draw_lottery(lottery, acting_user=operator_user, seed=LOTTERY_SEED)
    for voucher in Voucher.objects.filter(programme=lottery).order_by("pk")[:12]:
        use_voucher(voucher, lottery, solutions["cargo-bikes-2026"][0], rng, firm_users, operator_user)
    step(lottery.title)

    give_feedback(rng)
    step("Feedback")
    for programme in programmes.values():
        claim_reimbursement(programme, orgs, rng, operator_user, funder_user, firm_users)
        step(programme.title)


def apply(programme: Programme, person: Person, rng):
    """``person`` applies through the same service as the application form; a few are not eligible."""
    roll = rng.random()
    business = programme.eligible_household_types == [HouseholdType.BUSINESS]
    return services.apply_for_voucher(
        programme,
        person,
        region="Normandie" if roll < 0.05 else rng.choice(REGIONS),
        postcode=f"{rng.choice(['22', '29', '35', '44', '56'])}{rng.randrange(1000):03d}",
        household_type=HouseholdType.BUSINESS if business else rng.choice(HOUSEHOLDS),
        acting_user=person.user,
    )


def give_feedback(rng) -> None:
    """About two thirds of the holders who used their voucher answer the questionnaire."""
    used = (
        Voucher.objects.filter(
            programme__feedback_required=True,
            entries__kind=LedgerEntry.Kind.REDEEM,
            entries__reversal__isnull=True,
        )
        .select_related("holder__user")
        .distinct()
        .order_by("pk")
    )
    for voucher in used:
        if rng.random() > 0.66:
            continue
        satisfaction = rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 4, 9, 8])[0]
        services.submit_feedback(
            voucher,
            satisfaction=satisfaction,
            recommend=min(10, max(0, satisfaction * 2 + rng.choice([-2, -1, 0, 0, 1]))),
            solved_need=satisfaction >= 3,
            comment=rng.choice(FEEDBACK_COMMENTS),
            acting_user=voucher.holder.user,
        )


def invoice_pdf(firm: Organisation, number: str, total: Decimal) -> ContentFile:
    html = (
        f"<h1>{firm.name}</h1><p>Invoice {number}</p>"
        f"<p>Innovation vouchers redeemed: {total} EUR</p>"  # the demo's own data, no user input
    )
    return ContentFile(HTML(string=html).write_pdf(), name=f"{number}.pdf")


def claim_reimbursement(programme, orgs, rng, operator_user, funder_user, firm_users) -> None:
    """Each firm claims most of its redemptions; the operator checks most claims; the funder decides the
    lines (the firm near its ceiling is refused the excess) and pays one batch."""
    firms = (
        Organisation.objects.filter(solutions__enrolments__programme=programme).distinct().order_by("slug")
    )
    for index, firm in enumerate(firms):
        entries = list(services.claims.claimable_redemptions(programme, firm))
        keep = max(1, len(entries) // 5)  # the latest few are not claimed yet
        if len(entries) <= keep:
            continue
        claimed = entries[:-keep]
        number = f"{firm.slug[:6].upper()}-{programme.pk:02d}{index:02d}"
        claim = services.submit_claim(
            programme,
            firm,
            redemptions=claimed,
            invoice_number=number,
            invoice=invoice_pdf(firm, number, sum((-e.amount for e in claimed), Decimal("0"))),
            iban=DEMO_IBAN,
            bic=DEMO_BIC,
            account_holder=firm.name,
            acting_user=firm_admin(firm),
        )
        if index == 0:
            continue  # waits for the operator's check
        services.check_claim(claim, note="Invoice matches the redemptions.", acting_user=operator_user)
        for line in claim.lines.order_by("pk"):
            decide(line, rng, funder_user)
    if Claim.objects.filter(
        programme=programme, lines__status="approved", lines__batch__isnull=True
    ).exists():
        batch = services.create_payment_batch(
            programme,
            debtor_name=programme.funder.name,
            debtor_iban="FR7610107001011234567890129",
            debtor_bic="BREDFRPPXXX",
            acting_user=funder_user,
        )
        if programme.slug == "renovation-2026":
            services.mark_batch_paid(batch, acting_user=funder_user)


def firm_admin(firm: Organisation) -> User:
    """Claims are made by a firm's administrator, not by whoever sells at the counter."""
    return (
        Membership.objects.active()
        .filter(organisation=firm, role=Role.FIRM_ADMIN)
        .select_related("user")
        .order_by("pk")
        .first()
        .user
    )


def decide(line, rng, funder_user) -> None:
    """The funder approves a line unless it is doubtful; approval over the ceiling is refused, and the
    funder then rejects the line with the explanation."""
    if rng.random() < 0.04:
        services.decide_claim_line(
            line, approve=False, reason="The invoice does not show this purchase.", acting_user=funder_user
        )
        return
    try:
        services.decide_claim_line(line, approve=True, acting_user=funder_user)
    except VoucherError as refusal:
        services.decide_claim_line(line, approve=False, reason=refusal.message, acting_user=funder_user)


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

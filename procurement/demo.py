"""The demo's pre-commercial procurements for ``manage.py seed_demo``, built through the same services as the
screens, on the demo's organisations and people (``livinglab`` seed): looked up here, never created — except
two evaluators the city's panel needs.

- "Living at home longer": the City of Kuusiniemi's social services buy R&D on home care for older people,
  with the cluster as intermediary. A market consultation (registrations, an information day and an online
  workshop with their attendance, written input, a published summary), then the call: clarifications
  (answered to all, one declined, one still waiting), three consortia (one proposed by the cluster), three
  phase-1 bids, a panel of two evaluators (one steps aside from a bid), scores and consensus, a final award
  with two contracts whose milestones are delivered and paid, and now phase 2 open for bids — from the two
  phase-1 contractors only. The interaction register holds a meeting, a call, a message and a chance
  encounter during the quiet period; a refused dinner invitation is declared as a gift.
- "Digital companion against loneliness": the same city's second call, open for bids, after a short
  consultation; one consortium is forming and its partner has an invitation to answer.

The story spans eleven months. The services read the time from ``django.utils.timezone.now``, so the demo
sets that clock to the moment of each step (``DemoClock``): deadlines, standstill periods and the seal of
the bids are enforced exactly as in real use. The services' e-mails (to the demo's invented addresses; the
console by default) and the generated PDF documents go out once the seed's transaction commits. If the
procurements exist already, or the demo organisations are missing, nothing is added."""

from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth.hashers import make_password
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import services as core
from livinglab.factories import DEMO_PASSWORD, UserFactory
from livinglab.models import Membership, Organisation, Person, Role, User

from .models import (
    Bid,
    ConsortiumMember,
    Contract,
    Interaction,
    Phase,
    Procurement,
)
from .services import awards, bids, calls, clarifications, conduct, consortia, consultation, evaluation

ZONE = "Europe/Helsinki"
CLUSTER, AUTHORITY = "armor-medias-reseaux", "kuusiniemi-social-services"
SENSORS, MOBILE, RENOVATION = "kerveil-capteurs", "kerveil-mobile", "loire-renov-energie"
DESIGN, ORESUND, TELECOM, UNIVERSITY = (
    "atelier-lumen",
    "oresund-mobile-labs",
    "oceane-telecom",
    "universite-technologie-atlantique",
)
ORGANISATIONS = (CLUSTER, AUTHORITY, SENSORS, MOBILE, RENOVATION, DESIGN, ORESUND, TELECOM, UNIVERSITY)
HOME_CARE, COMPANION = "living-at-home-longer", "digital-companion-against-loneliness"
SLUGS = (HOME_CARE, COMPANION)
STAFF_DOMAIN = "staff.demo.livinglab.eu"
# Evaluators of the city's panel, added by this demo: (first name, last name).
EVALUATORS = (("Laura", "Nieminen"), ("Jukka", "Salo"))


def seed_procurement(stdout=None) -> None:
    """The demo procurements; does nothing if they exist already or if the demo world is not there."""
    if Procurement.objects.filter(slug__in=SLUGS).exists():
        return
    if Organisation.objects.filter(slug__in=ORGANISATIONS).count() != len(ORGANISATIONS):
        return
    DemoProcurement(stdout).build()


class DemoClock:
    """``django.utils.timezone.now`` set to the moment of each step of the story (Helsinki time)."""

    def __init__(self):
        self.real_now = timezone.now()
        self.today = self.real_now.astimezone(ZoneInfo(ZONE)).date()
        self.moment = self.real_now

    def at(self, days_ago: int, hour: int = 10, minute: int = 0) -> datetime:
        """A moment ``days_ago`` days before today (negative: ahead), at ``hour`` in Helsinki."""
        day = self.today - timedelta(days=days_ago)
        return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(ZONE))

    def go(self, days_ago: int, hour: int = 10, minute: int = 0) -> datetime:
        # In UTC, as Django's own clock gives it (the audit trail hashes the moment as written).
        self.moment = min(self.at(days_ago, hour, minute), self.real_now).astimezone(UTC)
        return self.moment

    @contextmanager
    def running(self):
        with mock.patch.object(timezone, "now", lambda: self.moment):
            yield self


class DemoProcurement:
    def __init__(self, stdout=None):
        self.stdout = stdout
        self.clock = DemoClock()
        self.orgs = {o.slug: o for o in Organisation.objects.filter(slug__in=ORGANISATIONS)}
        self.admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        self.procurer = self.member_of(AUTHORITY, Role.PROCURER)
        self.compliance = self.member_of(AUTHORITY, Role.COMPLIANCE) or self.procurer
        self.evaluator_login = self.member_of(AUTHORITY, Role.EVALUATOR)
        # The cluster manager accepted the contact rules; the coordinator has not (yet).
        self.broker = self.member_of(CLUSTER, Role.CLUSTER_MANAGER, Role.LAB_COORDINATOR)
        # A staff member acts for Kerveil Capteurs: the documented "sme" login still has the new platform
        # code to accept, a journey the demo keeps for it.
        self.firm_users = {
            slug: self.member_of(slug, Role.FIRM_MEMBER, Role.RESEARCHER, Role.FIRM_ADMIN)
            for slug in (SENSORS, MOBILE, RENOVATION, DESIGN, ORESUND, TELECOM, UNIVERSITY)
        }

    def say(self, message: str):
        if self.stdout is not None:
            self.stdout.write(message)

    def member_of(self, slug: str, *roles) -> User | None:
        """The longest-standing member of ``slug`` in the first of ``roles`` that has one."""
        preference = Case(
            *(When(role=role, then=Value(rank)) for rank, role in enumerate(roles)),
            output_field=IntegerField(),
        )
        membership = (
            Membership.objects.active()
            .filter(organisation=self.orgs[slug], role__in=roles)
            .order_by(preference, "pk")
            .first()
        )
        # A fresh user object: permission checks remember memberships per object.
        return User.objects.get(pk=membership.user_id) if membership else None

    def fresh(self, user: User) -> User:
        return User.objects.get(pk=user.pk)

    def firm(self, slug: str) -> tuple[Organisation, User]:
        return self.orgs[slug], self.firm_users[slug]

    def accept_rules(self, procurement: Procurement, people: list[tuple[User, str]]):
        """Everyone who acts on the call accepts its ground rules first, for the organisation they act for."""
        for user, slug in people:
            organisation = self.orgs[slug]
            for version in core.pending_ground_rules(user, procurement, organisation=organisation):
                core.accept_ground_rules(
                    version,
                    organisation=organisation,
                    acting_user=user,
                    user_agent="seed_demo",
                    shown_sha256=version.text_sha256,
                )

    def add_evaluators(self) -> list[User]:
        """The two evaluators the city's panel needs besides the documented evaluator login."""
        password = make_password(DEMO_PASSWORD)
        people = []
        for first_name, last_name in EVALUATORS:
            email = f"{first_name.lower()}.{last_name.lower()}@{STAFF_DOMAIN}"
            user = User.objects.filter(email=email).first() or UserFactory(
                email=email,
                first_name=first_name,
                last_name=last_name,
                password=factory.Transformer.Force(password),
            )
            if not Person.objects.filter(user=user).exists():
                core.register_person(user, full_name=f"{first_name} {last_name}")
            if not Membership.objects.active().filter(user=user, organisation=self.orgs[AUTHORITY]).exists():
                core.add_membership(user, self.orgs[AUTHORITY], Role.EVALUATOR, acting_user=self.admin)
            people.append(self.fresh(user))
        return people

    # ------------------------------------------------------------------------------------------ build

    def build(self):
        if None in (self.admin, self.procurer, self.broker) or None in self.firm_users.values():
            return
        with self.clock.running():
            self.clock.go(331)
            self.panel = self.add_evaluators()
            home_care = self.home_care()
            companion = self.companion()
        self.say(
            _("Demo procurements: “%(first)s” in phase 2, “%(second)s” open for bids.")
            % {"first": home_care.title, "second": companion.title}
        )

    def criteria(self, phase: Phase, rows):
        for position, (name, description, weight, threshold, is_price) in enumerate(rows):
            calls.save_criterion(
                phase,
                {
                    "name": name,
                    "description": description,
                    "weight": Decimal(weight),
                    "threshold": Decimal(threshold),
                    "is_price": is_price,
                    "position": position,
                },
                acting_user=self.procurer,
            )

    def bid(
        self, phase: Phase, consortium, slug: str, *, summary: str, price: str, answers: list[str]
    ) -> Bid:
        _organisation, user = self.firm(slug)
        criteria = [c for c in phase.criteria.order_by("position") if not c.is_price]
        draft = bids.save_bid_draft(
            phase,
            consortium,
            summary=summary,
            price=Decimal(price),
            answers={str(c.pk): text for c, text in zip(criteria, answers, strict=True)},
            acting_user=user,
        )
        return draft

    # --------------------------------------------------------------------------- living at home longer

    def home_care(self) -> Procurement:
        clock, procurer, broker = self.clock, self.procurer, self.broker
        buyer, cluster = self.orgs[AUTHORITY], self.orgs[CLUSTER]

        clock.go(330)
        procurement = calls.create_procurement(
            buyer=buyer,
            title="Living at home longer",
            challenge=(
                "One in four residents of Kuusiniemi will be over 75 by 2035. Most of them want to stay in "
                "their own home, but falls at night, loneliness and missed medication bring them to "
                "hospital and then to a care home earlier than they or their families wish. Home-care "
                "nurses visit up to four times a day and see only part of what happens in between."
            ),
            needs=(
                "Notice early that an older person living alone is at risk — a fall, a bad night, a "
                "change in habits — without cameras and without asking them to wear anything they would "
                "forget. Fit into the home-care nurses' visits and tools. Work in Finnish and Swedish. "
                "Keep the data in the EU, under the person's control."
            ),
            expected_outcome=(
                "Solutions tested with 200 households that let nurses act before a crisis, so that older "
                "people stay at home safely for longer, with fewer emergency admissions."
            ),
            budget=Decimal("2400000"),
            time_zone=ZONE,
            intermediaries=[cluster],
            acting_user=procurer,
        )
        phases = {p.number: p for p in procurement.phases.all()}
        self.criteria(
            phases[1],
            [
                (
                    "Quality and feasibility of the solution design",
                    "Is the design sound and realistic?",
                    50,
                    5,
                    False,
                ),
                (
                    "Fit with home care and older people's lives",
                    "Nurses' routines, privacy, dignity.",
                    30,
                    4,
                    False,
                ),
                ("Price", "The price of the phase, rights kept by the supplier considered.", 20, 0, True),
            ],
        )
        self.criteria(
            phases[2],
            [
                (
                    "Quality of the prototype and of its test plan",
                    "Does it work in a lab home?",
                    50,
                    5,
                    False,
                ),
                (
                    "Usability for older people and nurses",
                    "Tested with both, in both languages.",
                    30,
                    5,
                    False,
                ),
                ("Price", "The price of the phase.", 20, 0, True),
            ],
        )
        self.criteria(
            phases[3],
            [
                ("Readiness of the first products", "Can 200 households use it every day?", 40, 5, False),
                ("Quality of the field-test plan", "Recruitment, consent, measures, support.", 30, 5, False),
                ("Price", "The price of the phase.", 30, 0, True),
            ],
        )
        firms = [(user, slug) for slug, user in self.firm_users.items()]
        self.accept_rules(
            procurement, [(procurer, AUTHORITY), (self.compliance, AUTHORITY), (broker, CLUSTER)]
        )
        self.accept_rules(procurement, firms + [(u, AUTHORITY) for u in self.panel])

        # The open market consultation.
        clock.go(320)
        procurement = consultation.open_consultation(
            procurement, closes_at=clock.at(260, 16), acting_user=procurer
        )
        clock.go(318, 11)
        for slug in (SENSORS, ORESUND, TELECOM, UNIVERSITY, DESIGN):
            organisation, user = self.firm(slug)
            consultation.register_interest(procurement, organisation, "consultation", acting_user=user)
        clock.go(316)
        info_day = consultation.add_consultation_event(
            procurement,
            {
                "title": "Information day at Kuusiniemi city hall",
                "starts_at": clock.at(300, 10),
                "ends_at": clock.at(300, 13),
                "place": "Kuusiniemi city hall, council room, Kirkkotie 1",
                "description": "The challenge, a visit with a home-care team, questions from firms.",
            },
            acting_user=procurer,
        )
        workshop = consultation.add_consultation_event(
            procurement,
            {
                "title": "Online workshop: data, privacy and nurses' routines",
                "starts_at": clock.at(285, 14),
                "ends_at": clock.at(285, 16),
                "online_url": "https://meet.kuusiniemi.example/pcp-workshop",
                "description": "Three home-care nurses and the city's data protection officer answer firms.",
            },
            acting_user=procurer,
        )
        clock.go(300, 15)
        consultation.record_event_attendance(
            info_day, [self.orgs[s] for s in (SENSORS, ORESUND, TELECOM, UNIVERSITY)], acting_user=procurer
        )
        conduct.declare_gift(
            procurement,
            self.orgs[TELECOM],
            "An invitation to dinner for the procurement team after the information day.",
            Decimal("240"),
            clock.at(300).date(),
            "refused",
            acting_user=procurer,
        )
        clock.go(299, 9)
        conduct.record_interaction(
            procurement,
            cluster,
            Interaction.Kind.MEETING,
            clock.at(299, 9),
            "Making the call accessible to small firms",
            "The cluster asked for phase 1 to stay small enough for SMEs and for consortia to be allowed. "
            "The city will consider it in the specifications; nothing about any firm's plans was discussed.",
            "Aino Virtanen (procurer), Yann Kerbrat (cluster manager)",
            [self.orgs[SENSORS], self.orgs[DESIGN]],
            on_behalf_of=cluster,
            acting_user=broker,
        )
        clock.go(295, 14)
        inputs = []
        for slug, subject, text in (
            (
                SENSORS,
                "Most falls we see happen at night",
                "In our trials, two falls in three happened between 22:00 and 6:00, when no nurse visits. "
                "Radar and floor sensors see them without cameras.",
            ),
            (
                ORESUND,
                "Use the phones older people already have",
                "Many of your clients have a simple phone. A voice check-in on it costs less than a new "
                "device and is accepted more easily.",
            ),
            (
                UNIVERSITY,
                "Measure what matters to the residents",
                "We suggest measuring days lived at home and self-reported safety, not only alarms. We can "
                "run the evaluation protocol with the nurses.",
            ),
        ):
            organisation, user = self.firm(slug)
            inputs.append(
                consultation.submit_consultation_input(
                    procurement, organisation, subject=subject, text=text, acting_user=user
                )
            )
        clock.go(290, 11)
        telecom, telecom_user = self.firm(TELECOM)
        conduct.send_message(
            procurement,
            telecom,
            buyer,
            "Broadband at clients' homes",
            "Do all home-care clients have a broadband connection, or should solutions work on mobile data?",
            acting_user=telecom_user,
        )
        clock.go(285, 16, 30)
        consultation.record_event_attendance(
            workshop,
            [self.orgs[s] for s in (SENSORS, MOBILE, DESIGN, ORESUND, UNIVERSITY)],
            acting_user=procurer,
        )
        clock.go(270, 13)
        conduct.record_interaction(
            procurement,
            buyer,
            Interaction.Kind.CALL,
            clock.at(270, 13),
            "Questions about data hosting",
            "Öresund Mobile Labs asked whether data may be hosted outside Finland. Answered: in the EU; the "
            "answer goes into the consultation summary for everyone.",
            "Aino Virtanen (procurer), Johan Lindqvist",
            [self.orgs[ORESUND]],
            acting_user=procurer,
        )
        clock.go(262)
        for contribution in (inputs[0], inputs[2]):
            consultation.mark_input_used(contribution, True, acting_user=procurer)
        clock.go(258)
        procurement = consultation.publish_consultation_summary(
            procurement,
            "Six organisations took part: five registered, six came to the two events, three sent written "
            "input.\n\n"
            "What we heard: most falls happen at night; cameras are not acceptable to residents; many "
            "clients have only a simple phone; data should stay in the EU; small firms want a first phase "
            "they can afford to bid for, and to be allowed to bid in consortia.\n\n"
            "What the call takes from it: night-time detection without cameras is a core need; solutions "
            "may use existing phones; data is hosted in the EU; phase 1 is small (10 % of the budget) and "
            "consortia are welcome; the evaluation measures days lived at home and felt safety.",
            acting_user=procurer,
        )

        # The call.
        clock.go(255)
        procurement = calls.update_procurement(
            procurement,
            {
                "specifications": (
                    "Detect falls and worrying changes at night without cameras or wearables that must be "
                    "remembered; alert the home-care team in its existing tools; work in Finnish and "
                    "Swedish; host data in the EU; let the resident see and stop what is collected. "
                    "Solutions may build on the clients' own phones and on the alarm buttons they have."
                )
            },
            acting_user=procurer,
        )
        phase1 = calls.save_phase(
            phases[1],
            {"question_deadline": clock.at(225, 12), "bid_deadline": clock.at(210, 12)},
            acting_user=procurer,
        )
        clock.go(250)
        procurement = calls.publish_call(procurement, acting_user=procurer)
        phase1 = Phase.objects.get(pk=phase1.pk)
        clock.go(248)
        for slug in (SENSORS, ORESUND, TELECOM, DESIGN, UNIVERSITY, RENOVATION, MOBILE):
            organisation, user = self.firm(slug)
            consultation.register_interest(procurement, organisation, "call", acting_user=user)
        university, researcher = self.firm(UNIVERSITY)
        consortia.post_partner_search(
            procurement,
            university,
            kind="capability",
            title="Evaluation with older people and nurses",
            text="We run usability and field evaluations with older people, in Finnish and French.",
            acting_user=researcher,
        )
        consortia.post_partner_search(
            procurement,
            telecom,
            kind="need",
            title="Looking for a home-sensor partner",
            text="We bring connectivity and a secure platform; we look for a firm that makes sensors.",
            acting_user=telecom_user,
        )

        # Three consortia, one proposed by the cluster.
        clock.go(246)
        sensors, sensors_user = self.firm(SENSORS)
        home_sense = consortia.form_consortium(
            procurement,
            sensors,
            name="HomeSense",
            agreement_text=(
                "Kerveil Capteurs leads and builds the night-time sensors; Kerveil Mobile builds the nurses' "
                "app; Université de technologie Atlantique runs the evaluation. Each partner keeps the IPR "
                "of its own results; joint results are owned in proportion to the work."
            ),
            acting_user=sensors_user,
        )
        oresund, oresund_user = self.firm(ORESUND)
        care_wave = consortia.form_consortium(
            procurement,
            oresund,
            name="CareWave",
            agreement_text=(
                "Öresund Mobile Labs leads and builds the voice check-in; Atelier Lumen Design designs the "
                "service with older people. Each keeps the IPR of its own results."
            ),
            acting_user=oresund_user,
        )
        invitations = [
            consortia.invite_partner(
                home_sense,
                university,
                contribution="Evaluation protocol and field studies.",
                acting_user=sensors_user,
            ),
            consortia.invite_partner(
                home_sense, self.orgs[MOBILE], contribution="The nurses' app.", acting_user=sensors_user
            ),
            consortia.invite_partner(
                care_wave,
                self.orgs[DESIGN],
                contribution="Service design with residents.",
                acting_user=oresund_user,
            ),
        ]
        clock.go(245)
        warm_home = consortia.propose_consortium(
            procurement,
            cluster=cluster,
            name="Warm Home Alliance",
            lead=telecom,
            partners=[self.orgs[RENOVATION]],
            agreement_text=(
                "Océane Télécom leads and provides connectivity and the platform; Loire Rénov' Énergie adds "
                "home sensors installed during renovation visits. Each keeps the IPR of its own results."
            ),
            acting_user=broker,
        )
        clock.go(244)
        consortia.confirm_consortium_proposal(warm_home, acting_user=telecom_user)
        invitations.append(
            ConsortiumMember.objects.get(consortium=warm_home, organisation=self.orgs[RENOVATION])
        )
        clock.go(243)
        for member in invitations:
            consortia.answer_invitation(
                member, accept=True, acting_user=self.firm_users[member.organisation.slug]
            )

        # Clarifications: answered to every registered bidder at once; one declined.
        clock.go(235)
        asked = {
            slug: clarifications.ask_clarification(
                phase1, self.orgs[slug], question, acting_user=self.firm_users[slug]
            )
            for slug, question in (
                (
                    SENSORS,
                    "We at Kerveil already equip some of your clients: may we reuse their alarm buttons?",
                ),
                (ORESUND, "Will anonymised home-care visit data be available during phase 1?"),
                (TELECOM, "Could the city tell us which firms took part in the consultation workshop?"),
            )
        }
        clock.go(232, 14)
        clarifications.answer_clarification(
            asked[SENSORS],
            "May a solution rely on the alarm buttons clients already have?",
            "Yes. About 60 % of home-care clients have an alarm button; a solution may use it, but must also "
            "work for clients who have none.",
            acting_user=procurer,
        )
        clarifications.answer_clarification(
            asked[ORESUND],
            "Will anonymised home-care visit data be available during phase 1?",
            "Yes: one year of anonymised visit times and durations, for 300 clients, after signing the data "
            "agreement annexed to the call.",
            acting_user=procurer,
        )
        clarifications.decline_clarification(
            asked[TELECOM],
            "The consultation record, published with the summary, lists the organisations that took part.",
            acting_user=procurer,
        )

        # Bids, sealed until 12:00 on the deadline day.
        clock.go(214)
        evaluators = [
            evaluation.assign_evaluator(phase1, self.panel[0], "chair", acting_user=procurer),
            evaluation.assign_evaluator(phase1, self.panel[1], acting_user=procurer),
        ]
        clock.go(213, 15)
        phase1_bids = {
            "home_sense": self.bid(
                phase1,
                home_sense,
                SENSORS,
                summary="Radar sensors in bedroom and bathroom detect falls and restless nights; the "
                "nurses' app shows who needs a visit first.",
                price="58000",
                answers=[
                    "Design of a radar sensor pair and a rules engine; a feasibility test in two lab homes.",
                    "Designed with three nurse teams; no camera, nothing to wear; residents can pause it.",
                ],
            ),
            "care_wave": self.bid(
                phase1,
                care_wave,
                ORESUND,
                summary="A daily voice check-in on the client's own phone, with a companion that notices "
                "changes in voice and routine.",
                price="46000",
                answers=[
                    "Design of the check-in dialogue and of the change detection; tests with 20 residents.",
                    "Works on simple phones in Finnish and Swedish; co-designed with the seniors' club.",
                ],
            ),
            "warm_home": self.bid(
                phase1,
                warm_home,
                TELECOM,
                summary="A connected home platform installed with energy renovations, with door and bed "
                "sensors.",
                price="39000",
                answers=[
                    "A platform design reusing our smart-building gateway; sensors to be chosen later.",
                    "Installation during renovation visits; the nurses' tools are not yet covered.",
                ],
            ),
        }
        clock.go(212, 9)
        for key, slug in (("home_sense", SENSORS), ("care_wave", ORESUND), ("warm_home", TELECOM)):
            phase1_bids[key] = bids.submit_bid(phase1_bids[key], acting_user=self.firm_users[slug])

        # After the deadline: the phase closes, the panel declares, scores and agrees.
        clock.go(210, 12, 5)
        bids.close_phase_for_bids(phase1)
        clock.go(208)
        chair, second = evaluators
        for bid in phase1_bids.values():
            evaluation.declare_conflict(chair, bid, has_conflict=False, acting_user=self.panel[0])
        evaluation.declare_conflict(
            second, phase1_bids["home_sense"], has_conflict=False, acting_user=self.panel[1]
        )
        evaluation.declare_conflict(
            second, phase1_bids["warm_home"], has_conflict=False, acting_user=self.panel[1]
        )
        evaluation.declare_conflict(
            second,
            phase1_bids["care_wave"],
            has_conflict=True,
            relationship="Until last year I worked on a design project with Atelier Lumen Design, a "
            "partner of this consortium.",
            acting_user=self.panel[1],
        )
        criteria = list(phase1.criteria.order_by("position"))
        # Consensus scores per bid and criterion; the individual scores are close to them.
        agreed = {"home_sense": (8, 8, 7), "care_wave": (7, 8, 8), "warm_home": (4, 5, 9)}
        reasons = {
            "home_sense": (
                "A sound, tested design.",
                "Built with the nurses.",
                "Fair for the work proposed.",
            ),
            "care_wave": ("Realistic, simple design.", "Uses the residents' own phones.", "Good value."),
            "warm_home": (
                "Sensors not chosen yet; feasibility not shown.",
                "Nurses' tools not covered.",
                "The lowest price.",
            ),
        }
        clock.go(203, 14)
        for key, bid in phase1_bids.items():
            for evaluator, user, offset in ((chair, self.panel[0], 0), (second, self.panel[1], -1)):
                if evaluator is second and key == "care_wave":
                    continue  # recused
                for criterion, score, reason in zip(criteria, agreed[key], reasons[key], strict=True):
                    evaluation.score_bid(
                        evaluator, bid, criterion, max(score + offset, 0), reason, acting_user=user
                    )
        clock.go(198, 11)
        for key, bid in phase1_bids.items():
            for criterion, score, reason in zip(criteria, agreed[key], reasons[key], strict=True):
                evaluation.record_consensus(bid, criterion, score, reason, acting_user=self.panel[0])

        # The award, its standstill period, the contracts and their milestones.
        clock.go(196, 15)
        decision = awards.decide_award(
            phase1,
            "HomeSense and CareWave pass every minimum score and the pass mark, and rank first and second. "
            "Warm Home Alliance does not reach the minimum score for the quality of its solution design.",
            acting_user=procurer,
        )
        clock.go(185)
        decision = awards.finalise_award(decision, acting_user=procurer)
        clock.go(183)
        contracts = list(Contract.objects.filter(phase=phase1).order_by("pk"))
        for contract in contracts:
            awards.sign_contract(contract, acting_user=procurer)
        # Each contract has an interim and a final milestone: delivered, accepted, then paid.
        for index, days in ((0, (126, 122, 118)), (1, (64, 58, 52))):
            for days_ago, to in zip(days, ("delivered", "accepted", "paid"), strict=True):
                clock.go(days_ago)
                for contract in contracts:
                    milestone = contract.milestones.order_by("due_on", "pk")[index]
                    awards.record_milestone(milestone, to, acting_user=procurer)
        clock.go(50)
        awards.complete_phase(phase1, acting_user=procurer)

        # Phase 2: only the two phase-1 contractors may bid.
        clock.go(45)
        phase2 = calls.open_next_phase(
            phases[2],
            question_deadline=clock.at(-12, 12),
            bid_deadline=clock.at(-20, 12),
            acting_user=procurer,
        )
        clock.go(44)
        evaluation.assign_evaluator(phase2, self.panel[0], "chair", acting_user=procurer)
        if self.evaluator_login is not None:
            evaluation.assign_evaluator(phase2, self.evaluator_login, acting_user=procurer)
        clock.go(30, 15)
        question = clarifications.ask_clarification(
            phase2,
            oresund,
            "May the prototypes be tested in the city's service flats for older people?",
            acting_user=oresund_user,
        )
        clock.go(27, 11)
        clarifications.answer_clarification(
            question,
            "May the prototypes be tested in the city's service flats for older people?",
            "Yes: two service flats in Kuusiniemi centre are reserved for the phase-2 lab tests, four weeks "
            "per contractor, booked through the project manager.",
            acting_user=procurer,
        )
        clock.go(9, 17)
        conduct.record_interaction(
            procurement,
            buyer,
            Interaction.Kind.OTHER,
            clock.at(9, 15),
            "Chance meeting at a trade fair",
            "Kerveil Capteurs' staff greeted the procurer at their stand. The procurer said that the call "
            "cannot be discussed while phase 2 is open and pointed to the clarifications page; nothing else "
            "was said about the call.",
            "Aino Virtanen (procurer), Erwan Le Bihan",
            [sensors],
            acting_user=procurer,
        )
        clock.go(6, 16)
        home_sense_bid = self.bid(
            phase2,
            home_sense,
            SENSORS,
            summary="Working radar prototypes in ten lab homes and a first version of the nurses' app.",
            price="205000",
            answers=[
                "Ten prototype pairs, tested in the two service flats and eight volunteer homes.",
                "Usability tests with 12 residents and 9 nurses, in Finnish and Swedish.",
            ],
        )
        bids.submit_bid(home_sense_bid, acting_user=sensors_user)
        clock.go(3, 10)
        clarifications.ask_clarification(
            phase2,
            sensors,
            "Do phase-2 lab tests have to include residents with memory problems?",
            acting_user=sensors_user,
        )
        clock.go(2, 14)
        care_wave_bid = self.bid(
            phase2,
            care_wave,
            ORESUND,
            summary="The voice companion as a working prototype on simple phones, with alerts in the nurses' "
            "tools.",
            price="188000",
            answers=[
                "A prototype for 40 residents' phones, with a test report from the service flats.",
                "Co-designed and tested with the seniors' club and two nurse teams.",
            ],
        )
        bids.submit_bid(care_wave_bid, acting_user=oresund_user)
        return Procurement.objects.get(pk=procurement.pk)

    # --------------------------------------------------------------------- digital companion (second call)

    def companion(self) -> Procurement:
        clock, procurer = self.clock, self.procurer
        buyer, cluster = self.orgs[AUTHORITY], self.orgs[CLUSTER]
        clock.go(62)
        procurement = calls.create_procurement(
            buyer=buyer,
            title="Digital companion against loneliness",
            challenge=(
                "A third of Kuusiniemi's residents over 80 say they feel lonely most days. Loneliness harms "
                "health as much as smoking, and the city's day centres reach only a few of them."
            ),
            needs=(
                "A companion that keeps older people in touch with the people and activities around them — "
                "family, neighbours, clubs, volunteers — without replacing human contact. Finnish and "
                "Swedish, usable with poor eyesight and hearing, no smartphone required."
            ),
            expected_outcome="Fewer residents who feel lonely, measured over six months with 300 users.",
            budget=Decimal("900000"),
            time_zone=ZONE,
            intermediaries=[cluster],
            acting_user=procurer,
        )
        phases = {p.number: p for p in procurement.phases.all()}
        for number in (1, 2, 3):
            self.criteria(
                phases[number],
                [
                    ("Quality of the solution", "How well it answers the needs.", 50, 5, False),
                    (
                        "Accessibility and inclusion",
                        "Eyesight, hearing, languages, no smartphone.",
                        30,
                        5,
                        False,
                    ),
                    ("Price", "The price of the phase.", 20, 0, True),
                ],
            )
        people = [(self.firm_users[s], s) for s in (ORESUND, MOBILE, DESIGN)]
        self.accept_rules(procurement, people)
        clock.go(60)
        procurement = consultation.open_consultation(
            procurement, closes_at=clock.at(36, 16), acting_user=procurer
        )
        clock.go(58)
        for slug in (ORESUND, MOBILE, DESIGN):
            organisation, user = self.firm(slug)
            consultation.register_interest(procurement, organisation, "consultation", acting_user=user)
        event = consultation.add_consultation_event(
            procurement,
            {
                "title": "Online information session",
                "starts_at": clock.at(45, 14),
                "ends_at": clock.at(45, 15, 30),
                "online_url": "https://meet.kuusiniemi.example/companion",
                "description": "The challenge, with residents of a day centre and their volunteers.",
            },
            acting_user=procurer,
        )
        clock.go(45, 16)
        consultation.record_event_attendance(
            event, [self.orgs[s] for s in (ORESUND, MOBILE, DESIGN)], acting_user=procurer
        )
        design, designer = self.firm(DESIGN)
        consultation.submit_consultation_input(
            procurement,
            design,
            subject="Loneliness is not solved by a screen",
            text="Residents told us they want reasons to meet people, not another device to talk to.",
            acting_user=designer,
        )
        clock.go(34)
        procurement = consultation.publish_consultation_summary(
            procurement,
            "Three organisations took part. The call asks for companions that bring people together in real "
            "life, not only on a screen, and that work without a smartphone.",
            acting_user=procurer,
        )
        clock.go(30)
        procurement = calls.update_procurement(
            procurement,
            {
                "specifications": (
                    "Suggest and arrange contacts and activities with family, neighbours, clubs and "
                    "volunteers; work on a landline, a simple phone or a tablet; Finnish and Swedish; data "
                    "in the EU under the user's control."
                )
            },
            acting_user=procurer,
        )
        phase1 = calls.save_phase(
            phases[1],
            {"question_deadline": clock.at(-21, 12), "bid_deadline": clock.at(-30, 12), "max_contractors": 4},
            acting_user=procurer,
        )
        clock.go(28)
        procurement = calls.publish_call(procurement, acting_user=procurer)
        phase1 = Phase.objects.get(pk=phase1.pk)
        clock.go(26)
        for slug in (ORESUND, MOBILE):
            organisation, user = self.firm(slug)
            consultation.register_interest(procurement, organisation, "call", acting_user=user)
        consortia.post_partner_search(
            procurement,
            design,
            kind="capability",
            title="Service design with older people",
            text="We co-design services with older people and day-centre staff, in Finland and Austria.",
            acting_user=designer,
        )
        clock.go(20)
        mobile, mobile_user = self.firm(MOBILE)
        companion = consortia.form_consortium(
            procurement,
            mobile,
            name="Companion Nord",
            agreement_text="Kerveil Mobile leads and builds the companion; Atelier Lumen Design designs the "
            "service. Each keeps the IPR of its own results.",
            acting_user=mobile_user,
        )
        consortia.invite_partner(companion, design, contribution="Service design.", acting_user=mobile_user)
        clock.go(12, 10)
        oresund, oresund_user = self.firm(ORESUND)
        question = clarifications.ask_clarification(
            phase1,
            oresund,
            "Must the companion work in both Finnish and Swedish from phase 1?",
            acting_user=oresund_user,
        )
        clock.go(10, 14)
        clarifications.answer_clarification(
            question,
            "Must the companion work in both Finnish and Swedish from phase 1?",
            "The phase-1 design must cover both languages; a phase-1 demonstration may use one of them.",
            acting_user=procurer,
        )
        return Procurement.objects.get(pk=procurement.pk)


# ----------------------------------------------------------------------------------------- public notices


def seed_notice_pages(home, *, editor: User, publisher: User) -> None:
    """The public procurement index under ``home``, with a challenge notice and a call notice for each demo
    procurement that has none yet; drafted by ``editor`` and published by ``publisher``."""
    from cms.models import CallNoticePage, ChallengeNoticePage, ProcurementIndexPage

    procurements = list(Procurement.objects.filter(slug__in=SLUGS).order_by("created_at"))
    if not procurements:
        return
    index = ProcurementIndexPage.objects.first()
    if index is None:
        index = ProcurementIndexPage(
            title="Public procurement of innovation",
            slug="public-procurement",
            introduction="Public authorities describe the challenges they face, consult the market and buy "
            "the research and development that answers them, in phases. Every notice here is read from "
            "the procurement itself, with its key dates in the buyer's time zone.",
            live=False,
            owner=editor,
        )
        home.add_child(instance=index)
        index.save_revision(user=editor).publish(user=publisher)
    challenges = set(ChallengeNoticePage.objects.values_list("procurement_id", flat=True))
    notices = set(CallNoticePage.objects.values_list("procurement_id", flat=True))
    for procurement in procurements:
        pages = []
        if procurement.pk not in challenges:
            pages.append(
                ChallengeNoticePage(
                    title=_("Challenge: %(title)s") % {"title": procurement.title},
                    slug=f"challenge-{procurement.slug}"[:80],
                    procurement=procurement,
                    introduction=procurement.expected_outcome,
                )
            )
        if procurement.pk not in notices:
            pages.append(
                CallNoticePage(
                    title=_("Call for tenders: %(title)s") % {"title": procurement.title},
                    slug=f"call-{procurement.slug}"[:80],
                    procurement=procurement,
                    introduction=_("A pre-commercial procurement by %(buyer)s, in phases.")
                    % {"buyer": procurement.buyer.name},
                )
            )
        for page in pages:
            page.live, page.owner = False, editor
            index.add_child(instance=page)
            page.save_revision(user=editor).publish(user=publisher)

"""Demo test campaigns for ``manage.py seed_demo``, in every state and channel, built on the demo panels
(``pilots.demo``): their organisations, people, consents and panels are looked up, never created here.

- B2G: a home-care sensor field trial for the City of Kuusiniemi's older residents (health data: reviewed
  and approved, running), with installation visits at home already held and closing interviews booked.
- B2C: a usability test of a mobile service for carers (analysing), with a SUS + NPS + agreement-scale +
  free-text questionnaire answered by most of the panel, whose answers differ by age band.
- B2B: a supplier's sensor-gateway prototype tested by buyer-firm engineers (recruiting, NDA).
- A joint survey for two firms (shared and firm-own questions), an idea competition being judged, a closed
  campaign with key findings, and requests in draft, submitted, in review after a request for changes,
  approved, rejected and withdrawn.

The lifecycle (submission, review, fast-track, recruiting, running, analysing, closing, withdrawal) and the
questionnaires go through the services; participants, bookings and answers are written in bulk and
consistently (a draw of the campaign, an accepted invitation, the terms accepted, the required consents
held, answers stored against the participant's code), so that the seed stays fast. Everything comes from a
fixed seed; if the campaigns exist already, nothing is added.
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from livinglab.models import Channel, ConsentPurpose, ConsentRecord, Membership, Organisation, Role, User

from .demo import AUTHORITY, B2B, B2C, B2G, CLUSTER, SENSOR_FIRM, TELECOM
from .models import (
    Answer,
    Booking,
    Campaign,
    CampaignKind,
    CampaignReview,
    CampaignSession,
    Competition,
    Criterion,
    Draw,
    DrawSelection,
    Idea,
    IdeaOwnership,
    IdeaScore,
    Invitation,
    Maturity,
    Method,
    Panel,
    PanelMembership,
    ParticipantAgreement,
    ParticipantProfile,
    Participation,
    Questionnaire,
    Response,
    participant_code,
)
from .scoring import sus_score
from .services import campaigns as lifecycle
from .services import questionnaires

SEED = 4404
MOBILE_FIRM, RENOVATION, DESIGN, ORESUND = (
    "kerveil-mobile",
    "loire-renov-energie",
    "atelier-lumen",
    "oresund-mobile-labs",
)
HOME_CARE = "kuusiniemi-home-sensors-field-trial"
CARER_APP = "carer-app-usability-test"
GATEWAY = "sensor-gateway-lead-user-test"
JOINT = "living-at-home-joint-survey-2025"
COMPETITION = "ideas-for-warmer-homes"
CLOSED = "tablet-video-calls-pilot"
SLUGS = (
    HOME_CARE,
    CARER_APP,
    GATEWAY,
    JOINT,
    COMPETITION,
    CLOSED,
    "heat-pump-companion-app",
    "oresund-commuter-survey",
    "homework-helper-for-teens",
    "smart-pill-box-with-camera",
    "night-light-for-stairs",
    "digital-cafe-tablet-course",
)
SUS_ITEMS = 10

# How well the carer app works for each age band: the latent ease (0–1) the answers are drawn around.
EASE_BY_AGE = {
    "0-12": 0.7,
    "13-17": 0.75,
    "18-24": 0.78,
    "25-34": 0.74,
    "35-44": 0.68,
    "45-54": 0.6,
    "55-64": 0.52,
    "65-74": 0.45,
    "75+": 0.36,
}


def text(en: str) -> dict:
    return {"en": en}


def options(*labels: str) -> list[dict]:
    return [{"value": f"o{n}", "label": {"en": label}} for n, label in enumerate(labels, start=1)]


# ------------------------------------------------------------------------------- campaign texts

BASE = {
    "objectives": "",
    "expect_risks": "No risk beyond the inconvenience of a prototype that sometimes fails.",
    "expect_not": "No payment beyond the incentive; you do not keep the device; no promise the product "
    "will be sold.",
    "idea_ownership": IdeaOwnership.NONE,
}


@dataclass
class Participant:
    person_id: int
    selection: DrawSelection
    invitation: Invitation
    profile: ParticipantProfile

    @property
    def code(self) -> str:
        return self.selection.code


def seed_campaigns(stdout=None) -> None:
    """The demo campaigns; does nothing if they exist already (run after the demo panels)."""
    if Campaign.objects.filter(slug__in=SLUGS).exists():
        return
    if Panel.objects.filter(slug__in=(B2C, B2B, B2G)).count() != 3:
        return  # no demo panels to recruit from
    DemoCampaigns(stdout).build()


class DemoCampaigns:
    def __init__(self, stdout=None):
        self.stdout = stdout
        self.rng = random.Random(SEED)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.orgs = {
            o.slug: o
            for o in Organisation.objects.filter(
                slug__in=[CLUSTER, AUTHORITY, SENSOR_FIRM, TELECOM, MOBILE_FIRM, RENOVATION, DESIGN, ORESUND]
            )
        }
        self.panels = {p.slug: p for p in Panel.objects.filter(slug__in=(B2C, B2B, B2G))}
        self.purposes = {p.code: p for p in ConsentPurpose.objects.all()}
        self.coordinator = self.member_of(CLUSTER, Role.LAB_COORDINATOR)
        self.taken: set[tuple[int, int]] = set()  # (campaign, person) already enlisted

    def say(self, message: str):
        if self.stdout is not None:
            self.stdout.write(message)

    def member_of(self, slug: str, *roles) -> User | None:
        organisation = self.orgs.get(slug)
        if organisation is None:
            return None
        membership = (
            Membership.objects.active()
            .filter(organisation=organisation, role__in=roles or list(Role.values))
            .order_by("pk")
            .first()
        )
        # A fresh user object: permission checks remember memberships per object.
        return User.objects.get(pk=membership.user_id) if membership else None

    def requester(self, slug: str) -> User:
        return self.member_of(slug, Role.FIRM_ADMIN, Role.FIRM_MEMBER, Role.PROCURER) or self.coordinator

    # ------------------------------------------------------------------------------------- build

    def build(self):
        self.home_care_trial()
        self.carer_app_test()
        self.gateway_test()
        self.joint_survey()
        self.competition()
        self.closed_pilot()
        self.requests()
        self.say(f"Demo campaigns: {Campaign.objects.filter(slug__in=SLUGS).count()} campaigns.")

    # ----------------------------------------------------------------------------- the lifecycle

    def create(
        self, slug: str, *, firm: str, panel: str | None, purposes=("participation",), partners=(), **fields
    ) -> Campaign:
        """A request saved by the firm (or authority), in draft."""
        values = BASE | fields
        values.setdefault("objectives", "Learn what users need before the next version.")
        campaign = Campaign(
            slug=slug,
            lab=self.orgs[CLUSTER],
            requested_by=self.orgs[firm],
            panel=self.panels[panel] if panel else None,
            **values,
        )
        return lifecycle.save_campaign(
            campaign,
            required_purposes=[self.purposes[p] for p in purposes],
            partners=[self.orgs[p] for p in partners],
            acting_user=self.requester(firm),
        )

    def submit(self, campaign: Campaign) -> Campaign:
        return lifecycle.submit_campaign(campaign, acting_user=self.requester(campaign.requested_by.slug))

    def approve(self, campaign: Campaign) -> Campaign:
        """Submitted, then reviewed and approved (or fast-tracked when no review is needed)."""
        campaign = self.submit(campaign)
        if campaign.needs_review:
            lifecycle.start_review(campaign, acting_user=self.coordinator)
            lifecycle.decide_review(
                campaign,
                CampaignReview.Decision.APPROVE,
                dict.fromkeys(CampaignReview.CHECKLIST, True),
                "Expectations are honest; explicit health consent is asked; a nurse attends every visit.",
                acting_user=self.coordinator,
            )
        else:
            lifecycle.fast_track_campaign(campaign, acting_user=self.coordinator)
        campaign.refresh_from_db()
        return campaign

    def move(self, campaign: Campaign, status: str) -> Campaign:
        """Through the lifecycle services, from approved onwards; recruiting keeps the demo's own draw."""
        order = [
            Campaign.Status.RECRUITING,
            Campaign.Status.RUNNING,
            Campaign.Status.ANALYSING,
            Campaign.Status.CLOSED,
        ]
        start = order.index(campaign.status) + 1 if campaign.status in order else 0
        for step in order[start : order.index(status) + 1]:
            if step == Campaign.Status.RECRUITING:
                lifecycle.move_campaign(campaign, step, acting_user=self.coordinator, verb="start_recruiting")
            else:
                lifecycle.MOVES[step](campaign, acting_user=self.coordinator)
        campaign.refresh_from_db()
        return campaign

    # ---------------------------------------------------------------------------- participants

    def eligible(self, campaign: Campaign, panel: str, *, adults=True) -> list[PanelMembership]:
        """Active members of ``panel`` holding every consent the campaign requires, with a profile."""
        needed = set(campaign.required_purposes.values_list("pk", flat=True))
        members = list(
            PanelMembership.objects.contactable()
            .filter(panel=self.panels[panel], person__profile__isnull=False)
            .select_related("person", "person__profile")
            .order_by("pk")
        )
        held: dict[int, set[int]] = {}
        for person_id, purpose_id in (
            ConsentRecord.objects.active()
            .filter(person_id__in=[m.person_id for m in members], purpose_id__in=needed)
            .values_list("person_id", "purpose_id")
        ):
            held.setdefault(person_id, set()).add(purpose_id)
        adult_year = self.today.year - 18
        return [
            m
            for m in members
            if needed <= held.get(m.person_id, set())
            and (not adults or m.person.profile.year_of_birth <= adult_year)
            and (campaign.pk, m.person_id) not in self.taken
        ]

    def enlist(
        self, campaign: Campaign, panel: str, wanted: int, *, declined=0, unanswered=0, days_ago=30
    ) -> list[Participant]:
        """A draw of the campaign whose invitations were sent ``days_ago``: ``wanted`` accepted (and agreed
        to the terms), some declined, some not answered yet. Returns the participants."""
        pool = self.eligible(campaign, panel)
        chosen = self.rng.sample(pool, min(len(pool), wanted + declined + unanswered))
        sent_at = self.now - timedelta(days=days_ago)
        draw = Draw.objects.create(
            panel=self.panels[panel],
            campaign=campaign,
            title=campaign.title,
            involves=lifecycle.involves_text(campaign),
            requested_by=campaign.requested_by,
            conditions=campaign.conditions,
            size=len(chosen),
            seed=SEED + campaign.pk,
            status=Draw.Status.INVITING,
            eligible_count=len(pool),
            drawn_by=self.coordinator,
            drawn_at=sent_at - timedelta(days=1),
            invited_at=sent_at,
        )
        draw.required_purposes.set(campaign.required_purposes.all())
        codes: set[str] = set()
        selections = []
        for rank, membership in enumerate(chosen, start=1):
            code = participant_code()
            while code in codes:
                code = participant_code()
            codes.add(code)
            selections.append(DrawSelection(draw=draw, membership=membership, rank=rank, code=code))
        selections = DrawSelection.objects.bulk_create(selections)
        invitations = []
        for index, selection in enumerate(selections):
            if index < wanted:
                status, responded = (
                    Invitation.Status.ACCEPTED,
                    sent_at + timedelta(days=self.rng.randint(0, 6)),
                )
            elif index < wanted + declined:
                status, responded = (
                    Invitation.Status.DECLINED,
                    sent_at + timedelta(days=self.rng.randint(0, 6)),
                )
            else:
                status, responded = Invitation.Status.SENT, None
            invitations.append(
                Invitation(
                    selection=selection,
                    person_id=selection.membership.person_id,
                    panel=self.panels[panel],
                    status=status,
                    expires_at=sent_at + timedelta(days=draw.respond_within_days),
                    mailed_at=sent_at,
                    responded_at=responded,
                    share_identity=status == Invitation.Status.ACCEPTED and self.rng.random() < 0.3,
                )
            )
        invitations = Invitation.objects.bulk_create(invitations)
        terms = campaign.terms_sha256()
        accepted = [
            Participant(s.membership.person_id, s, i, s.membership.person.profile)
            for s, i in zip(selections, invitations, strict=True)
            if i.status == Invitation.Status.ACCEPTED
        ]
        ParticipantAgreement.objects.bulk_create(
            [
                ParticipantAgreement(
                    campaign=campaign,
                    person_id=p.person_id,
                    terms_sha256=terms,
                    nda_accepted=campaign.nda_required,
                )
                for p in accepted
            ]
        )
        self.taken.update((campaign.pk, p.person_id) for p in accepted)
        return accepted

    # -------------------------------------------------------------------------------- sessions

    def session(self, campaign: Campaign, title: str, days: float, *, hours=1.5, capacity=8, **fields):
        starts = (self.now + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
        return CampaignSession.objects.create(
            campaign=campaign,
            title=title,
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours),
            capacity=capacity,
            status=CampaignSession.Status.HELD if days < 0 else CampaignSession.Status.SCHEDULED,
            **fields,
        )

    def held(self, session: CampaignSession, people: list[Participant], no_show_rate=0.1):
        """A past session: each booked person attended or did not come, recorded as a Participation."""
        participations = Participation.objects.bulk_create(
            [
                Participation(
                    person_id=p.person_id,
                    panel_id=p.invitation.panel_id,
                    invitation=p.invitation,
                    outcome=Participation.Outcome.NO_SHOW
                    if self.rng.random() < no_show_rate
                    else Participation.Outcome.TOOK_PART,
                    occurred_at=session.starts_at,
                    recorded_by=self.coordinator,
                )
                for p in people
            ]
        )
        Booking.objects.bulk_create(
            [
                Booking(
                    session=session,
                    invitation=p.invitation,
                    person_id=p.person_id,
                    status=Booking.Status.ATTENDED
                    if participation.outcome == Participation.Outcome.TOOK_PART
                    else Booking.Status.NO_SHOW,
                    participation=participation,
                    recorded_by=self.coordinator,
                )
                for p, participation in zip(people, participations, strict=True)
            ]
        )
        return [p for p, pa in zip(people, participations, strict=True) if pa.outcome == "took_part"]

    def booked(self, session: CampaignSession, people: list[Participant]):
        """A future session: the first ``capacity`` people hold a place, the others wait in order."""
        Booking.objects.bulk_create(
            [
                Booking(
                    session=session,
                    invitation=p.invitation,
                    person_id=p.person_id,
                    status=Booking.Status.BOOKED if index < session.capacity else Booking.Status.WAITING,
                )
                for index, p in enumerate(people)
            ]
        )

    # --------------------------------------------------------------------------- questionnaires

    def questionnaire(self, campaign, title: str, questions: list[dict], *, session=None) -> Questionnaire:
        """Written and opened through the questionnaire services, as the builder does it."""
        questionnaire = questionnaires.create_questionnaire(
            campaign, title, ["en"], session, acting_user=self.coordinator
        )
        definition = {"version": 1, "languages": ["en"], "title": text(title), "introduction": {}}
        definition["questions"] = [
            {"required": True, "options": [], "help": {}, "show_if": None, "firm": None, "scale_max": None}
            | q
            for q in questions
        ]
        questionnaires.replace_definition(questionnaire, definition, acting_user=self.coordinator)
        return questionnaires.open_questionnaire(questionnaire, acting_user=self.coordinator)

    def answer(self, questionnaire: Questionnaire, people: list[Participant], answer_for, *, days_ago=20):
        """Submitted responses of ``people``; ``answer_for(question, participant, ease)`` gives the answer
        fields (``number``/``value``/``text``) or None to skip the question."""
        questions = list(questionnaire.questions.order_by("position"))
        responses = Response.objects.bulk_create(
            [
                Response(
                    questionnaire=questionnaire,
                    person_id=p.person_id,
                    code=p.code,
                    attributes=questionnaires.shared_attributes(p.profile.person),
                    language="en",
                    status=Response.Status.SUBMITTED,
                    submitted_at=self.now - timedelta(days=days_ago, minutes=self.rng.randint(0, 20_000)),
                )
                for p in people
            ]
        )
        answers = []
        for response, person in zip(responses, people, strict=True):
            ease = self.ease(person)
            for question in questions:
                fields = answer_for(question, person, ease)
                if fields is not None:
                    answers.append(Answer(response=response, question=question, **fields))
        Answer.objects.bulk_create(answers, batch_size=2000)
        Campaign.objects.filter(pk=questionnaire.campaign_id).update(results_version=F("results_version") + 1)
        return len(answers)

    def ease(self, person: Participant) -> float:
        """How well the tested product works for this person: by age band, with a personal spread."""
        base = EASE_BY_AGE.get(person.profile.age_band, 0.6)
        skills = {"none": -0.12, "basic": -0.05, "everyday": 0.03, "advanced": 0.08}.get(
            person.profile.digital_skills, 0
        )
        return min(1.0, max(0.0, self.rng.gauss(base + skills, 0.14)))

    def scale(self, ease: float, points: int, spread=0.9) -> int:
        return int(min(points, max(1, round(1 + (points - 1) * ease + self.rng.gauss(0, spread)))))

    def sus(self, ease: float) -> dict:
        items = []
        for index in range(SUS_ITEMS):
            agree = self.scale(ease, 5, 0.8)
            items.append(agree if index % 2 == 0 else 6 - agree)  # even items are negative statements
        return {"value": items, "number": sus_score(items)}

    def nps(self, ease: float) -> dict:
        return {"number": float(min(10, max(0, round(10 * ease + self.rng.gauss(0.6, 1.6)))))}

    # -------------------------------------------------------------------------------------- B2G

    def home_care_trial(self):
        campaign = self.create(
            HOME_CARE,
            firm=AUTHORITY,
            panel=B2G,
            purposes=("participation", "health-data"),
            channel=Channel.B2G,
            title="Home sensors for living at home longer: field trial",
            product_name="Kotiturva home-sensor kit",
            product_description="Three small wireless sensors (door, kitchen, bedroom) and a hub that "
            "tells the home-care team when a day looks unusual, for example no movement in the morning.",
            maturity=Maturity.PRE_SERIES,
            objectives="Find out whether older residents and their nurses find the alerts useful and "
            "acceptable at home, and how many false alarms they get in six weeks.",
            methods=[Method.FIELD_TRIAL, Method.DIARY],
            target_participants=14,
            incentive="A 40 EUR gift card for the local market hall",
            expect_activities="A nurse installs three sensors in your home (one hour). For six weeks "
            "you live as usual; your nurse notes the alerts. At the end, a one-hour conversation at home.",
            expect_time="Two home visits of about one hour, over six weeks",
            expect_benefits="The gift card, and a say in what the city buys for home care.",
            expect_not="The sensors are not an emergency alarm: keep your usual alarm button. You do not "
            "keep the sensors after the trial.",
            expect_risks="Alerts may be wrong; a nurse may phone you about an alert that was a false alarm.",
            involves_health=True,
            involves_vulnerable=True,
            retention_months=36,
            recruitment_closes_on=self.today - timedelta(days=20),
            firm_ground_rules="The supplier never contacts participants directly; all contact goes through "
            "the home-care team.",
        )
        campaign = self.move(self.approve(campaign), Campaign.Status.RUNNING)
        people = self.enlist(campaign, B2G, 12, declined=2, unanswered=1, days_ago=45)
        installed = []
        for number, group in enumerate((people[:6], people[6:]), start=1):
            session = self.session(
                campaign,
                f"Installation visits, round {number}",
                -30 + number * 3,
                hours=6,
                capacity=6,
                place="At participants' homes, Kuusiniemi (the nurse phones the day before)",
                accessibility_info="At home; a relative may be present.",
            )
            installed += self.held(session, group, no_show_rate=0.05)
        closing = self.session(
            campaign,
            "Closing conversations at home",
            12,
            hours=6,
            capacity=max(1, len(installed) - 2),
            place="At participants' homes, Kuusiniemi",
            accessibility_info="At home; interpreter to Swedish on request.",
        )
        self.booked(closing, installed)
        weekly = self.questionnaire(
            campaign,
            "Two weeks with the sensors",
            [
                {"key": "useful", "kind": "likert5", "text": text("The alerts were useful to me.")},
                {"key": "privacy", "kind": "likert5", "text": text("I felt my privacy was respected.")},
                {
                    "key": "false-alarms",
                    "kind": "single",
                    "text": text("How many false alarms did you have?"),
                    "options": options("None", "One or two", "Three to five", "More than five"),
                },
                {"key": "comments", "kind": "text", "text": text("Anything else?"), "required": False},
            ],
        )
        remarks = [
            "The kitchen sensor blinks at night.",
            "My nurse called once, it was nothing.",
            "I feel safer.",
            "Too many alerts when my grandchildren visit.",
            "",
        ]

        def answer(question, person, ease):
            if question.kind == "likert5":
                return {"number": self.scale(ease + 0.1, 5)}
            if question.kind == "single":
                return {"value": self.rng.choice(["o1", "o2", "o2", "o3", "o4"])}
            remark = self.rng.choice(remarks)
            return {"text": remark} if remark else None

        self.answer(weekly, installed, answer, days_ago=10)

    # -------------------------------------------------------------------------------------- B2C

    def carer_app_test(self):
        campaign = self.create(
            CARER_APP,
            firm=MOBILE_FIRM,
            panel=B2C,
            channel=Channel.B2C,
            title="Carer app usability test",
            product_name="Kerveil Carer, a mobile app for family carers",
            product_description="A phone app that shares a relative's care schedule, medicines and visits "
            "among the family and the home-care service.",
            maturity=Maturity.PROTOTYPE,
            objectives="Measure how usable the app is for carers of every age (SUS), whether they would "
            "recommend it (NPS), and which tasks fail.",
            methods=[Method.USABILITY, Method.SURVEY],
            target_participants=200,
            incentive="A 15 EUR shopping voucher",
            expect_activities="Use the app on your own phone for a week and answer a 10-minute "
            "questionnaire; some of you also come to a one-hour test at the living lab.",
            expect_time="A week of everyday use and 10 minutes of questions (plus one hour for the lab test)",
            expect_benefits="The voucher and early access to the app.",
            retention_months=24,
            recruitment_closes_on=self.today - timedelta(days=40),
        )
        campaign = self.move(self.approve(campaign), Campaign.Status.RUNNING)
        people = self.enlist(campaign, B2C, 400, declined=4, days_ago=60)
        lab_tested = []
        for number in range(4):
            group = people[number * 8 : number * 8 + 8]
            session = self.session(
                campaign,
                f"Lab test {number + 1}",
                -40 + number * 2,
                capacity=8,
                place="Armor Living Lab, 2 rue de la Chalotais, Lannion",
                accessibility_info="Step-free entrance; hearing loop in the test room; large-print tasks.",
            )
            lab_tested += self.held(session, group)
        main = self.questionnaire(campaign, "Your week with Kerveil Carer", CARER_QUESTIONS)
        complaints = [
            "The medicine list is hard to find.",
            "Text too small on my phone.",
            "I could not invite my brother.",
            "Reminders came twice.",
            "Very handy for sharing visits with the nurse.",
            "The calendar is clear.",
            "I got lost in the settings.",
            "Battery drains quickly.",
            "Works well, but I need a version for my tablet.",
        ]

        def answer(question, person, ease):
            kind = question.kind
            if kind == "sus":
                return self.sus(ease)
            if kind == "nps":
                return self.nps(ease)
            if kind in ("likert5", "likert7"):
                return {"number": self.scale(ease, 5 if kind == "likert5" else 7)}
            if kind == "rating":
                return {"number": self.scale(ease, question.scale_max or 5)}
            if kind == "single":
                weights = [1 + 3 * ease, 2, 1 + 3 * (1 - ease)]
                return {"value": self.rng.choices([o["value"] for o in question.options], weights)[0]}
            if kind == "multiple":
                picked = [o["value"] for o in question.options if self.rng.random() < 0.25 + 0.4 * (1 - ease)]
                return {"value": picked} if picked else None
            if kind == "ranking":
                values = [o["value"] for o in question.options]
                self.rng.shuffle(values)
                return {"value": values}
            if self.rng.random() < 0.45:
                return {"text": self.rng.choice(complaints)}
            return None

        self.answer(main, people, answer, days_ago=35)
        debrief = self.questionnaire(
            campaign,
            "After the lab test",
            [
                {
                    "key": "task-success",
                    "kind": "single",
                    "text": text("Could you add a medicine reminder?"),
                    "options": options("Yes, alone", "Yes, with help", "No"),
                },
                {"key": "confidence", "kind": "likert5", "text": text("I felt confident using the app.")},
                {"key": "sus", "kind": "sus", "text": text("About the app")},
                {"key": "hardest", "kind": "text", "text": text("What was hardest?"), "required": False},
            ],
            session=CampaignSession.objects.filter(campaign=campaign).first(),
        )
        self.answer(debrief, lab_tested, answer, days_ago=38)
        for questionnaire in (main, debrief):
            questionnaires.close_questionnaire(questionnaire, acting_user=self.coordinator)
        self.move(campaign, Campaign.Status.ANALYSING)

    # -------------------------------------------------------------------------------------- B2B

    def gateway_test(self):
        campaign = self.create(
            GATEWAY,
            firm=SENSOR_FIRM,
            panel=B2B,
            channel=Channel.B2B,
            title="Sensor gateway set-up: lead-user test",
            product_name="Kerveil Gateway Pro",
            product_description="A gateway and web console that lets a facilities team connect and monitor "
            "hundreds of building sensors.",
            maturity=Maturity.PROTOTYPE,
            objectives="Learn whether engineers of buyer organisations can set up the gateway without the "
            "supplier's help, and what they would need before buying.",
            methods=[Method.USABILITY, Method.CO_CREATION],
            target_participants=6,
            incentive="Lunch and a summary of the findings for your organisation",
            expect_activities="A half-day at the living lab: set up the gateway, then a workshop on what is "
            "missing.",
            expect_time="One half-day",
            expect_benefits="Early insight into the product and a say in its design.",
            expect_not="No payment; no discount on a future purchase; no commitment to buy.",
            idea_ownership=IdeaOwnership.SHARED,
            ip_terms="Kerveil may use the improvements you suggest; you keep your own inventions.",
            nda_required=True,
            confidentiality_terms="The prototype, its screens and its prices are confidential until launch.",
            recruitment_closes_on=self.today + timedelta(days=14),
        )
        campaign = self.move(self.approve(campaign), Campaign.Status.RECRUITING)
        people = self.enlist(campaign, B2B, 6, declined=1, unanswered=2, days_ago=5)
        workshop = self.session(
            campaign,
            "Set-up test and workshop",
            21,
            hours=4,
            capacity=4,
            place="Armor Living Lab, Lannion",
            accessibility_info="Step-free; parking on site.",
        )
        self.booked(workshop, people)

    # ------------------------------------------------------------------------- joint survey

    def joint_survey(self):
        campaign = self.create(
            JOINT,
            firm=CLUSTER,
            panel=B2C,
            partners=(MOBILE_FIRM, RENOVATION),
            kind=CampaignKind.JOINT_SURVEY,
            channel=Channel.B2C,
            title="Living at home in 2025: joint survey",
            product_name="Services for daily life at home",
            product_description="One survey on behalf of two member firms: a carers' app and home "
            "renovation.",
            maturity=Maturity.IDEA,
            methods=[Method.SURVEY],
            target_participants=120,
            incentive="A draw for five 30 EUR vouchers",
            expect_activities="Answer a 12-minute online questionnaire.",
            expect_time="12 minutes",
            expect_benefits="A chance to win a voucher; a summary of the results.",
            expect_not="No personal advice; no offer from the firms.",
        )
        campaign = self.move(self.approve(campaign), Campaign.Status.RUNNING)
        mobile, renovation = self.orgs[MOBILE_FIRM].pk, self.orgs[RENOVATION].pk
        survey = self.questionnaire(
            campaign,
            "Living at home in 2025",
            [
                {"key": "satisfaction", "kind": "likert5", "text": text("I am happy with my home life.")},
                {
                    "key": "help",
                    "kind": "multiple",
                    "text": text("Which help do you use?"),
                    "options": options("Family", "Home care", "Neighbours", "None"),
                },
                {
                    "key": "carer-app",
                    "kind": "likert5",
                    "firm": mobile,
                    "text": text("An app would help me organise care for a relative."),
                },
                {
                    "key": "carer-price",
                    "kind": "single",
                    "firm": mobile,
                    "text": text("What would you pay per month?"),
                    "options": options("Nothing", "Up to 3 EUR", "Up to 8 EUR", "More"),
                },
                {
                    "key": "renovation-plan",
                    "kind": "single",
                    "firm": renovation,
                    "text": text("Do you plan energy renovation in the next two years?"),
                    "options": options("Yes", "Maybe", "No"),
                },
                {
                    "key": "renovation-barrier",
                    "kind": "ranking",
                    "firm": renovation,
                    "text": text("Rank what holds you back."),
                    "options": options("Cost", "Finding a firm", "Disruption", "Paperwork"),
                },
                {"key": "nps-cluster", "kind": "nps", "text": text("Would you recommend the living lab?")},
            ],
        )
        people = self.enlist(campaign, B2C, 150, declined=5, unanswered=5, days_ago=12)

        def answer(question, person, ease):
            if question.kind == "likert5":
                return {"number": self.scale(ease, 5)}
            if question.kind == "nps":
                return self.nps(ease + 0.1)
            values = [o["value"] for o in question.options]
            if question.kind == "multiple":
                return {"value": self.rng.sample(values, self.rng.randint(1, 2))}
            if question.kind == "ranking":
                self.rng.shuffle(values)
                return {"value": values}
            return {"value": self.rng.choice(values)}

        self.answer(survey, people, answer, days_ago=6)

    # -------------------------------------------------------------------------------- competition

    def competition(self):
        campaign = self.create(
            COMPETITION,
            firm=RENOVATION,
            panel=B2C,
            kind=CampaignKind.COMPETITION,
            channel=Channel.B2C,
            title="Ideas for warmer homes",
            product_name="Energy renovation services",
            product_description="Loire Rénov' Énergie asks residents how renovation could be less "
            "of a hassle.",
            maturity=Maturity.IDEA,
            methods=[Method.CO_CREATION],
            target_participants=20,
            incentive="Three winners get a free thermal survey of their home",
            expect_activities="Submit one or more ideas online; a jury scores them.",
            expect_time="As long as you like",
            expect_benefits="A chance to win a thermal survey; your idea may be used.",
            idea_ownership=IdeaOwnership.SHARED,
            ip_terms="The firm may use submitted ideas freely; authors are credited if they wish.",
        )
        campaign = self.move(self.approve(campaign), Campaign.Status.RUNNING)
        people = self.enlist(campaign, B2C, 12, days_ago=25)
        competition = Competition.objects.create(
            campaign=campaign,
            challenge="How could renovating a home for energy savings be less of a hassle for residents?",
            submissions_close_at=self.now - timedelta(days=2),
            winners_count=3,
            prize_description="A free thermal survey of your home",
            status=Competition.Status.JUDGING,
        )
        criteria = Criterion.objects.bulk_create(
            [
                Criterion(competition=competition, name="Usefulness", weight=2, max_score=10, position=1),
                Criterion(competition=competition, name="Feasibility", weight=1, max_score=10, position=2),
                Criterion(competition=competition, name="Originality", weight=1, max_score=5, position=3),
            ]
        )
        jury = [u for u in (self.coordinator, self.requester(RENOVATION)) if u is not None]
        competition.jury.set(jury)
        ideas = Idea.objects.bulk_create(
            [
                Idea(
                    competition=competition, person_id=p.person_id, code=p.code, title=title, description=body
                )
                for p, (title, body) in zip(people, IDEAS, strict=False)
            ]
        )
        scores = []
        for juror_number, juror in enumerate(jury):
            for idea in ideas if juror_number == 0 else ideas[: len(ideas) // 2]:
                for criterion in criteria:
                    scores.append(
                        IdeaScore(
                            idea=idea,
                            criterion=criterion,
                            juror=juror,
                            score=self.rng.randint(criterion.max_score // 3, criterion.max_score),
                            comment="Clear and practical." if self.rng.random() < 0.5 else "",
                        )
                    )
        IdeaScore.objects.bulk_create(scores)

    # ------------------------------------------------------------------------------------ closed

    def closed_pilot(self):
        campaign = self.create(
            CLOSED,
            firm=TELECOM,
            panel=B2C,
            channel=Channel.B2C,
            title="Video calls on a tablet for grandparents: pilot",
            product_name="Océane Famille tablet service",
            product_description="A tablet with one big button to call the family.",
            maturity=Maturity.PRE_SERIES,
            methods=[Method.FIELD_TRIAL, Method.SURVEY],
            target_participants=30,
            incentive="Keep the tablet's subscription free for three months",
            expect_activities="Use the tablet at home for a month, then answer a short questionnaire.",
            expect_time="A month at home; 10 minutes of questions",
            expect_benefits="Three free months of the service.",
            recruitment_closes_on=self.today - timedelta(days=150),
        )
        campaign = self.move(self.approve(campaign), Campaign.Status.RUNNING)
        people = self.enlist(campaign, B2C, 30, declined=3, days_ago=160)
        survey = self.questionnaire(
            campaign,
            "A month with the family tablet",
            [
                {"key": "sus", "kind": "sus", "text": text("About the tablet")},
                {"key": "nps", "kind": "nps", "text": text("Would you recommend it to a friend?")},
                {"key": "calls", "kind": "rating", "scale_max": 5, "text": text("Rate the call quality.")},
            ],
        )

        def answer(question, person, ease):
            if question.kind == "sus":
                return self.sus(min(1, ease + 0.2))
            if question.kind == "nps":
                return self.nps(min(1, ease + 0.15))
            return {"number": self.scale(ease + 0.1, 5)}

        self.answer(survey, people, answer, days_ago=120)
        questionnaires.close_questionnaire(survey, acting_user=self.coordinator)
        self.move(campaign, Campaign.Status.CLOSED)
        Campaign.objects.filter(pk=campaign.pk).update(
            key_findings="Older participants used the big call button daily; SUS averaged above 70. Setting "
            "up the Wi-Fi was the main obstacle: eight in ten needed help.",
            recommendations="Ship the tablet with mobile data, and offer a home visit for the first set-up.",
        )

    # ---------------------------------------------------------------------------------- requests

    def requests(self):
        def plain(slug, firm, title, **extra):
            return self.create(
                slug,
                firm=firm,
                panel=B2C,
                channel=Channel.B2C,
                title=title,
                product_name=title,
                product_description="A new service for daily life at home.",
                maturity=Maturity.PROTOTYPE,
                methods=[Method.USABILITY],
                expect_activities="A one-hour test at the living lab.",
                expect_time="One hour",
                expect_benefits="A 15 EUR voucher.",
                **extra,
            )

        plain("heat-pump-companion-app", RENOVATION, "Heat-pump companion app")  # draft
        self.submit(plain("oresund-commuter-survey", ORESUND, "Commuter app survey"))  # submitted
        teens = plain("homework-helper-for-teens", DESIGN, "Homework helper for teens", involves_minors=True)
        self.submit(teens)
        lifecycle.start_review(teens, acting_user=self.coordinator)
        lifecycle.decide_review(
            teens,
            CampaignReview.Decision.REQUEST_CHANGES,
            {"expectations": True, "purposes": False, "safeguards": False, "retention": True},
            "Parents must consent for under-16s, and a parent or teacher must be present in the room.",
            acting_user=self.coordinator,
        )
        self.submit(teens)
        lifecycle.start_review(teens, acting_user=self.coordinator)  # in review again
        camera = plain(
            "smart-pill-box-with-camera",
            SENSOR_FIRM,
            "Smart pill box with camera",
            involves_health=True,
            involves_recordings=True,
        )
        self.submit(camera)
        lifecycle.start_review(camera, acting_user=self.coordinator)
        lifecycle.decide_review(
            camera,
            CampaignReview.Decision.REJECT,
            {"expectations": False, "purposes": False, "safeguards": False, "retention": False},
            "Filming people at home as they take their medicines is out of proportion to the test's aims.",
            acting_user=self.coordinator,
        )
        stairs = plain("night-light-for-stairs", SENSOR_FIRM, "Night light for stairs")
        lifecycle.withdraw_campaign(self.submit(stairs), acting_user=self.requester(SENSOR_FIRM))
        self.approve(plain("digital-cafe-tablet-course", TELECOM, "Digital café tablet course"))  # approved


CARER_QUESTIONS = [
    {"key": "sus", "kind": "sus", "text": text("About Kerveil Carer")},
    {"key": "nps", "kind": "nps", "text": text("How likely are you to recommend the app to another carer?")},
    {"key": "schedule", "kind": "likert5", "text": text("Sharing the care schedule was easy.")},
    {"key": "medicines", "kind": "likert5", "text": text("I found the medicine list quickly.")},
    {"key": "reminders", "kind": "likert5", "text": text("The reminders came at the right time.")},
    {"key": "text-size", "kind": "likert5", "text": text("The text was easy to read.")},
    {"key": "trust", "kind": "likert7", "text": text("I trust the app with my relative's information.")},
    {"key": "family", "kind": "likert5", "text": text("My family used the app with me.")},
    {"key": "overall", "kind": "rating", "scale_max": 5, "text": text("Your overall rating")},
    {
        "key": "use",
        "kind": "single",
        "text": text("How often did you open the app?"),
        "options": options("Every day", "A few times a week", "Once or twice"),
    },
    {
        "key": "problems",
        "kind": "multiple",
        "text": text("Which problems did you meet?"),
        "options": options("Log-in", "Notifications", "Small text", "Inviting family", "Battery"),
    },
    {
        "key": "features",
        "kind": "ranking",
        "text": text("Rank the features by usefulness."),
        "options": options("Schedule", "Medicines", "Messages", "Visit notes"),
    },
    {
        "key": "device",
        "kind": "single",
        "text": text("Which device did you use?"),
        "options": options("Phone", "Tablet", "Both"),
    },
    {"key": "improve", "kind": "text", "text": text("What should we improve first?"), "required": False},
    {"key": "liked", "kind": "text", "text": text("What did you like most?"), "required": False},
]

IDEAS = [
    ("One contact for everything", "A single adviser who handles the firms, the grants and the paperwork."),
    ("Renovate room by room", "Plan works so that one room stays warm and usable at all times."),
    ("Neighbourhood bulk buying", "Neighbours renovate together and share the scaffolding and the price."),
    ("Thermal camera loans", "Lend thermal cameras at the library so people see their heat losses."),
    ("Grant simulator", "A simple page that says in two minutes which grants you can get."),
    ("Visit a finished home", "Open days in homes already renovated, with their owners."),
    ("Works while on holiday", "Schedule the noisy works while the family is away."),
    ("Monthly payment plan", "Pay the renovation back from the energy savings each month."),
    ("Checklist for older owners", "A printed checklist and a phone line for people without internet."),
    ("Heat-loss street map", "A map of the street's heat losses to start conversations."),
]

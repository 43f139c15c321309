"""Co-development projects as services: starting one from an accepted introduction (partner roles and the
introduction's outcome) or, for the cluster staff, without one; refusals; who may see and change a project;
partners, milestones, documents checked by size and content, the B2B test campaign, closing. The
concurrency claims (one project per introduction, one test campaign per project) run on PostgreSQL."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from livinglab.b2b.errors import B2BError
from livinglab.b2b.models import (
    Introduction,
    IntroductionOutcome,
    Project,
    ProjectDocument,
    ProjectMilestone,
    ProjectPartner,
)
from livinglab.b2b.services import introductions as introduction_services
from livinglab.b2b.services import projects as services
from livinglab.errors import GroundRulesRequired
from livinglab.factories import OrganisationFactory, UserFactory
from livinglab.models import AuditEntry, Channel, Organisation
from pilots.models import Campaign, CampaignKind
from tests.b2b.conftest import PDF, firm_user, upload
from tests.concurrency import on_postgresql, run_together

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
BuyerRole, SupplierRole, ResearchRole = (
    ProjectPartner.Role.BUYER,
    ProjectPartner.Role.SUPPLIER,
    ProjectPartner.Role.RESEARCH,
)


def arrangement(**changes):
    values = {
        "title": "Predictive maintenance of freezing lines",
        "goals": "A prototype that warns of failures of line 4 three days ahead, tested by night shifts.",
        "ip_ownership": Project.Ownership.SUPPLIER,
        "licence_terms": "The buyer receives a free licence for its own plants.",
        "exclusivity": Project.Exclusivity.FIELD,
        "exclusivity_until": timezone.localdate() + timedelta(days=365),
        "confidentiality": "Line data and the model stay confidential for three years.",
        "started_on": timezone.localdate(),
    }
    values.update(changes)
    return values


# ------------------------------------------------------------------------------------------------ personas


def roles(project):
    return {p.organisation.name: p.role for p in project.partners.select_related("organisation")}


# ----------------------------------------------------------------------------------------------- starting


def test_start_project_from_an_accepted_introduction_records_the_partners_and_the_outcome(
    accepted_introduction, buyer_user, cluster
):
    project = services.start_project(
        introduction=accepted_introduction, acting_user=buyer_user, **arrangement()
    )
    assert roles(project) == {"Nordic Foods": BuyerRole, "Breizh Sensors": SupplierRole}
    assert project.broker == cluster and project.introduction == accepted_introduction
    assert project.status == Project.Status.ACTIVE and project.channel == Channel.B2B
    assert project.slug == "predictive-maintenance-of-freezing-lines"
    outcome = accepted_introduction.outcomes.get()
    assert outcome.kind == IntroductionOutcome.Kind.CODEVELOPMENT
    assert outcome.occurred_on == timezone.localdate() and outcome.recorded_by == buyer_user
    entry = AuditEntry.objects.get(action="b2b.project.start")
    assert entry.data["introduction"] == accepted_introduction.pk
    assert AuditEntry.objects.filter(action="b2b.introduction.record_outcome").count() == 1


@pytest.mark.parametrize("who", ["supplier_user", "broker"])
def test_the_supplier_or_the_cluster_staff_may_start_it_too(request, accepted_introduction, who, research):
    user = request.getfixturevalue(who)
    project = services.start_project(
        introduction=accepted_introduction,
        partners=[(research, ResearchRole)],
        acting_user=user,
        **arrangement(),
    )
    assert roles(project) == {
        "Nordic Foods": BuyerRole,
        "Breizh Sensors": SupplierRole,
        "Tampere Research Centre": ResearchRole,
    }


def test_start_project_refuses_an_introduction_that_is_not_accepted(need, offer, buyer, buyer_user, broker):
    introduction = introduction_services.request_introduction(
        need, offer, organisation=buyer, message="", acting_user=buyer_user
    )
    introduction_services.broker_introduction(
        introduction, nda_required=False, nda_text="", note="", acting_user=broker
    )
    with pytest.raises(B2BError, match="once both firms have accepted it"):
        services.start_project(introduction=introduction, acting_user=buyer_user, **arrangement())
    assert not Project.objects.exists() and not IntroductionOutcome.objects.exists()


def test_start_project_refuses_a_second_project_from_the_same_introduction(
    accepted_introduction, buyer_user, supplier_user
):
    services.start_project(introduction=accepted_introduction, acting_user=buyer_user, **arrangement())
    with pytest.raises(B2BError, match="already started from this introduction"):
        services.start_project(
            introduction=accepted_introduction, acting_user=supplier_user, **arrangement(title="Again")
        )
    assert Project.objects.count() == 1 and accepted_introduction.outcomes.count() == 1


def test_a_rival_firm_cannot_start_a_project_from_another_firms_introduction(
    accepted_introduction, rival_user
):
    with pytest.raises(B2BError, match="Only the two firms of the introduction and the cluster staff"):
        services.start_project(introduction=accepted_introduction, acting_user=rival_user, **arrangement())
    assert not Project.objects.exists()


def test_a_firm_member_who_has_not_accepted_the_ground_rules_is_asked_to(
    accepted_introduction, buyer, b2b_rules
):
    colleague = firm_user(buyer, "colleague@example.org")
    with pytest.raises(GroundRulesRequired):
        services.start_project(introduction=accepted_introduction, acting_user=colleague, **arrangement())
    assert not Project.objects.exists()


def test_a_project_from_an_introduction_cannot_start_in_the_future(accepted_introduction, buyer_user):
    later = timezone.localdate() + timedelta(days=7)
    with pytest.raises(B2BError, match="cannot be in the future"):
        services.start_project(
            introduction=accepted_introduction, acting_user=buyer_user, **arrangement(started_on=later)
        )


def test_a_firm_cannot_start_a_project_without_an_introduction(buyer, supplier, buyer_user):
    with pytest.raises(B2BError, match="only the cluster staff start one without an introduction"):
        services.start_project(
            partners=[(buyer, BuyerRole), (supplier, SupplierRole)], acting_user=buyer_user, **arrangement()
        )


def test_cluster_staff_start_a_project_naming_the_buyer_suppliers_and_research(
    buyer, supplier, other_sme, research, broker, cluster
):
    project = services.start_project(
        partners=[
            (buyer, BuyerRole),
            (supplier, SupplierRole),
            (other_sme, SupplierRole),
            (research, ResearchRole),
        ],
        acting_user=broker,
        **arrangement(),
    )
    assert project.broker == cluster and project.introduction is None
    assert roles(project) == {
        "Nordic Foods": BuyerRole,
        "Breizh Sensors": SupplierRole,
        "Loire Mobile": SupplierRole,
        "Tampere Research Centre": ResearchRole,
    }


def test_a_double_submission_of_the_staff_form_makes_one_project(buyer, supplier, broker):
    partners = [(buyer, BuyerRole), (supplier, SupplierRole)]
    services.start_project(partners=partners, acting_user=broker, **arrangement())
    with pytest.raises(B2BError, match="already has a running project called"):
        services.start_project(partners=partners, acting_user=broker, **arrangement())
    assert Project.objects.count() == 1


@pytest.mark.parametrize(
    ("partners", "reason"),
    [
        (lambda o: [(o["buyer"], BuyerRole)], "at least one supplier"),
        (lambda o: [(o["supplier"], SupplierRole)], "exactly one buyer"),
        (
            lambda o: [(o["buyer"], BuyerRole), (o["supplier"], SupplierRole), (o["supplier"], SupplierRole)],
            "named twice",
        ),
        (
            lambda o: [
                (o["buyer"], BuyerRole),
                (o["supplier"], SupplierRole),
                (o["other_sme"], ResearchRole),
            ],
            "research or education organisation",
        ),
        (
            lambda o: [(o["buyer"], BuyerRole), (o["cluster"], SupplierRole)],
            "cannot be the project's supplier",
        ),
    ],
)
def test_start_project_refuses_partners_that_do_not_make_a_project(
    buyer, supplier, other_sme, cluster, broker, partners, reason
):
    organisations = {"buyer": buyer, "supplier": supplier, "other_sme": other_sme, "cluster": cluster}
    with pytest.raises(B2BError, match=reason):
        services.start_project(partners=partners(organisations), acting_user=broker, **arrangement())
    assert not Project.objects.exists()


def test_start_project_refuses_an_end_of_exclusivity_without_exclusivity(accepted_introduction, buyer_user):
    with pytest.raises(B2BError, match="makes no sense without exclusivity"):
        services.start_project(
            introduction=accepted_introduction,
            acting_user=buyer_user,
            **arrangement(exclusivity=Project.Exclusivity.NONE),
        )
    assert not Project.objects.exists() and not accepted_introduction.outcomes.exists()


def test_project_web_addresses_are_unique_and_never_a_fixed_word(buyer, supplier, other_sme, broker):
    first = services.start_project(
        partners=[(buyer, BuyerRole), (supplier, SupplierRole)],
        acting_user=broker,
        **arrangement(title="New"),
    )
    second = services.start_project(
        partners=[(buyer, BuyerRole), (other_sme, SupplierRole)],
        acting_user=broker,
        **arrangement(title="new!"),
    )
    assert first.slug != "new" and second.slug not in {"new", first.slug}


# ----------------------------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("buyer_user", True),
        ("supplier_user", True),
        ("research_user", True),
        ("broker", True),
        ("rival_user", False),
        ("newcomer", False),
        ("participant", False),
        ("sme_admin", True),  # another member of the supplier firm
    ],
)
def test_only_the_partners_and_the_cluster_staff_see_and_change_a_project(request, project, who, sees):
    user = request.getfixturevalue(who)
    assert user.has_perm("b2b.view_project", project) is sees
    assert services.may_manage(user, project) is sees
    assert (project in services.projects_for(user)) is sees


def test_an_anonymous_visitor_sees_no_project(project):
    from django.contrib.auth.models import AnonymousUser

    anonymous = AnonymousUser()
    assert not anonymous.has_perm("b2b.view_project", project)
    assert not services.projects_for(anonymous).exists()


def test_a_rival_cannot_change_a_project_it_is_not_part_of(project, rival_user):
    with pytest.raises(B2BError, match="Only the partners and the cluster staff"):
        services.add_milestone(project, title="Sneaky", due_on=timezone.localdate(), acting_user=rival_user)
    assert not project.milestones.exists()


# ------------------------------------------------------------------------------------- arrangement, partners


def test_edit_project_changes_the_arrangement_and_audits_only_the_field_names(project, supplier_user):
    services.edit_project(
        project,
        goals="New goals.",
        ip_ownership=Project.Ownership.JOINT,
        licence_terms=project.licence_terms,
        exclusivity=Project.Exclusivity.NONE,
        exclusivity_until=None,
        confidentiality=project.confidentiality,
        acting_user=supplier_user,
    )
    project.refresh_from_db()
    assert project.goals == "New goals." and project.ip_ownership == Project.Ownership.JOINT
    entry = AuditEntry.objects.get(action="b2b.project.edit")
    assert entry.data == {"fields": ["goals", "ip_ownership"]}


def test_add_partner_adds_a_research_organisation_or_a_further_supplier(project, other_sme, buyer_user):
    university = OrganisationFactory(name="Kerava University", kind=Organisation.Kind.RESEARCH)
    services.add_partner(project, organisation=university, role=ResearchRole, acting_user=buyer_user)
    services.add_partner(project, organisation=other_sme, role=SupplierRole, acting_user=buyer_user)
    assert roles(project)["Kerava University"] == ResearchRole
    assert roles(project)["Loire Mobile"] == SupplierRole
    with pytest.raises(B2BError, match="already a partner"):
        services.add_partner(project, organisation=other_sme, role=SupplierRole, acting_user=buyer_user)
    with pytest.raises(B2BError, match="has one buyer"):
        services.add_partner(
            project, organisation=OrganisationFactory(), role=BuyerRole, acting_user=buyer_user
        )
    with pytest.raises(B2BError, match="research or education organisation"):
        services.add_partner(
            project,
            organisation=OrganisationFactory(kind=Organisation.Kind.SME),
            role=ResearchRole,
            acting_user=buyer_user,
        )


def test_remove_partner_keeps_the_buyer_and_at_least_one_supplier(
    project, buyer, supplier, research, other_sme, broker
):
    with pytest.raises(B2BError, match="The buyer stays"):
        services.remove_partner(project, organisation=buyer, acting_user=broker)
    with pytest.raises(B2BError, match="only supplier"):
        services.remove_partner(project, organisation=supplier, acting_user=broker)
    services.remove_partner(project, organisation=research, acting_user=broker)
    services.add_partner(project, organisation=other_sme, role=SupplierRole, acting_user=broker)
    services.remove_partner(project, organisation=supplier, acting_user=broker)
    assert roles(project) == {"Nordic Foods": BuyerRole, "Loire Mobile": SupplierRole}


# --------------------------------------------------------------------------------------------- milestones


def test_complete_milestone_marks_it_done_once(project, buyer_user, supplier_user):
    milestone = services.add_milestone(
        project, title="Sensors installed", due_on=timezone.localdate(), acting_user=buyer_user
    )
    services.complete_milestone(milestone, acting_user=supplier_user)
    with pytest.raises(B2BError, match="already marked done"):
        services.complete_milestone(milestone, acting_user=buyer_user)
    milestone.refresh_from_db()
    assert milestone.done_at is not None and milestone.done_by == supplier_user
    assert AuditEntry.objects.filter(action="b2b.project.complete_milestone").count() == 1


def test_add_milestone_refuses_the_same_milestone_twice(project, buyer_user):
    due = timezone.localdate() + timedelta(days=30)
    services.add_milestone(project, title="Model trained", due_on=due, acting_user=buyer_user)
    with pytest.raises(B2BError, match="already has the milestone"):
        services.add_milestone(project, title="Model trained", due_on=due, acting_user=buyer_user)
    assert ProjectMilestone.objects.count() == 1


# ---------------------------------------------------------------------------------------------- documents


def test_upload_document_stores_it_privately_with_its_hash(project, supplier_user):
    document = services.upload_document(
        project, title="", upload=upload("Spec v2.pdf"), acting_user=supplier_user
    )
    assert document.name == "Spec_v2.pdf" and document.title == "Spec_v2"
    assert document.content_type == "application/pdf" and document.size == len(PDF)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.file.storage is storages["private"]
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    entry = AuditEntry.objects.get(action="b2b.project.upload_document")
    assert entry.data["sha256"] == document.sha256


def test_a_document_is_checked_by_its_content_whatever_its_name_says(project, supplier_user):
    disguised = upload("budget.pdf", b"MZ\x90\x00 this is a Windows program", "application/pdf")
    with pytest.raises(B2BError, match=r"“budget\.pdf” is not an accepted file type \(PDF, ZIP, PNG"):
        services.upload_document(project, title="Budget", upload=disguised, acting_user=supplier_user)
    assert not ProjectDocument.objects.exists()


def test_a_document_larger_than_the_limit_is_refused_by_name(project, supplier_user, monkeypatch):
    monkeypatch.setattr(services, "DOCUMENT_MAX_BYTES", 1024)
    with pytest.raises(B2BError, match=r"“annex\.pdf” is too large .* at most"):
        services.upload_document(
            project, title="", upload=upload("annex.pdf", PDF + b"0" * 2000), acting_user=supplier_user
        )
    with pytest.raises(B2BError, match=r"“empty\.pdf” is empty"):
        services.upload_document(
            project, title="", upload=upload("empty.pdf", b""), acting_user=supplier_user
        )
    assert not ProjectDocument.objects.exists()


def test_the_same_file_is_not_shared_twice(project, supplier_user, buyer_user):
    services.upload_document(
        project, title="Plan", upload=upload("plan.png", PNG, "image/png"), acting_user=buyer_user
    )
    with pytest.raises(B2BError, match="already shared in the project, as “Plan”"):
        services.upload_document(
            project,
            title="Plan again",
            upload=upload("copy.png", PNG, "image/png"),
            acting_user=supplier_user,
        )
    assert ProjectDocument.objects.count() == 1


# ---------------------------------------------------------------------------------------- test campaign


def test_launch_test_campaign_creates_one_b2b_draft_test_hosted_by_the_broker_for_the_supplier(
    project, cluster, buyer, supplier, buyer_user
):
    campaign = services.launch_test_campaign(project, acting_user=buyer_user)
    assert campaign.channel == Channel.B2B and campaign.kind == CampaignKind.TEST
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.lab == cluster and campaign.requested_by == supplier
    assert list(campaign.partners.all()) == [buyer]
    assert "staff of Nordic Foods" in campaign.expect_activities
    assert "prototype of Breizh Sensors" in campaign.title and "Nordic Foods" in campaign.title
    assert campaign.product_description == project.goals
    assert campaign.confidentiality_terms == project.confidentiality
    project.refresh_from_db()
    assert project.test_campaign == campaign
    assert AuditEntry.objects.filter(action="b2b.project.launch_test_campaign").count() == 1


def test_launch_test_campaign_refuses_a_second_campaign(project, buyer_user, supplier_user):
    first = services.launch_test_campaign(project, acting_user=buyer_user)
    with pytest.raises(B2BError, match="already has its test campaign"):
        services.launch_test_campaign(project, acting_user=supplier_user)
    assert list(Campaign.objects.all()) == [first]


def test_the_first_supplier_requests_the_test_campaign(project, other_sme, broker, supplier):
    services.add_partner(project, organisation=other_sme, role=SupplierRole, acting_user=broker)
    campaign = services.launch_test_campaign(project, acting_user=broker)
    assert campaign.requested_by == supplier


# ---------------------------------------------------------------------------------------------- closing


def test_close_project_completes_it_and_then_nothing_changes(project, buyer_user):
    services.close_project(project, status=Project.Status.COMPLETED, acting_user=buyer_user)
    project.refresh_from_db()
    assert project.status == Project.Status.COMPLETED and project.ended_at is not None
    assert buyer_user.has_perm("b2b.view_project", project)
    assert not services.may_manage(buyer_user, project)
    with pytest.raises(B2BError, match="“Completed”: it can no longer be changed"):
        services.close_project(project, status=Project.Status.STOPPED, acting_user=buyer_user)
    # A platform administrator holds every permission, yet an ended project stays as it ended.
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert not services.may_manage(admin, project)
    with pytest.raises(B2BError, match="can no longer be changed"):
        services.add_milestone(project, title="After the end", due_on=None, acting_user=admin)
    with pytest.raises(B2BError, match="can no longer be changed"):
        services.launch_test_campaign(project, acting_user=buyer_user)
    with pytest.raises(B2BError, match="can no longer be changed"):
        services.upload_document(project, title="", upload=upload(), acting_user=buyer_user)
    assert not Campaign.objects.exists() and not ProjectDocument.objects.exists()


def test_close_project_refuses_an_unknown_ending(project, broker):
    with pytest.raises(B2BError, match="completed or as stopped"):
        services.close_project(project, status=Project.Status.ACTIVE, acting_user=broker)
    services.close_project(project, status=Project.Status.STOPPED, acting_user=broker)
    assert Project.objects.get(pk=project.pk).status == Project.Status.STOPPED


# ------------------------------------------------------------------------------------------ concurrency


@on_postgresql
def test_two_simultaneous_clicks_launch_one_test_campaign(
    transactional_db, project, buyer_user, supplier_user
):
    users = [buyer_user, supplier_user]

    def attempt(i):
        return services.launch_test_campaign(Project.objects.get(pk=project.pk), acting_user=users[i])

    results = run_together(attempt, 2)
    launched = [r for r in results if isinstance(r, Campaign)]
    refused = [r for r in results if isinstance(r, B2BError)]
    assert len(launched) == 1 and len(refused) == 1, results
    assert "already has its test campaign" in refused[0].message
    assert Campaign.objects.count() == 1
    assert Project.objects.get(pk=project.pk).test_campaign_id == launched[0].pk


@on_postgresql
def test_two_simultaneous_starts_from_one_introduction_make_one_project(
    transactional_db, accepted_introduction, buyer_user, supplier_user
):
    users = [buyer_user, supplier_user]

    def attempt(i):
        return services.start_project(
            introduction=Introduction.objects.get(pk=accepted_introduction.pk),
            acting_user=users[i],
            **arrangement(title=f"Project {i}"),
        )

    results = run_together(attempt, 2)
    started = [r for r in results if isinstance(r, Project)]
    refused = [r for r in results if isinstance(r, B2BError)]
    assert len(started) == 1 and len(refused) == 1, results
    assert Project.objects.count() == 1 and accepted_introduction.outcomes.count() == 1

"""Pages of co-development projects: who sees a project (every role; everyone else gets “not found”), the
list and its query count, starting from an accepted introduction or as staff, documents uploaded and
downloaded intact, milestones, partners, the test campaign button and closing."""

import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from livinglab.b2b.factories import ProjectFactory, ProjectPartnerFactory
from livinglab.b2b.models import (
    IntroductionOutcome,
    Project,
    ProjectDocument,
    ProjectMilestone,
    ProjectPartner,
)
from livinglab.b2b.services import introductions as introduction_services
from livinglab.b2b.services import projects as services
from livinglab.factories import OrganisationFactory
from livinglab.models import Organisation
from pilots.models import Campaign
from tests.b2b.conftest import PDF, upload

Role = ProjectPartner.Role


def url(name, project, *args):
    return reverse(f"b2b:{name}", args=[project.slug, *args])


def text(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------------------------------------ access


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
    ],
)
def test_only_the_partners_and_the_cluster_staff_see_a_project(request, client, project, who, sees):
    client.force_login(request.getfixturevalue(who))
    milestone = ProjectMilestone.objects.create(project=project, title="Install", due_on=timezone.localdate())
    document = services.upload_document(
        project, title="Line layout", upload=upload(), acting_user=request.getfixturevalue("broker")
    )
    pages = [
        url("project_detail", project),
        url("project_edit", project),
        url("project_partners", project),
        url("project_milestone_add", project),
        url("project_document_upload", project),
        url("project_document", project, document.pk),
        url("project_close", project),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == (200 if sees else 404), page
        if not sees:
            assert "Freezing line pilot" not in text(response) and "GOALS-MARKER" not in text(response)
    for page in (
        url("project_milestone_done", project, milestone.pk),
        url("project_launch_test", project),
    ):
        if not sees:
            assert client.post(page).status_code == 404
    detail = client.get(url("project_detail", project))
    listing = text(client.get(reverse("b2b:project_list")))
    assert ("GOALS-MARKER" in text(detail)) is sees
    assert ("Freezing line pilot" in listing) is sees
    milestone.refresh_from_db()
    assert milestone.done_at is None and not Campaign.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in_and_sees_nothing(client, project):
    for page in (url("project_detail", project), reverse("b2b:project_list"), reverse("b2b:project_create")):
        response = client.get(page)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
    response = client.post(url("project_launch_test", project))
    assert response.status_code == 302 and not Campaign.objects.exists()


def test_the_project_page_shows_partners_goals_and_the_ip_arrangement_in_plain_words(
    client, project, buyer_user
):
    Project.objects.filter(pk=project.pk).update(
        exclusivity=Project.Exclusivity.FIELD, exclusivity_until=timezone.localdate().replace(year=2099)
    )
    client.force_login(buyer_user)
    page = text(client.get(url("project_detail", project)))
    for expected in (
        "Nordic Foods",
        "Breizh Sensors",
        "Tampere Research Centre",
        "Research organisation",
        "GOALS-MARKER",
        "The supplier owns the results.",
        "Exclusive in the buyer&#x27;s field of use, until",
        "Line data stays confidential.",
        "Launch a test campaign",
    ):
        assert expected in page, expected


# -------------------------------------------------------------------------------------------------- list


def test_a_firm_lists_its_own_projects_and_staff_list_every_one_by_status(
    client, project, cluster, rival, rival_user, broker
):
    other = ProjectFactory(title="Rival drone trial", broker=cluster, status=Project.Status.COMPLETED)
    ProjectPartnerFactory(project=other, organisation=rival, role=Role.BUYER)
    ProjectPartnerFactory(
        project=other, organisation=OrganisationFactory(name="Drone Oy"), role=Role.SUPPLIER
    )

    client.force_login(rival_user)
    page = text(client.get(reverse("b2b:project_list")))
    assert "Rival drone trial" in page and "Freezing line pilot" not in page

    client.force_login(broker)
    page = text(client.get(reverse("b2b:project_list")))
    assert "Rival drone trial" in page and "Freezing line pilot" in page
    assert "Projects by status" in page
    page = text(client.get(reverse("b2b:project_list"), {"status": "completed"}))
    assert "Rival drone trial" in page and "Freezing line pilot" not in page


def test_a_participant_without_a_firm_lists_no_project(client, project, participant):
    client.force_login(participant)
    page = text(client.get(reverse("b2b:project_list")))
    assert "No co-development project yet." in page and "Freezing line pilot" not in page


def test_the_project_list_needs_the_same_queries_for_many_projects(
    client, cluster, buyer, buyer_user, django_assert_max_num_queries
):
    def make(n):
        for i in range(n):
            project = ProjectFactory(broker=cluster)
            ProjectPartnerFactory(project=project, organisation=buyer, role=Role.BUYER)
            ProjectPartnerFactory(project=project, role=Role.SUPPLIER)
            ProjectMilestone.objects.create(project=project, title=f"M{i}", due_on=timezone.localdate())

    client.force_login(buyer_user)
    make(2)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("b2b:project_list")).status_code == 200
    make(18)
    with django_assert_max_num_queries(12):
        page = text(client.get(reverse("b2b:project_list")))
    assert "20 projects" in page and "0 of 1 done" in page


# ----------------------------------------------------------------------------------------------- start


def test_starting_from_an_accepted_introduction_prefills_the_form_and_records_the_outcome(
    client, accepted_introduction, buyer_user
):
    client.force_login(buyer_user)
    create = reverse("b2b:project_create")
    page = text(client.get(create, {"introduction": accepted_introduction.pk}))
    assert "Predict breakdowns of our freezing lines" in page  # the need's title, as the project's
    assert "Vibration sensors that predict machine failures" in page
    response = client.post(
        create,
        {
            "introduction": accepted_introduction.pk,
            "title": "Freezing line co-development",
            "started_on": timezone.localdate().isoformat(),
            "goals": "A prototype on line 4.",
            "ip_ownership": "joint",
            "licence_terms": "Each partner may use the results in its own business.",
            "exclusivity": "none",
            "exclusivity_until": "",
            "confidentiality": "Three years.",
        },
        follow=True,
    )
    project = Project.objects.get()
    assert response.redirect_chain[-1][0] == url("project_detail", project)
    page = text(response)
    assert "The co-development project has started." in page and "Results are owned jointly." in page
    assert {p.role for p in project.partners.all()} == {Role.BUYER, Role.SUPPLIER}
    assert accepted_introduction.outcomes.get().kind == IntroductionOutcome.Kind.CODEVELOPMENT


def test_a_second_project_from_the_same_introduction_is_refused_with_a_link_to_the_first(
    client, accepted_introduction, buyer_user, supplier_user
):
    first = services.start_project(
        introduction=accepted_introduction,
        title="First",
        goals="Goals.",
        ip_ownership="supplier",
        licence_terms="Licence.",
        exclusivity="none",
        exclusivity_until=None,
        confidentiality="Confidential.",
        started_on=timezone.localdate(),
        acting_user=buyer_user,
    )
    client.force_login(supplier_user)
    page = text(client.get(reverse("b2b:project_create"), {"introduction": accepted_introduction.pk}))
    assert "A project was already started from this introduction." in page
    assert url("project_detail", first) in page and "Start the project" not in page


def test_the_form_refuses_an_end_of_exclusivity_without_exclusivity(
    client, accepted_introduction, buyer_user
):
    client.force_login(buyer_user)
    response = client.post(
        reverse("b2b:project_create"),
        {
            "introduction": accepted_introduction.pk,
            "title": "Freezing line co-development",
            "started_on": timezone.localdate().isoformat(),
            "goals": "A prototype on line 4.",
            "ip_ownership": "joint",
            "licence_terms": "Each partner may use the results.",
            "exclusivity": "none",
            "exclusivity_until": "2099-01-01",
            "confidentiality": "Three years.",
        },
    )
    assert response.status_code == 200
    assert "makes no sense without exclusivity" in text(response) and 'role="alert"' in text(response)
    assert not Project.objects.exists()


def test_an_introduction_not_yet_accepted_is_explained_and_offers_no_form(
    client, need, offer, buyer, buyer_user, broker
):
    introduction = introduction_services.request_introduction(
        need, offer, organisation=buyer, message="", acting_user=buyer_user
    )
    introduction_services.broker_introduction(
        introduction, nda_required=False, nda_text="", note="", acting_user=broker
    )
    client.force_login(buyer_user)
    page = text(client.get(reverse("b2b:project_create"), {"introduction": introduction.pk}))
    assert "once both firms have accepted it" in page and "Start the project" not in page
    assert "Breizh Sensors" not in page  # the other firm is not named before acceptance
    response = client.post(reverse("b2b:project_create"), {"introduction": introduction.pk, "title": "X"})
    assert response.status_code == 200 and not Project.objects.exists()


def test_another_firms_introduction_or_a_bad_id_is_not_found(client, accepted_introduction, rival_user):
    client.force_login(rival_user)
    create = reverse("b2b:project_create")
    assert client.get(create, {"introduction": accepted_introduction.pk}).status_code == 404
    assert client.get(create, {"introduction": "abc"}).status_code == 404
    assert client.get(create, {"introduction": "999999"}).status_code == 404


def test_a_firm_without_an_introduction_is_offered_its_accepted_introductions(
    client, accepted_introduction, supplier_user
):
    client.force_login(supplier_user)
    page = text(client.get(reverse("b2b:project_create")))
    assert f"?introduction={accepted_introduction.pk}" in page and "Start the project" not in page


def test_staff_start_a_project_without_an_introduction_choosing_the_organisations(
    client, broker, buyer, supplier, research, cluster
):
    client.force_login(broker)
    create = reverse("b2b:project_create")
    page = text(client.get(create))
    assert "Nordic Foods" in page and "Tampere Research Centre" in page
    response = client.post(
        create,
        {
            "title": "Cold chain sensors",
            "started_on": timezone.localdate().isoformat(),
            "buyer": buyer.pk,
            "suppliers": [supplier.pk],
            "research": [research.pk],
            "goals": "Goals.",
            "ip_ownership": "generator",
            "licence_terms": "Licence.",
            "exclusivity": "full",
            "exclusivity_until": "",
            "confidentiality": "Confidential.",
        },
    )
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == url("project_detail", project)
    assert project.broker == cluster and project.introduction is None
    assert {(p.organisation_id, p.role) for p in project.partners.all()} == {
        (buyer.pk, Role.BUYER),
        (supplier.pk, Role.SUPPLIER),
        (research.pk, Role.RESEARCH),
    }


# ------------------------------------------------------------------------------------------- documents


def test_a_partner_uploads_a_document_and_every_partner_downloads_it_intact(
    client, project, supplier_user, buyer_user, rival_user
):
    client.force_login(supplier_user)
    response = client.post(
        url("project_document_upload", project),
        {"title": "Wiring plan", "file": upload("wiring plan.pdf")},
        follow=True,
    )
    assert "“Wiring plan” is shared with the partners." in text(response)
    document = ProjectDocument.objects.get()
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()

    client.force_login(buyer_user)
    response = client.get(url("project_document", project, document.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert 'filename="wiring_plan.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF

    client.force_login(rival_user)
    assert client.get(url("project_document", project, document.pk)).status_code == 404


def test_a_refused_upload_says_why_on_the_form(client, project, supplier_user):
    client.force_login(supplier_user)
    response = client.post(
        url("project_document_upload", project),
        {"title": "", "file": upload("notes.pdf", b"plain text pretending to be a PDF", "application/pdf")},
    )
    assert response.status_code == 200
    assert "“notes.pdf” is not an accepted file type" in text(response)
    assert not ProjectDocument.objects.exists()


def test_a_document_of_another_project_is_not_found(client, project, cluster, buyer_user, broker):
    other = ProjectFactory(broker=cluster)
    ProjectPartnerFactory(project=other, role=Role.BUYER)
    ProjectPartnerFactory(project=other, role=Role.SUPPLIER)
    document = services.upload_document(other, title="Secret", upload=upload(), acting_user=broker)
    client.force_login(buyer_user)
    assert client.get(url("project_document", project, document.pk)).status_code == 404
    assert client.get(url("project_document", project, 999999)).status_code == 404


# ------------------------------------------------------------------------------------ milestones, partners


def test_partners_add_a_milestone_and_mark_it_done_once(client, project, buyer_user, supplier_user):
    client.force_login(buyer_user)
    response = client.post(
        url("project_milestone_add", project),
        {"title": "Sensors on line 4", "due_on": timezone.localdate().isoformat()},
        follow=True,
    )
    assert "Sensors on line 4" in text(response) and "0 of 1 milestones done" in text(response)
    milestone = ProjectMilestone.objects.get()
    client.force_login(supplier_user)
    response = client.post(url("project_milestone_done", project, milestone.pk), follow=True)
    assert "1 of 1 milestones done" in text(response)
    response = client.post(url("project_milestone_done", project, milestone.pk), follow=True)
    assert "is already marked done" in text(response)
    assert client.post(url("project_milestone_done", project, 999999)).status_code == 404


def test_the_partners_page_adds_and_removes_a_research_organisation(client, project, broker, research):
    university = OrganisationFactory(name="Oulu University", kind=Organisation.Kind.RESEARCH)
    client.force_login(broker)
    response = client.post(
        url("project_partners", project), {"organisation": university.pk, "role": "research"}, follow=True
    )
    assert "Oulu University takes part in the project." in text(response)
    response = client.post(
        url("project_partners", project), {"organisation": research.pk, "remove": "1"}, follow=True
    )
    assert "Tampere Research Centre no longer takes part in the project." in text(response)
    assert set(project.partners.values_list("organisation__name", flat=True)) == {
        "Nordic Foods",
        "Breizh Sensors",
        "Oulu University",
    }
    response = client.post(
        url("project_partners", project),
        {"organisation": project.partners.get(role=Role.BUYER).organisation_id, "remove": "1"},
        follow=True,
    )
    assert "The buyer stays in the project" in text(response)
    response = client.post(
        url("project_partners", project), {"organisation": "x", "remove": "1"}, follow=True
    )
    assert "Choose a partner to remove." in text(response)


def test_the_arrangement_page_saves_the_new_terms(client, project, supplier_user):
    client.force_login(supplier_user)
    response = client.post(
        url("project_edit", project),
        {
            "goals": "Revised goals.",
            "ip_ownership": "buyer",
            "licence_terms": "The supplier may reuse the sensors elsewhere.",
            "exclusivity": "none",
            "exclusivity_until": "",
            "confidentiality": "Five years.",
        },
        follow=True,
    )
    page = text(response)
    assert "Revised goals." in page and "The buyer owns the results." in page and "Five years." in page


# ----------------------------------------------------------------------------------- test campaign, close


def test_the_test_campaign_button_drafts_one_campaign_and_links_it(client, project, supplier_user, supplier):
    client.force_login(supplier_user)
    response = client.post(url("project_launch_test", project), follow=True)
    campaign = Campaign.objects.get()
    page = text(response)
    assert "is drafted" in page
    assert reverse("campaigns:campaign_detail", args=[campaign.slug]) in page
    assert "Launch a test campaign" not in page
    assert campaign.requested_by == supplier
    response = client.post(url("project_launch_test", project), follow=True)
    assert "already has its test campaign" in text(response)
    assert Campaign.objects.count() == 1


def test_closing_a_project_keeps_it_readable_and_stops_changes(client, project, buyer_user):
    client.force_login(buyer_user)
    response = client.post(url("project_close", project), {"status": "completed"}, follow=True)
    page = text(response)
    assert "The project is closed." in page and "Completed" in page
    assert "What you can do" not in page and "Launch a test campaign" not in page
    response = client.get(url("project_edit", project), follow=True)
    assert "it can no longer be changed" in text(response)
    response = client.post(url("project_launch_test", project), follow=True)
    assert "it can no longer be changed" in text(response) and not Campaign.objects.exists()

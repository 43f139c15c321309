"""Coordinators' pages: panels, member search, screeners and draws through the browser's eyes (HTML)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livinglab.models import AuditEntry
from pilots.models import Draw, Panel, Screener

THIS_YEAR = timezone.localdate().year
MEMBER_LINK = re.compile(r'href="/panels/living-well-at-home/members/\d+/"')


@pytest.fixture
def coordinator(client, staff_user):
    client.force_login(staff_user)
    return client


def test_a_coordinator_opens_a_panel_with_fair_contact_rules(coordinator, cluster, consent_form):
    response = coordinator.post(
        reverse("pilots:panel_new"),
        {
            "owner": cluster.pk,
            "name": "Commuters",
            "slug": "commuters",
            "channel": "b2c",
            "description": "People who commute by bike.",
            "consent_document": consent_form.document.pk,
            "open_for_sign_up": "on",
            "period_days": 180,
            "max_invitations": 3,
            "max_participations": 2,
            "cooldown_days": 14,
        },
    )
    panel = Panel.objects.get(slug="commuters")
    assert response.url == reverse("pilots:panel_detail", args=["commuters"])
    assert (panel.owner, panel.max_invitations, panel.cooldown_days) == (cluster, 3, 14)
    assert AuditEntry.objects.filter(action="pilots.panel.create").exists()


def test_a_panel_address_cannot_hide_a_page_of_the_site(coordinator, cluster, consent_form):
    response = coordinator.post(
        reverse("pilots:panel_new"),
        {
            "owner": cluster.pk,
            "name": "Me",
            "slug": "me",
            "channel": "b2c",
            "description": "x",
            "consent_document": consent_form.document.pk,
            "period_days": 1,
            "max_invitations": 1,
            "max_participations": 1,
            "cooldown_days": 0,
        },
    )
    assert "is used by the site itself" in response.content.decode()
    assert not Panel.objects.filter(slug="me").exists()


def test_staff_of_another_living_lab_cannot_open_the_panel(client, panel, other_cluster_staff, participant):
    for user in (other_cluster_staff, participant):
        client.force_login(user)
        for name in ("pilots:panel_detail", "pilots:member_list", "pilots:draw_new", "pilots:screener_list"):
            assert client.get(reverse(name, args=[panel.slug])).status_code == 403


def test_member_search_finds_by_name_and_keeps_its_query_count(coordinator, panel, member):
    wanted = member(region="Bretagne")
    wanted.person.full_name = "Maëlle Le Gall"
    wanted.person.save()
    url = reverse("pilots:member_list", args=[panel.slug])
    for _ in range(3):
        member()
    with CaptureQueriesContext(connection) as few:
        coordinator.get(url)
    for _ in range(10):
        member()
    with CaptureQueriesContext(connection) as many:
        page = coordinator.get(url).content.decode()
    assert len(many) == len(few)
    assert len(MEMBER_LINK.findall(page)) == 14
    found = coordinator.get(url, {"q": "le gall"}).content.decode()
    assert "Maëlle Le Gall" in found
    assert len(MEMBER_LINK.findall(found)) == 1


def test_opening_a_member_is_audited_and_shows_the_contact_history(coordinator, panel, member, staff_user):
    membership = member()
    coordinator.post(
        reverse("pilots:member_status", args=[panel.slug, membership.pk]),
        {"status": "do_not_contact", "reason": "Asked by phone not to be called for a while"},
    )
    page = coordinator.get(reverse("pilots:member_detail", args=[panel.slug, membership.pk])).content.decode()
    assert "Asked by phone not to be called for a while" in page
    assert AuditEntry.objects.filter(action="pilots.membership.view", object_id=str(membership.pk)).exists()
    membership.refresh_from_db()
    assert membership.status == "do_not_contact"


def test_protecting_a_member_needs_a_reason(coordinator, panel, member):
    membership = member()
    response = coordinator.post(
        reverse("pilots:member_status", args=[panel.slug, membership.pk]),
        {"status": "blocked", "reason": ""},
        follow=True,
    )
    assert "Give the reason" in response.content.decode()
    membership.refresh_from_db()
    assert membership.status == "active"


def test_a_contradictory_screener_is_explained_and_not_saved(coordinator, panel):
    response = coordinator.post(
        reverse("pilots:screener_new", args=[panel.slug]),
        {
            "name": "Impossible",
            "attribute_0": "age",
            "operator_0": "gte",
            "value_0": "70",
            "group_0": 1,
            "attribute_1": "age_band",
            "operator_1": "in",
            "value_1": "18 to 24",
            "group_1": 2,
        },
    )
    assert "The age conditions contradict each other" in response.content.decode()
    assert not Screener.objects.exists()


def test_a_screener_is_built_from_rows_with_labels_and_groups(coordinator, panel):
    coordinator.post(
        reverse("pilots:screener_new", args=[panel.slug]),
        {
            "name": "Older French speakers",
            "attribute_0": "age_band",
            "operator_0": "in",
            "value_0": "65 to 74, 75 and over",
            "group_0": 1,
            "attribute_1": "languages",
            "operator_1": "any_of",
            "value_1": "French",
            "group_1": 2,
            "attribute_2": "languages",
            "operator_2": "any_of",
            "value_2": "br",
            "group_2": 2,
        },
    )
    screener = Screener.objects.get()
    assert screener.conditions == {
        "all": [
            {"attribute": "age_band", "operator": "in", "value": ["65-74", "75+"]},
            {
                "any": [
                    {"attribute": "languages", "operator": "any_of", "value": ["fr"]},
                    {"attribute": "languages", "operator": "any_of", "value": ["br"]},
                ]
            },
        ]
    }
    edit = coordinator.get(reverse("pilots:screener_edit", args=[panel.slug, screener.pk])).content.decode()
    assert 'value="65-74, 75+"' in edit


def test_a_coordinator_previews_then_draws_with_quotas(coordinator, panel, member, purposes):
    for _ in range(4):
        member(region="Bretagne", year_of_birth=THIS_YEAR - 70)
    for _ in range(3):
        member(region="Uusimaa", year_of_birth=THIS_YEAR - 70)
    url = reverse("pilots:draw_new", args=[panel.slug])
    base = {
        "title": "Fall detector at home",
        "involves": "A one-hour visit at home to try a fall detector.",
        "purposes": [purposes["participation"].pk],
        "size": 4,
        "strata": ["region"],
        "respond_within_days": 10,
    }
    preview = coordinator.post(url, {**base, "preview": "1"}).content.decode()
    assert "7 members are eligible." in preview
    assert "Bretagne" in preview and "Uusimaa" in preview
    quotas = {"min_0": 2, "max_0": 2, "min_1": 2, "max_1": 2}
    response = coordinator.post(url, {**base, **quotas, "previewed": "1", "draw": "1"})
    draw = Draw.objects.get()
    assert response.url == reverse("pilots:draw_detail", args=[draw.pk])
    regions = sorted(s.membership.person.profile.region for s in draw.selections.all())
    assert regions == ["Bretagne", "Bretagne", "Uusimaa", "Uusimaa"]
    detail = coordinator.get(reverse("pilots:draw_detail", args=[draw.pk]), {"replay": "1"}).content.decode()
    assert "gives exactly the same people" in detail
    assert str(draw.seed) in detail


def test_a_draw_that_falls_short_names_the_cells(coordinator, panel, member, purposes):
    member(region="Bretagne")
    url = reverse("pilots:draw_new", args=[panel.slug])
    page = coordinator.post(
        url,
        {
            "title": "T",
            "involves": "I",
            "purposes": [purposes["participation"].pk],
            "size": 3,
            "strata": ["region"],
            "respond_within_days": 10,
            "min_0": 3,
            "max_0": 3,
            "previewed": "1",
            "draw": "1",
        },
    ).content.decode()
    assert "Bretagne: needs at least 3, only 1" in page
    assert not Draw.objects.exists()


def test_a_paper_consent_scan_is_for_the_person_and_the_labs_whose_panel_they_are_in(
    client, panel, member, give, staff_user, other_cluster_staff
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    membership = member(consent=())
    name = storages["private"].save("consent-scans/signed.pdf", ContentFile(b"%PDF-1.4 signed form"))
    record = give(membership.person, evidence={"scan": name})
    url = reverse("pilots:consent_scan", args=[record.pk])
    client.force_login(other_cluster_staff)
    assert client.get(url).status_code == 403
    client.force_login(staff_user)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 signed form"
    storages["private"].delete(name)


def test_a_platform_administrator_does_not_act_through_a_persons_own_pages(client, member):
    from livinglab.factories import UserFactory
    from tests.conftest import with_totp

    root = with_totp(UserFactory(email="root@example.org", is_superuser=True, is_staff=True))
    person = member().person
    client.force_login(root)
    assert client.get(reverse("pilots:my_data_for", args=[person.pk])).status_code == 403
    assert client.get(reverse("pilots:erase_for", args=[person.pk])).status_code == 403

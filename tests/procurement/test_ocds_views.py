"""The open contracting data pages: anyone may read them, only published procurements appear, the bulk
package is streamed, and an unknown identifier is a plain "not found" page."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from procurement import ocds
from procurement.factories import BidFactory, PhaseFactory, ProcurementFactory
from procurement.models import Phase, Procurement
from tests.procurement.test_ocds import assert_codelists, assert_valid, build_history


@pytest.fixture
def history(call, consortium, rival_consortium):
    return build_history(call, consortium, rival_consortium)


@pytest.fixture
def draft(authority):
    return ProcurementFactory(
        buyer=authority, title="Unpublished idea", status=Procurement.Status.DRAFT, published_at=None
    )


def _more_procurements(authority, count):
    for _n in range(count):
        procurement = ProcurementFactory(buyer=authority)
        phase = PhaseFactory(procurement=procurement, bid_deadline=timezone.now() - timedelta(days=1))
        PhaseFactory(procurement=procurement, number=2, status=Phase.Status.PLANNED, opened_at=None)
        BidFactory(phase=phase)


def test_index_lists_published_procurements_and_links_to_the_data_of_each_process(client, history, draft):
    response = client.get(reverse("procurement:ocds_index"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Living at home longer in Espoo" in page
    assert "Unpublished idea" not in page
    for ocid in (history.ocid, *(p.ocid for p in history.phases.all())):
        assert reverse("procurement:ocds_releases", args=[ocid]) in page
        assert reverse("procurement:ocds_record", args=[ocid]) + "?download=1" in page
    assert reverse("procurement:ocds_bulk") + "?download=1" in page


def test_index_shows_no_phase_process_before_the_call_is_published(client, authority):
    consulting = ProcurementFactory(
        buyer=authority, status=Procurement.Status.CONSULTATION, published_at=None
    )
    phase = PhaseFactory(procurement=consulting, status=Phase.Status.PLANNED, opened_at=None)

    page = client.get(reverse("procurement:ocds_index")).content.decode()

    assert consulting.ocid in page
    assert phase.ocid not in page


def test_index_query_count_does_not_grow_with_the_number_of_procurements(client, history, authority):
    url = reverse("procurement:ocds_index")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _more_procurements(authority, 5)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert response.content.decode().count("<tr>") == 7, "a header row and six procurements"
    assert 0 < len(many) == len(few)


def test_releases_of_a_phase_are_a_valid_package_anyone_can_read(client, history):
    phase1 = history.phases.get(number=1)

    response = client.get(reverse("procurement:ocds_releases", args=[phase1.ocid]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "Content-Disposition" not in response
    package = response.json()
    assert_valid(package, "release-package-schema.json")
    assert {r["ocid"] for r in package["releases"]} == {phase1.ocid}
    assert package["uri"] == f"http://testserver/procurement/ocds/{phase1.ocid}/releases.json"
    assert package["publicationPolicy"] == "http://testserver/procurement/ocds/"
    assert [r["tag"][0] for r in package["releases"]][-1] == "implementation"


def test_download_asks_the_browser_to_save_the_file(client, history):
    url = reverse("procurement:ocds_record", args=[history.ocid])

    response = client.get(url, {"download": "1"})

    assert response["Content-Disposition"] == f'attachment; filename="{history.ocid}-record.json"'


def test_record_of_the_planning_process_is_a_valid_record_package(client, history):
    response = client.get(reverse("procurement:ocds_record", args=[history.ocid]))

    package = response.json()
    assert_valid(package, "record-package-schema.json")
    (record,) = package["records"]
    assert record["compiledRelease"]["tender"]["status"] == "planned"
    assert package["packages"] == [f"http://testserver/procurement/ocds/{history.ocid}/releases.json"]


@pytest.mark.parametrize(
    "which", ["unknown prefix", "no such procurement", "no such phase", "draft", "consulting"]
)
def test_an_ocid_that_is_not_published_is_a_plain_not_found_page(client, call, draft, authority, which):
    consulting = ProcurementFactory(
        buyer=authority, status=Procurement.Status.CONSULTATION, published_at=None
    )
    PhaseFactory(procurement=consulting, status=Phase.Status.PLANNED, opened_at=None)
    ocid = {
        "unknown prefix": f"ocds-abcdef-pcp-{call.pk}",
        "no such procurement": f"{call.ocid}0000",
        "no such phase": f"{call.ocid}-7",
        "draft": draft.ocid,
        "consulting": f"{consulting.ocid}-1",
    }[which]

    for name in ("ocds_releases", "ocds_record"):
        response = client.get(reverse(f"procurement:{name}", args=[ocid]))

        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")
        assert "Page not found" in response.content.decode()


def test_bulk_release_package_is_streamed_and_valid(client, history, draft):
    response = client.get(reverse("procurement:ocds_bulk"), {"download": "1"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="releases.json"'
    package = json.loads(b"".join(response.streaming_content))
    assert_valid(package, "release-package-schema.json")
    assert_codelists(package["releases"])
    assert {r["ocid"] for r in package["releases"]} == {history.ocid, *(p.ocid for p in history.phases.all())}
    assert draft.ocid not in json.dumps(package)


def test_bulk_since_keeps_recent_releases_and_refuses_a_date_it_cannot_read(client, history):
    since = (timezone.now() - timedelta(days=10)).date().isoformat()

    response = client.get(reverse("procurement:ocds_bulk"), {"since": since})
    refused = client.get(reverse("procurement:ocds_bulk"), {"since": "last tuesday"})

    package = json.loads(b"".join(response.streaming_content))
    assert package["releases"]
    assert all(r["date"] >= f"{since}T00:00:00Z" for r in package["releases"])
    assert package["uri"].endswith(f"?since={since}T00:00:00Z")
    assert refused.status_code == 400
    assert "last tuesday" in refused.content.decode()


def test_bulk_query_count_does_not_grow_with_the_number_of_procurements(client, history, authority):
    url = reverse("procurement:ocds_bulk")
    with CaptureQueriesContext(connection) as few:
        first = json.loads(b"".join(client.get(url).streaming_content))
    _more_procurements(authority, 6)
    with CaptureQueriesContext(connection) as many:
        second = json.loads(b"".join(client.get(url).streaming_content))

    assert len({r["ocid"] for r in second["releases"]}) == len({r["ocid"] for r in first["releases"]}) + 18
    assert 0 < len(many) == len(few)


def test_bulk_export_reads_the_database_in_batches(history, authority, django_assert_max_num_queries):
    _more_procurements(authority, 4)
    pieces = ocds.stream_release_package(uri="http://testserver/x", links=ocds.Links(), chunk_size=2)

    with django_assert_max_num_queries(3 * 20):
        text = "".join(pieces)

    assert len(json.loads(text)["releases"]) > 5

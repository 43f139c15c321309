"""The B2B reference data in the Wagtail admin: cluster staff keep the sector and technology tags and the
intelligence topics tidy (through the audited service); firm users and participants never open them."""

import pytest
from django.urls import reverse

from livinglab.b2b.factories import TagFactory, TopicFactory
from livinglab.b2b.models import Tag, Topic
from livinglab.models import AuditEntry

TAGS = "wagtailsnippets_b2b_tag"
TOPICS = "wagtailsnippets_b2b_topic"


@pytest.fixture
def staff_client(client, broker):
    client.force_login(broker)
    return client


def test_the_staff_list_tags_and_topics(staff_client, tags):
    TopicFactory(name="Cold chain", slug="cold-chain")

    tag_page = staff_client.get(reverse(f"{TAGS}:list"))
    topic_page = staff_client.get(reverse(f"{TOPICS}:list"))

    assert tag_page.status_code == 200 and topic_page.status_code == 200
    assert "Food processing" in tag_page.content.decode() and "Machine learning" in tag_page.content.decode()
    assert "Cold chain" in topic_page.content.decode()


def test_the_staff_add_a_topic_and_the_audit_trail_records_it(staff_client, broker):
    response = staff_client.post(
        reverse(f"{TOPICS}:add"),
        {"name": "Circular packaging", "slug": "circular-packaging", "description": "Reuse and recycling."},
    )

    assert response.status_code == 302, response.context["form"].errors if response.context else response
    topic = Topic.objects.get(slug="circular-packaging")
    assert topic.description == "Reuse and recycling."
    entry = AuditEntry.objects.get(action="b2b.topic.create", object_id=str(topic.pk))
    assert entry.actor == broker and entry.data == {"slug": "circular-packaging"}


def test_the_staff_add_and_rename_a_tag(staff_client, broker):
    response = staff_client.post(
        reverse(f"{TAGS}:add"),
        {"kind": Tag.Kind.TECHNOLOGY, "name": "Computer vison", "slug": "computer-vision"},
    )
    assert response.status_code == 302
    tag = Tag.objects.get(slug="computer-vision")

    response = staff_client.post(
        reverse(f"{TAGS}:edit", args=[tag.pk]),
        {"kind": Tag.Kind.TECHNOLOGY, "name": "Computer vision", "slug": "computer-vision"},
    )

    assert response.status_code == 302
    tag.refresh_from_db()
    assert tag.name == "Computer vision"
    assert list(
        AuditEntry.objects.filter(object_id=str(tag.pk), action__startswith="b2b.tag.")
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["b2b.tag.create", "b2b.tag.update"]


def test_a_duplicate_tag_is_a_form_error_not_a_crash(staff_client, tags):
    response = staff_client.post(
        reverse(f"{TAGS}:add"), {"kind": Tag.Kind.SECTOR, "name": "Food again", "slug": "food-processing"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Tag.objects.filter(slug="food-processing").count() == 1
    assert not AuditEntry.objects.filter(action="b2b.tag.create").exists()


def test_nobody_deletes_a_tag_or_a_topic_in_the_admin(staff_client):
    tag, topic = TagFactory(name="Obsolete"), TopicFactory(name="Obsolete topic")
    for prefix, obj in ((TAGS, tag), (TOPICS, topic)):
        response = staff_client.post(reverse(f"{prefix}:delete", args=[obj.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtailadmin_home")
    assert Tag.objects.filter(pk=tag.pk).exists() and Topic.objects.filter(pk=topic.pk).exists()


@pytest.mark.parametrize("persona", ["buyer_user", "participant"])
def test_firm_users_and_participants_cannot_open_tags_or_topics(persona, request, client):
    client.force_login(request.getfixturevalue(persona))
    topic = TopicFactory(name="Cold chain")
    for url in (
        reverse(f"{TAGS}:list"),
        reverse(f"{TAGS}:add"),
        reverse(f"{TOPICS}:list"),
        reverse(f"{TOPICS}:edit", args=[topic.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "for the cluster organisation" in response.content.decode(), url
    response = client.post(reverse(f"{TOPICS}:add"), {"name": "Sneaky", "slug": "sneaky"})
    assert response.status_code == 403
    assert not Topic.objects.filter(slug="sneaky").exists()


def test_the_tag_and_topic_choosers_answer_not_found_for_a_malformed_id(staff_client):
    for model in ("tag", "topic"):
        response = staff_client.get(f"/admin/snippets/choose/b2b/{model}/chosen/no-such-thing/")
        assert response.status_code == 404

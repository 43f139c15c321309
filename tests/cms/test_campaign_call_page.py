"""The public call for participants of a test campaign: what it is, who can join, what to expect and how to
sign up; it closes itself (410 Gone, out of the sitemap and listings) when recruitment ends."""

from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from cms.models import CampaignCallPage, HomePage
from livinglab.models import Channel
from pilots.factories import CampaignFactory, PanelFactory
from pilots.models import Campaign, Maturity, Method


@pytest.fixture
def campaign(cluster, sme, consent_form):
    panel = PanelFactory(
        owner=cluster,
        name="Living well at home",
        slug="living-well-at-home",
        channel=Channel.B2C,
        consent_document=consent_form.document,
    )
    return CampaignFactory(
        lab=cluster,
        requested_by=sme,
        panel=panel,
        title="Pill reminder usability",
        product_name="PillPal reminder app",
        maturity=Maturity.PROTOTYPE,
        methods=[Method.USABILITY, Method.SURVEY],
        incentive="A 20 EUR shopping voucher",
        expect_activities="Try the app for one hour at the living lab while a researcher watches.",
        expect_time="One session of 90 minutes",
        expect_benefits="A summary of the results.",
        expect_not="You do not keep the phone.",
        expect_risks="Mild frustration if the prototype fails.",
        ip_terms="Suggestions you make may be used freely by the firm.",
        nda_required=True,
        confidentiality_terms="Do not post screenshots of the prototype.",
        status=Campaign.Status.RECRUITING,
        recruitment_closes_on=timezone.localdate() + timedelta(days=10),
    )


@pytest.fixture
def call(campaign):
    home = HomePage.objects.get()
    page = CampaignCallPage(
        title="Help us test a pill reminder",
        slug="pill-reminder-call",
        campaign=campaign,
        introduction="We look for people who take medicines every day.",
        who_can_join="<p>People aged 65 or over who use a smartphone.</p>",
        how_to_sign_up="<p>Join the panel, then wait for your invitation.</p>",
    )
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


def visit(page) -> tuple[int, str]:
    response = Client().get(page.url)
    return response.status_code, response.content.decode()


def close(campaign, **changes):
    Campaign.objects.filter(pk=campaign.pk).update(**changes)


def test_an_open_call_shows_the_expectation_statement_terms_and_how_to_sign_up(call, campaign, cluster):
    status, html = visit(call)

    assert status == 200
    assert "We look for people who take medicines every day." in html
    assert "People aged 65 or over who use a smartphone." in html
    assert "PillPal reminder app" in html and "Prototype" in html
    assert "Usability test, Survey" in html
    # The expectation statement, in full.
    assert "Try the app for one hour at the living lab while a researcher watches." in html
    assert "One session of 90 minutes" in html
    assert "A summary of the results." in html
    assert "You do not keep the phone." in html
    assert "Mild frustration if the prototype fails." in html
    assert "The product is still being tested" in html
    assert "A 20 EUR shopping voucher" in html
    # The IP and confidentiality terms in plain words.
    assert "Participants keep the ideas they contribute" not in html
    assert "No ideas are collected (testing only)" in html
    assert "Suggestions you make may be used freely by the firm." in html
    assert "You will be asked to sign a confidentiality agreement (NDA)" in html
    assert "Do not post screenshots of the prototype." in html
    assert "A test run by the living lab of Images &amp; Réseaux Living Lab." in html
    assert "Join the panel, then wait for your invitation." in html
    assert reverse("pilots:join_panel", args=["living-well-at-home"]) in html


def test_the_call_says_it_is_gone_once_the_campaign_stops_recruiting(call, campaign):
    close(campaign, status=Campaign.Status.RUNNING)

    status, html = visit(call)

    assert status == 410
    assert "This call is closed" in html
    assert "the campaign no longer recruits" in html
    assert "Try the app for one hour" not in html
    assert "PillPal reminder app" not in html
    assert reverse("pilots:join_panel", args=["living-well-at-home"]) not in html


@pytest.mark.parametrize("status", ["draft", "submitted", "in_review", "analysing", "closed", "withdrawn"])
def test_the_call_is_gone_in_every_status_but_approved_and_recruiting(call, campaign, status):
    close(campaign, status=status)
    assert visit(call)[0] == 410


def test_an_approved_campaign_about_to_recruit_shows_its_call(call, campaign):
    close(campaign, status=Campaign.Status.APPROVED)
    assert visit(call)[0] == 200


def test_the_call_closes_itself_the_day_after_recruitment_closes(call, campaign):
    today = timezone.localdate()
    close(campaign, recruitment_closes_on=today)
    status, html = visit(call)
    assert status == 200 and "Try the app for one hour" in html

    close(campaign, recruitment_closes_on=today - timedelta(days=1))
    status, html = visit(call)
    assert status == 410
    assert "This call for participants closed on" in html
    assert "Try the app for one hour" not in html


def test_a_closed_call_leaves_the_sitemap_and_the_listings(call, campaign):
    request = RequestFactory().get("/")
    open_urls = [entry["location"] for entry in call.get_sitemap_urls(request)]
    assert open_urls == [call.get_full_url(request)]
    assert list(CampaignCallPage.objects.live_calls()) == [call]

    close(campaign, recruitment_closes_on=timezone.localdate() - timedelta(days=1))
    assert CampaignCallPage.objects.get(pk=call.pk).get_sitemap_urls(request) == []
    assert list(CampaignCallPage.objects.live_calls()) == []

    close(campaign, recruitment_closes_on=None, status=Campaign.Status.RUNNING)
    assert CampaignCallPage.objects.get(pk=call.pk).get_sitemap_urls(request) == []
    assert list(CampaignCallPage.objects.live_calls()) == []


def test_a_campaign_with_a_call_page_cannot_be_deleted(call, campaign):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        campaign.delete()

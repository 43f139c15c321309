"""The shared procurement world builds as its fixtures promise."""

from procurement.models import BidContent, Phase


def test_the_call_has_three_phases_and_phase_one_is_open_for_bids(call, phase1):
    assert list(call.phases.values_list("number", "status")) == [
        (1, Phase.Status.OPEN),
        (2, Phase.Status.PLANNED),
        (3, Phase.Status.PLANNED),
    ]
    assert phase1.accepts_bids() and phase1.is_sealed()


def test_a_sealed_bid_hides_its_content_until_the_deadline_passes(sealed_bid, phase1, pass_deadline):
    assert not BidContent.objects.filter(bid=sealed_bid).exists()
    pass_deadline(phase1)
    assert BidContent.objects.get(bid=sealed_bid).price == 120000

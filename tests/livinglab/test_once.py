"""``livinglab.once.send_once`` on a real row: a membership's nullable ``ended_at`` stands in for a mail's
sent-at timestamp."""

from datetime import UTC, datetime

import pytest

from livinglab.factories import MembershipFactory
from livinglab.models import Membership
from livinglab.once import send_once

FIRST = datetime(2031, 3, 1, tzinfo=UTC)
SECOND = datetime(2031, 3, 2, tzinfo=UTC)


@pytest.fixture
def row(db):
    return MembershipFactory()


def stamp_of(row):
    return Membership.objects.get(pk=row.pk).ended_at


def test_it_sends_once_and_keeps_the_claim(row):
    sent = []
    assert send_once(Membership, row.pk, "ended_at", lambda: sent.append(1)) is True
    assert send_once(Membership, row.pk, "ended_at", lambda: sent.append(2)) is False
    assert sent == [1] and stamp_of(row) is not None


def test_a_failed_send_gives_the_claim_back_so_that_the_retry_sends(row):
    def fail():
        raise OSError("SMTP down")

    with pytest.raises(OSError):
        send_once(Membership, row.pk, "ended_at", fail)
    assert stamp_of(row) is None
    assert send_once(Membership, row.pk, "ended_at", lambda: None) is True


def test_nobody_to_write_to_keeps_the_claim_and_says_nothing_was_sent(row):
    assert send_once(Membership, row.pk, "ended_at", lambda: False) is False
    assert stamp_of(row) is not None
    assert send_once(Membership, row.pk, "ended_at", lambda: None) is False


def test_a_recurring_notice_is_sent_once_per_moment_and_restores_the_earlier_moment_on_failure(row):
    assert send_once(Membership, row.pk, "ended_at", lambda: None, stamp=FIRST) is True
    assert send_once(Membership, row.pk, "ended_at", lambda: None, stamp=FIRST) is False
    assert stamp_of(row) == FIRST

    def fail():
        raise OSError("SMTP down")

    with pytest.raises(OSError):
        send_once(Membership, row.pk, "ended_at", fail, stamp=SECOND, previous=FIRST)
    assert stamp_of(row) == FIRST
    assert send_once(Membership, row.pk, "ended_at", lambda: None, stamp=SECOND) is True
    assert send_once(Membership, row.pk, "ended_at", lambda: None, stamp=FIRST) is False
    assert stamp_of(row) == SECOND

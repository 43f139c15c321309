"""Domain events other apps subscribe to. Sent after the transaction that caused them has committed."""

from django.dispatch import Signal

# Sent with ``record_id`` when a consent is withdrawn: panels, campaigns and datasets that relied on it
# stop processing the person's data from that moment.
consent_withdrawn = Signal()

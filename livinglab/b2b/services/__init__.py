"""Every state change of the B2B channel, one module per part: ``verb_noun(..., *, acting_user)``."""

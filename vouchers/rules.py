"""Who may act on vouchers. Autodiscovered by ``rules``; services and views ask ``user.has_perm``."""

import rules

from livinglab.policy import is_member, staff

# Redeeming and reversing happen at a firm's point of sale: its staff, or cluster staff helping them.
rules.add_perm("vouchers.redeem_for_firm", is_member | staff)

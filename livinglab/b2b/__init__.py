"""The B2B channel: the cluster organisation as a neutral broker between firms (needs, offers, matchmaking,
introductions, co-development projects, events with lead users, service providers, market intelligence)."""

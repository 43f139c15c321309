from .policy import active_memberships


def workspaces(request):
    """The workspace switcher in the header: the participant workspace and one per organisation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def organisations():
        seen: dict[int, object] = {}
        for m in active_memberships(user):
            seen.setdefault(m.organisation_id, m.organisation)
        return list(seen.values())

    # Lazy: pages that do not show the switcher run no query; the policy's per-request cache serves the rest.
    return {"my_organisations": organisations}

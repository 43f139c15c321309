from .models import Membership


def workspaces(request):
    """The workspace switcher in the header: the participant workspace and one per organisation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def organisations():
        seen, result = set(), []
        for m in Membership.objects.active().filter(user=user).select_related("organisation"):
            if m.organisation_id not in seen:
                seen.add(m.organisation_id)
                result.append(m.organisation)
        return result

    # Lazy: pages that do not show the switcher run no query.
    return {"my_organisations": organisations}

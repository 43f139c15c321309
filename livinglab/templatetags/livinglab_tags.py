from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def query_replace(context, param, value):
    """The current query string with one parameter replaced: pagination keeps filters and other pages."""
    query = context["request"].GET.copy()
    query[param or "page"] = value
    return query.urlencode()


@register.simple_tag(takes_context=True)
def come_back_to(context) -> str:
    """Where a user sent off to do something first (accept ground rules, say) comes back to: this page, or
    after a refused form the page the form was on, since a form's address may not answer a plain visit."""
    from livinglab.views import safe_next

    request = context.get("request")
    if request is None:
        return ""
    if request.method == "GET":
        return request.get_full_path()
    return safe_next(request, request.META.get("HTTP_REFERER")) or ""

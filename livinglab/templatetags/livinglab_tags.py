from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def query_replace(context, param, value):
    """The current query string with one parameter replaced: pagination keeps filters and other pages."""
    query = context["request"].GET.copy()
    query[param or "page"] = value
    return query.urlencode()

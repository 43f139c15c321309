"""Query expressions the apps share."""

from django.db.models import IntegerField, Subquery


class SubqueryCount(Subquery):
    """The number of rows of a correlated subquery, as an annotation (0 when there are none).

    Unlike ``Count`` over a join, several of these on one queryset do not multiply each other's rows."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()

    def __init__(self, queryset, **extra):
        super().__init__(queryset.order_by().values("pk"), **extra)

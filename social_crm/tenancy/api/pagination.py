from rest_framework.pagination import CursorPagination


class ViewOrderedCursorPagination(CursorPagination):
    """Cursor pagination ordered by the viewset's ``ordering`` (plus id as a tie-breaker)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request, queryset, view):
        field = getattr(view, "ordering", "-id")
        tie = "-id" if field.startswith("-") else "id"
        return (field, tie) if field.lstrip("-") != "id" else (field,)

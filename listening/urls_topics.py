"""Under /t/<tenant_slug>/ (included by listening/urls.py): NLP topics pages."""

from django.urls import path

from . import views_topics as views

urlpatterns = [
    path("listening/topics/", views.TopicListView.as_view(), name="topics"),
    path("listening/topics/new/", views.TopicEditView.as_view(), name="topic-new"),
    path("listening/topics/starters/", views.TopicStartersView.as_view(), name="topic-starters"),
    path("listening/topics/<int:topic_id>/", views.TopicEditView.as_view(), name="topic-edit"),
    path("listening/topics/<int:topic_id>/delete/", views.TopicDeleteView.as_view(), name="topic-delete"),
    path("listening/entities/", views.EntityTermListView.as_view(), name="entity-terms"),
    path("listening/entities/new/", views.EntityTermEditView.as_view(), name="entity-term-new"),
    path("listening/entities/<int:term_id>/", views.EntityTermEditView.as_view(), name="entity-term-edit"),
    path("listening/entities/<int:term_id>/delete/", views.EntityTermDeleteView.as_view(), name="entity-term-delete"),
]

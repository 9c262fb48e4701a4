"""Under /t/<tenant_slug>/ (included by listening/urls.py): corrections in the stream and the
tenant's sentiment models."""

from django.urls import path

from . import views_models as views

urlpatterns = [
    path("mentions/<int:mention_id>/sentiment/", views.MentionSentimentView.as_view(), name="mention-sentiment"),
    path("mentions/<int:mention_id>/topics/", views.MentionTopicView.as_view(), name="mention-topic"),
    path("nlp/models/", views.SentimentModelsView.as_view(), name="sentiment-models"),
    path("nlp/models/retrain/", views.SentimentModelRetrainView.as_view(), name="sentiment-model-retrain"),
    path("nlp/models/shared/", views.SentimentModelUseSharedView.as_view(), name="sentiment-model-use-shared"),
    path("nlp/models/<int:model_id>/activate/", views.SentimentModelActivateView.as_view(), name="sentiment-model-activate"),
    path("nlp/models/<int:model_id>/progress/", views.SentimentModelProgressView.as_view(), name="sentiment-model-progress"),
]

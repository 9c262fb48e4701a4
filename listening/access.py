"""Reads by id in the listening domain: the tenant is inside the query; a miss is a 404."""

from social_crm.tenancy.access import scoped_get

from .models import (ConnectedAccount, EntityTerm, ListeningQuery, Mention, QuarantinedPayload, TenantSentimentModel,
                     Topic)


def access_query(tenant_id: int, query_id) -> ListeningQuery:
    return scoped_get(ListeningQuery.objects.all(), tenant_id, query_id)


def access_account(tenant_id: int, account_id) -> ConnectedAccount:
    return scoped_get(ConnectedAccount.objects.all(), tenant_id, account_id)


def access_quarantined(tenant_id: int, item_id) -> QuarantinedPayload:
    return scoped_get(QuarantinedPayload.objects.all(), tenant_id, item_id)


def access_mention(tenant_id: int, mention_id) -> Mention:
    return scoped_get(Mention.objects.select_related("author"), tenant_id, mention_id)


def access_topic(tenant_id: int, topic_id) -> Topic:
    return scoped_get(Topic.objects.all(), tenant_id, topic_id)


def access_entity_term(tenant_id: int, term_id) -> EntityTerm:
    return scoped_get(EntityTerm.objects.all(), tenant_id, term_id)


def access_tenant_model(tenant_id: int, model_id) -> TenantSentimentModel:
    return scoped_get(TenantSentimentModel.objects.defer("artefact"), tenant_id, model_id)

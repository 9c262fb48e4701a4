"""Entities: the tenant's brands, products, handles and competitors through spaCy's EntityRuler
(French and English, offsets in the original text, canonical names), French NER where the
NLP_FRENCH_NER setting says it pays, and the per-tenant cache, on real PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from listening.models import EntityTerm
from listening.nlp.entities import EntityExtractor, Term
from listening.nlp.topic_actions import entity_term_delete, entity_term_save
from social_crm.tenancy.scope import tenant_context

from .test_settings import load_settings

TERMS = [
    Term(1, "brand", "Maison Aurore", ["MaisonAurore"]),
    Term(2, "handle", "@MaisonAurore"),
    Term(3, "product", "bouilloire Céleste", ["Celeste kettle"]),
    Term(4, "competitor", "Bleu Comptoir", ["BleuComptoir"]),
]


def spans(text: str, entities: list[dict]) -> list[tuple]:
    """(label, canonical, source) of each entity, after checking its offsets against the text."""
    for e in entities:
        assert text[e["start"]:e["end"]] == e["text"], e
    return [(e["label"], e["canonical"], e["source"]) for e in entities]


@override_settings(NLP_FRENCH_NER="off")
def test_the_ruler_finds_brands_products_handles_and_competitors_in_french_and_english():
    extractor = EntityExtractor.from_terms(TERMS)
    fr = "Ma bouilloire celeste fuit, merci MAISON AURORE 🙄 @MaisonAurore ; chez #BleuComptoir c'est mieux"
    en = "My Céleste kettle from maison aurore broke, Bleu Comptoir's was fine"
    found = extractor.extract([fr, en], ["fr", "en"], ["negative", "negative"])
    assert spans(fr, found[0]) == [("PRODUCT", "bouilloire Céleste", "ruler"), ("BRAND", "Maison Aurore", "ruler"),
                                   ("HANDLE", "@MaisonAurore", "ruler"), ("COMPETITOR", "Bleu Comptoir", "ruler")]
    assert spans(en, found[1]) == [("PRODUCT", "bouilloire Céleste", "ruler"), ("BRAND", "Maison Aurore", "ruler"),
                                   ("COMPETITOR", "Bleu Comptoir", "ruler")]
    assert [e["term_id"] for e in found[1]] == [3, 1, 4]
    assert found[0][0]["text"] == "bouilloire celeste" and found[1][0]["text"] == "Céleste kettle"


@override_settings(NLP_FRENCH_NER="off")
def test_a_handle_term_matches_with_and_without_its_at_sign_and_words_must_be_whole():
    extractor = EntityExtractor.from_terms([Term(9, "handle", "acme_fr"), Term(10, "brand", "Acme")])
    texts = ["Bonjour @acme_fr et acme_fr", "Acmeville is not a brand", ""]
    found = extractor.extract(texts, ["fr", "en", "other"], ["", "", ""])
    assert spans(texts[0], found[0]) == [("HANDLE", "acme_fr", "ruler"), ("HANDLE", "acme_fr", "ruler")]
    assert found[1] == [] and found[2] == []


FRENCH_COMPLAINT = "Mon colis Maison Aurore est bloqué à Marseille depuis une semaine, Jean Dupont du SAV ne répond pas."


def ner_labels(entities: list[dict]) -> set[str]:
    return {e["label"] for e in entities if e["source"] == "ner"}


@pytest.mark.parametrize(("mode", "tagged"), [
    ("negative", [True, False, False]),
    ("all", [True, True, False]),
    ("off", [False, False, False]),
])
def test_french_ner_runs_where_the_setting_says_it_pays(mode, tagged):
    extractor = EntityExtractor.from_terms(TERMS)
    texts = [FRENCH_COMPLAINT, FRENCH_COMPLAINT, "My parcel is stuck in Marseille, John Smith never answers."]
    with override_settings(NLP_FRENCH_NER=mode):
        found = extractor.extract(texts, ["fr", "fr", "en"], ["negative", "positive", "negative"])
    assert [bool(ner_labels(f)) for f in found] == tagged
    if tagged[0]:
        assert {"LOC", "PER"} <= ner_labels(found[0])
        place = next(e for e in found[0] if e["label"] == "LOC")
        assert place["text"] == "Marseille" and place["term_id"] is None and place["canonical"] is None
        spans(FRENCH_COMPLAINT, found[0])
    # The ruler runs whatever the setting.
    assert ("BRAND", "Maison Aurore", "ruler") in spans(FRENCH_COMPLAINT, found[0])


@override_settings(NLP_FRENCH_NER="all")
def test_a_ruler_entity_wins_over_an_overlapping_ner_span():
    extractor = EntityExtractor.from_terms(TERMS)
    text = "Scandale chez Maison Aurore à Lyon, Bleu Comptoir fait mieux."
    ner_only = EntityExtractor.from_terms([]).extract([text], ["fr"], ["negative"])[0]
    assert any(e["text"] in ("Maison Aurore", "Bleu Comptoir") for e in ner_only)  # NER sees the brands too
    found = extractor.extract([text], ["fr"], ["negative"])[0]
    ruler = [e for e in found if e["source"] == "ruler"]
    assert [e["canonical"] for e in ruler] == ["Maison Aurore", "Bleu Comptoir"]
    for e in found:
        if e["source"] == "ner":
            assert not any(e["start"] < r["end"] and r["start"] < e["end"] for r in ruler), e
    assert [e["start"] for e in found] == sorted(e["start"] for e in found)


def test_a_bad_ner_setting_stops_the_app_from_starting():
    result = load_settings("settings.NLP_FRENCH_NER", NLP_FRENCH_NER="sometimes")
    assert result.returncode != 0 and "NLP_FRENCH_NER" in result.stderr
    assert load_settings("settings.NLP_FRENCH_NER", NLP_FRENCH_NER="ALL").stdout.strip() == "'all'"
    assert load_settings("settings.NLP_FRENCH_NER").stdout.strip() == "'negative'"


# --- The tenant's extractor ----------------------------------------------------------------------


@override_settings(NLP_FRENCH_NER="off")
def test_each_tenant_recognises_its_own_terms_and_a_change_is_seen_by_the_next_batch(world):
    a, b = world.a.tenant.pk, world.b.tenant.pk
    entity_term_save(b, actor=None, kind="competitor", name="Globex Rival")
    text = ["ACME contre Globex Rival"]
    first = EntityExtractor.for_tenant(a)
    assert EntityExtractor.for_tenant(a) is first  # nothing changed: the cached ruler
    assert spans(text[0], first.extract(text, ["fr"], [""])[0]) == [("BRAND", "Acme", "ruler")]
    assert [e["term_id"] for e in first.extract(text, ["fr"], [""])[0]] == [world.a.entity_term.pk]
    rival = entity_term_save(a, actor=None, kind="competitor", name="Globex Rival", patterns=["GlobexRival"])
    second = EntityExtractor.for_tenant(a)
    assert second is not first
    assert [e["term_id"] for e in second.extract(text, ["fr"], [""])[0]] == [world.a.entity_term.pk, rival.pk]
    entity_term_delete(a, actor=None, term_id=rival.pk)
    assert spans(text[0], EntityExtractor.for_tenant(a).extract(text, ["fr"], [""])[0]) == [("BRAND", "Acme", "ruler")]


def test_entity_term_save_refuses_bad_input_with_field_errors(world):
    a = world.a.tenant.pk
    for kwargs, field in (({"kind": "brand", "name": "acme"}, "name"),  # exists (case ignored)
                          ({"kind": "brand", "name": "  "}, "name"),
                          ({"kind": "planet", "name": "Mars"}, "kind"),
                          ({"kind": "product", "name": "Lampe", "patterns": ["!!"]}, "patterns")):
        with pytest.raises(ValidationError) as refused:
            entity_term_save(a, actor=None, **kwargs)
        assert field in refused.value.message_dict, kwargs
    term = entity_term_save(a, actor=None, kind="product", name="Lampe Opaline",
                            patterns=[" Opaline lamp ", "", "lampe opaline", "Opaline lamp"])
    assert term.patterns == ["Opaline lamp"]  # trimmed, blank, the name itself and repeats dropped
    with tenant_context(a):
        assert EntityTerm.objects.filter(tenant_id=a).count() == 2


def test_ner_spans_without_a_letter_are_dropped():
    from types import SimpleNamespace

    from listening.nlp.entities import _merge

    spans = [SimpleNamespace(label_="MISC", text="📞 #", start_char=10, end_char=13),
             SimpleNamespace(label_="LOC", text="Lyon", start_char=20, end_char=24)]
    assert [e["text"] for e in _merge([], spans)] == ["Lyon"]

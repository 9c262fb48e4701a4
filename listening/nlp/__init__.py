"""NLP for mentions: offline language detection, social-media normalisation, lookup-table
lemmas, a per-language scikit-learn sentiment model (``sentiment.py``), irony cues, the tenant's
topics and entities, corrections and tenant models; ``pipeline.analyze`` runs them over a batch.

Nothing here downloads anything at run time: the spaCy French model (NER), the lemma tables,
the language-identification model and the VADER lexicon all come from PyPI packages.
"""

from listening.nlp.langdetect import detect_language
from listening.nlp.sentiment import (
    ModelCorruptError,
    ModelIncompatibleError,
    ModelMissingError,
    ModelUnavailableError,
    Prediction,
    SentimentModel,
    load_model,
    predict_texts,
)

__all__ = [
    "ModelCorruptError",
    "ModelIncompatibleError",
    "ModelMissingError",
    "ModelUnavailableError",
    "Prediction",
    "SentimentModel",
    "detect_language",
    "load_model",
    "predict_texts",
]

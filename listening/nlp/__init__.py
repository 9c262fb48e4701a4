"""NLP for mentions: offline language detection, social-media normalisation, spaCy lemmas and
a per-language scikit-learn sentiment model (see ``sentiment.py``).

Nothing here downloads anything at run time: the spaCy French model, the English lemma tables,
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

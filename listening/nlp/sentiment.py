"""Per-language sentiment model: negative / neutral / positive with a probability per class.

One ``SentimentModel`` owns the whole chain (normalisation -> spaCy lemmas with negation
marking -> TF-IDF word 1-2 grams on lemmas + char_wb 2-5 grams -> class-balanced logistic
regression). The artefact carries its version (``sentiment-<lang>-<YYYYMMDD>-<datahash8>``)
and the SHA-256 of its training data; it is written atomically (temp file + rename) and loaded
once per process (``load_model`` caches on path + mtime + size).

A missing or unreadable artefact raises ``ModelMissingError`` / ``ModelCorruptError`` (both
``ModelUnavailableError``): the ingestion pipeline catches that, stores mentions untagged and
backfills them once a model exists.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from listening.nlp.data import LABELS, ROOT, data_hash
from listening.nlp.normalize import normalize
from listening.nlp.tokenize import lemma_documents

ARTEFACT_FORMAT = 1
DEFAULT_SEED = 20170205
VECTORISE_BATCH = 1000  # texts per spaCy/TF-IDF batch at prediction time: bounded memory
# Chosen by 3-fold cross-validation on the TRAIN split only (see eval_nlp / the report).
DEFAULT_C = {"en": 0.5, "fr": 2.0}


class ModelUnavailableError(RuntimeError):
    """No usable sentiment model: store the mention untagged and backfill later."""


class ModelMissingError(ModelUnavailableError):
    pass


class ModelCorruptError(ModelUnavailableError):
    pass


class ModelIncompatibleError(ModelCorruptError):
    """Trained with another scikit-learn minor version: pickles are not portable across them."""


def model_dir() -> Path:
    if os.environ.get("NLP_MODEL_DIR"):
        return Path(os.environ["NLP_MODEL_DIR"])
    return Path(os.environ.get("SOCIAL_CRM_VAR", ROOT / "var")) / "models"


def model_path(lang: str, directory: Path | None = None) -> Path:
    return Path(directory or model_dir()) / f"sentiment-{lang}.pkl"


@dataclass(frozen=True)
class Prediction:
    language: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    model_version: str

    def as_dict(self) -> dict:
        return {
            "language": self.language,
            "label": self.label,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "model_version": self.model_version,
        }


@dataclass
class SentimentModel:
    lang: str
    version: str = ""
    data_hash: str = ""
    trained_at: str = ""
    seed: int = DEFAULT_SEED
    params: dict = field(default_factory=dict)
    word_vectorizer: object = None
    char_vectorizer: object = None
    classifier: object = None

    # -- features -----------------------------------------------------------------------
    def _features(self, texts: list[str], fit: bool = False):
        from scipy.sparse import hstack

        normalized = [normalize(t) for t in texts]
        lemmas = lemma_documents(normalized, self.lang)
        if fit:
            words = self.word_vectorizer.fit_transform(lemmas)
            chars = self.char_vectorizer.fit_transform(normalized)
        else:
            words = self.word_vectorizer.transform(lemmas)
            chars = self.char_vectorizer.transform(normalized)
        return hstack([words, chars]).tocsr()

    # -- training -----------------------------------------------------------------------
    @classmethod
    def train(cls, lang: str, texts: list[str], labels: list[int], *, seed: int = DEFAULT_SEED,
              C: float | None = None, sample_weight: list[float] | None = None,
              today: dt.date | None = None) -> SentimentModel:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        C = DEFAULT_C.get(lang, 1.0) if C is None else C
        digest = data_hash(texts, labels)
        today = today or dt.datetime.now(dt.UTC).date()
        model = cls(
            lang=lang,
            version=f"sentiment-{lang}-{today:%Y%m%d}-{digest[:8]}",
            data_hash=digest,
            trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            seed=seed,
            params={"C": C, "n_train": len(texts), "weighted": sample_weight is not None},
            word_vectorizer=TfidfVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2),
                                            min_df=2, max_features=150_000, sublinear_tf=True),
            char_vectorizer=TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                            max_features=300_000, sublinear_tf=True),
            classifier=LogisticRegression(C=C, class_weight="balanced", max_iter=3000,
                                          random_state=seed),
        )
        features = model._features(texts, fit=True)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        model.classifier.fit(features, np.asarray(labels), sample_weight=weights)
        return model

    # -- prediction ---------------------------------------------------------------------
    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Rows of (negative, neutral, positive) probabilities, in batches."""
        out = np.zeros((len(texts), len(LABELS)))
        columns = [int(c) for c in self.classifier.classes_]
        for start in range(0, len(texts), VECTORISE_BATCH):
            batch = texts[start:start + VECTORISE_BATCH]
            out[start:start + len(batch), columns] = self.classifier.predict_proba(self._features(batch))
        return out

    def predict(self, texts: list[str], languages: list[str] | None = None) -> list[Prediction]:
        """One ``Prediction`` per text, in order. Empty texts -> neutral, confidence 1/3."""
        languages = languages or [self.lang] * len(texts)
        non_empty = [i for i, t in enumerate(texts) if normalize(t or "")]
        probs = self.predict_proba([texts[i] for i in non_empty]) if non_empty else np.zeros((0, 3))
        rows = {i: p for i, p in zip(non_empty, probs)}
        uniform = np.full(len(LABELS), 1 / len(LABELS))
        results = []
        for i, lang in enumerate(languages):
            row = rows.get(i)
            if row is None:
                label, row = "neutral", uniform
            else:
                label = LABELS[int(np.argmax(row))]
            results.append(Prediction(
                language=lang,
                label=label,
                confidence=round(float(row.max()), 4),
                probabilities={name: round(float(p), 4) for name, p in zip(LABELS, row)},
                model_version=self.version,
            ))
        return results

    # -- persistence --------------------------------------------------------------------
    def save(self, path: Path | None = None) -> Path:
        """Write atomically: a reader sees the old artefact or the new one, never half of one."""
        import sklearn

        path = Path(path or model_path(self.lang))
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": ARTEFACT_FORMAT, "sklearn_version": sklearn.__version__,
                   "model": self.__dict__.copy()}
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600; workers may run as another user
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: Path) -> SentimentModel:
        path = Path(path)
        if not path.is_file():
            raise ModelMissingError(f"no sentiment model at {path}: run `manage.py train_sentiment`")
        try:
            # Our own artefact from var/models (never user-supplied), hence pickle.
            with path.open("rb") as fh:
                payload = pickle.load(fh)
            if not isinstance(payload, dict) or payload.get("format") != ARTEFACT_FORMAT:
                raise ValueError("unknown artefact format")
            _check_sklearn_version(path, payload.get("sklearn_version", ""))
            model = cls(**payload["model"])
            if not model.version or model.classifier is None:
                raise ValueError("artefact without version or classifier")
        except ModelUnavailableError:
            raise
        except Exception as exc:  # any unpickling failure means the same thing to the caller
            raise ModelCorruptError(f"unreadable sentiment model at {path}: {exc!r}") from exc
        return model


def _check_sklearn_version(path: Path, trained_with: str) -> None:
    import sklearn

    if trained_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelIncompatibleError(
            f"{path} was trained with scikit-learn {trained_with or '?'}, this is "
            f"{sklearn.__version__}: retrain with `manage.py train_sentiment`"
        )


_cache: dict[Path, tuple[tuple[int, int], SentimentModel]] = {}
_cache_lock = threading.Lock()


def load_model(lang: str, directory: Path | None = None) -> SentimentModel:
    """The model for ``lang``, loaded once per process (reloaded only if the file changes)."""
    path = model_path(lang, directory).resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ModelMissingError(f"no sentiment model at {path}: run `manage.py train_sentiment`") from None
    key = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached and cached[0] == key:
            return cached[1]
        model = SentimentModel.load(path)
        _cache[path] = (key, model)
        return model


def predict_texts(texts: list[str], lang: str | None = None, directory: Path | None = None) -> list[Prediction]:
    """Predictions in input order. Without ``lang`` each text's language is detected; posts in
    another language are scored with the English model and reported as ``other``."""
    from listening.nlp.langdetect import detect_language

    languages = [lang] * len(texts) if lang else [detect_language(t) for t in texts]
    results: list[Prediction | None] = [None] * len(texts)
    for model_lang in ("fr", "en"):
        idx = [i for i, l in enumerate(languages) if (l == "fr") == (model_lang == "fr")]
        if not idx:
            continue
        model = load_model(model_lang, directory)
        for i, pred in zip(idx, model.predict([texts[i] for i in idx], [languages[i] for i in idx])):
            results[i] = pred
    return results  # type: ignore[return-value]

"""Validation metrics for the sentiment models, and the VADER baseline for English."""

from __future__ import annotations

from listening.nlp.data import LABELS

VADER_THRESHOLD = 0.05  # VADER authors' recommended compound-score cut-offs


def metrics(y_true: list[int], y_pred: list[int]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    per_class = recall_score(y_true, y_pred, labels=[0, 1, 2], average=None, zero_division=0)
    return {
        "macro_recall": float(recall_score(y_true, y_pred, labels=[0, 1, 2], average="macro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=[0, 1, 2], average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "recall": {name: float(r) for name, r in zip(LABELS, per_class)},
    }


def vader_predict(texts: list[str]) -> list[int]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        out.append(2 if compound >= VADER_THRESHOLD else 0 if compound <= -VADER_THRESHOLD else 1)
    return out


def format_table(rows: list[tuple[str, str, int, dict]]) -> str:
    header = f"{'lang':<5}{'model':<34}{'n':>6}{'macroR':>8}{'macroF1':>8}{'acc':>7}{'R_neg':>7}{'R_neu':>7}{'R_pos':>7}"
    lines = [header, "-" * len(header)]
    for lang, name, n, m in rows:
        r = m["recall"]
        lines.append(f"{lang:<5}{name:<34}{n:>6}{m['macro_recall']:>8.3f}{m['macro_f1']:>8.3f}{m['accuracy']:>7.3f}"
                     f"{r['negative']:>7.3f}{r['neutral']:>7.3f}{r['positive']:>7.3f}")
    return "\n".join(lines)

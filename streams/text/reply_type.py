"""Reply types (on-site action, legal/policy explanation, both, neither): the entry point.

`classify_reply` / `classify_replies` use the shipped learned model (streams/text/reply_model.py:
character n-grams plus the rules' cues; it beat the rules on the blind gold set, docs/text.md);
`classify_reply_rules` and `reply_cues` are the rules themselves (streams/text/reply_rules.py).
"""
from __future__ import annotations

from .reply_rules import REPLY_TYPES, classify_reply_rules, clean_reply, reply_cues

__all__ = ["REPLY_TYPES", "classify_replies", "classify_reply", "classify_reply_rules", "clean_reply", "reply_cues"]

# The shipped learned model (streams/text/data/reply_model.npz), loaded once on first use.
_MODELS: dict = {}


def _model(path: str | None = None):
    key = path or ""
    m = _MODELS.get(key)
    if m is None:
        from .reply_model import ReplyModel

        m = _MODELS[key] = ReplyModel.load(path)
    return m


def classify_replies(texts: list[str | None], model_path: str | None = None) -> list[tuple[str, float]]:
    """(reply type, confidence) per text, in order, from the learned model (the shipped one
    unless ``model_path``); the confidence is the model's probability of that type."""
    return [(p.reply_type, p.confidence) for p in _model(model_path).predict(texts)]


def classify_reply(text: str | None) -> str:
    """One of REPLY_TYPES for an official reply text (None/empty → "neither"), by the shipped
    learned model (it beat the rules on the blind gold set, see docs/text.md)."""
    return _model().predict([text])[0].reply_type

"""Rights claim (权利诉求) of a ticket, through the taxonomy with text cues as a fallback.

Order of evidence, strongest first:

1. a known (item, subcategory) with its own rights_claim in schemas/taxonomy.json;
2. a known item without a usable subcategory: a subcategory whose name occurs in the text
   (e.g. 城市管理 + "噪音扰民" → 环境权), else the item's rights_claim;
3. item missing, unknown or the fallback item (其他): keyword cues in the text
   (streams/text/data/rights_cues.json), scored like the lexicon classifier;
4. nothing: the fallback item's rights_claim.

The taxonomy is data written by another module; this code reads only the documented
structure {"items": [{"name", "rights_claim", "subcategories": [{"name", "rights_claim"?}]}],
"rights_claims": [...], "fallback_item": "其他"} and accepts rights_claims given either as
strings or as {"name": ...} objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .segment import normalize

__all__ = ["RightsTaxonomy", "load_rights_taxonomy", "rights_claim", "rights_from_text"]

_TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "schemas" / "taxonomy.json"


@dataclass(frozen=True)
class RightsTaxonomy:
    claims: tuple[str, ...]
    item_claim: dict[str, str]
    sub_claim: dict[tuple[str, str], str]
    subcategories: dict[str, tuple[str, ...]]
    fallback_item: str

    @property
    def default_claim(self) -> str:
        return self.item_claim.get(self.fallback_item) or (self.claims[0] if self.claims else "其他")


def parse_taxonomy(doc: dict) -> RightsTaxonomy:
    claims = tuple(c["name"] if isinstance(c, dict) else str(c) for c in doc.get("rights_claims", []))
    item_claim, sub_claim, subs = {}, {}, {}
    for item in doc.get("items", []):
        name = item["name"]
        if item.get("rights_claim"):
            item_claim[name] = item["rights_claim"]
        names = []
        for sub in item.get("subcategories", []) or []:
            names.append(sub["name"])
            if sub.get("rights_claim"):
                sub_claim[(name, sub["name"])] = sub["rights_claim"]
        subs[name] = tuple(names)
    return RightsTaxonomy(claims, item_claim, sub_claim, subs, doc.get("fallback_item", "其他"))


@lru_cache(maxsize=4)
def load_rights_taxonomy(path: str | None = None) -> RightsTaxonomy:
    p = Path(path) if path else _TAXONOMY_PATH
    with open(p, encoding="utf-8") as fh:
        return parse_taxonomy(json.load(fh))


@lru_cache(maxsize=1)
def _cues() -> dict[str, list[str]]:
    raw = (resources.files("streams.text") / "data" / "rights_cues.json").read_text(encoding="utf-8")
    return json.loads(raw)["claims"]


@lru_cache(maxsize=1)
def _weighted_cues() -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    return tuple((claim, tuple((w, 1.0 + 0.25 * max(0, len(w) - 2)) for w in words)) for claim, words in _cues().items())


def rights_from_text(text: str | None, claims: tuple[str, ...] | None = None) -> str | None:
    """The rights claim whose cue words occur most in the text (None when no cue matches)."""
    t = normalize(text)[:3000]
    if not t:
        return None
    # A word whose first or last character is not in the text occurs 0 times: most of the 96 cue
    # words, so most str.count scans (each one over the whole text) are skipped. Skipping a zero
    # term leaves each float sum as it was. Real complaints (tipdm): ~70 -> ~35 us.
    chars = set(t)
    best, best_score = None, 0.0
    for claim, words in _weighted_cues():
        if claims and claim not in claims:
            continue
        score = sum(t.count(w) * weight for w, weight in words if w[0] in chars and w[-1] in chars)
        if score > best_score:
            best, best_score = claim, score
    return best


def rights_claim(item: str | None, subcategory: str | None = None, text: str | None = None,
                 taxonomy: RightsTaxonomy | None = None) -> str:
    """Rights claim for a ticket; always one of the taxonomy's claims (or its default)."""
    tax = taxonomy or load_rights_taxonomy()
    known_item = item if item in tax.item_claim or item in tax.subcategories else None
    if known_item and known_item != tax.fallback_item:
        if subcategory and (known_item, subcategory) in tax.sub_claim:
            return tax.sub_claim[(known_item, subcategory)]
        if not subcategory or subcategory not in tax.subcategories.get(known_item, ()):
            t = normalize(text)
            if t:
                # Longest subcategory name found in the text decides (e.g. 噪音扰民 under 城市管理).
                hits = [s for s in tax.subcategories.get(known_item, ()) if len(s) >= 2 and s in t]
                if hits:
                    sub = max(hits, key=len)
                    return tax.sub_claim.get((known_item, sub), tax.item_claim.get(known_item, tax.default_claim))
        return tax.item_claim.get(known_item, tax.default_claim)
    cue = rights_from_text(text, tax.claims or None)
    return cue or tax.default_claim

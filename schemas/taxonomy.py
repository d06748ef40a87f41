"""The taxonomy (schemas/taxonomy.json) as lookup tables.

Items, subcategories, rights claims, channels and districts are data, not code, so a city can
adapt them without touching the pipeline. Every label value the exporter publishes comes from
here, which is what keeps Prometheus label sets bounded.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

UNKNOWN = "其他"


def _key(text: str) -> str:
    # Platforms write "ＡＰＰ", "App ", "微信公众号" ... : compare on a folded form.
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


@dataclass(frozen=True)
class Taxonomy:
    items: tuple[str, ...]
    subcategories: dict[str, tuple[str, ...]]
    item_rights: dict[str, str]
    subcategory_rights: dict[tuple[str, str], str]
    rights_claims: tuple[str, ...]
    channels: tuple[str, ...]
    districts: tuple[str, ...]
    fallback_item: str
    _channel_alias: dict[str, str]
    _district_alias: dict[str, str]
    _item_alias: dict[str, str]

    def channel(self, raw: str | None) -> str:
        if not raw:
            return UNKNOWN
        return self._channel_alias.get(_key(raw), UNKNOWN)

    def district(self, raw: str | None) -> str:
        if not raw:
            return UNKNOWN
        k = _key(raw)
        hit = self._district_alias.get(k)
        if hit:
            return hit
        # "东莞市南城街道办事处" and the like: the longest alias contained in the text wins.
        best = ""
        for alias, name in self._district_alias.items():
            if len(alias) >= 2 and alias in k and len(alias) > len(best):
                best, hit = alias, name
        return hit or UNKNOWN

    def item(self, raw: str | None) -> str | None:
        """The taxonomy's name for a given item, or None when the platform's item is not ours."""
        if not raw:
            return None
        return self._item_alias.get(_key(raw))

    def subcategory(self, item: str, raw: str | None) -> str:
        if raw:
            k = _key(raw)
            for sub in self.subcategories.get(item, ()):
                if _key(sub) == k:
                    return sub
        return UNKNOWN

    def rights_claim(self, item: str, subcategory: str | None = None) -> str:
        if subcategory:
            hit = self.subcategory_rights.get((item, subcategory))
            if hit:
                return hit
        return self.item_rights.get(item, self.item_rights.get(self.fallback_item, self.rights_claims[0]))


def from_dict(doc: dict) -> Taxonomy:
    items, subs, item_rights, sub_rights, item_alias = [], {}, {}, {}, {}
    for it in doc["items"]:
        name = it["name"]
        items.append(name)
        item_rights[name] = it["rights_claim"]
        item_alias[_key(name)] = name
        for alias in it.get("aliases", ()):
            item_alias[_key(alias)] = name
        names = []
        for sub in it.get("subcategories", ()):
            names.append(sub["name"])
            if sub.get("rights_claim"):
                sub_rights[(name, sub["name"])] = sub["rights_claim"]
        subs[name] = tuple(names)
    channels, channel_alias = [], {}
    for ch in doc["channels"]:
        channels.append(ch["name"])
        channel_alias[_key(ch["name"])] = ch["name"]
        for alias in ch.get("aliases", ()):
            channel_alias[_key(alias)] = ch["name"]
    districts, district_alias = [], {}
    for d in doc["districts"]:
        districts.append(d["name"])
        district_alias[_key(d["name"])] = d["name"]
        for alias in d.get("aliases", ()):
            district_alias[_key(alias)] = d["name"]
    fallback = doc.get("fallback_item", UNKNOWN)
    if fallback not in items:
        raise ValueError(f"taxonomy: fallback item {fallback!r} is not an item")
    claims = tuple(c["name"] for c in doc["rights_claims"])
    for name, claim in list(item_rights.items()) + list(sub_rights.items()):
        if claim not in claims:
            raise ValueError(f"taxonomy: {name!r} maps to unknown rights claim {claim!r}")
    if UNKNOWN not in channels:
        channels.append(UNKNOWN)
    if UNKNOWN not in districts:
        districts.append(UNKNOWN)
    return Taxonomy(
        items=tuple(items), subcategories=subs, item_rights=item_rights, subcategory_rights=sub_rights,
        rights_claims=claims, channels=tuple(channels), districts=tuple(districts), fallback_item=fallback,
        _channel_alias=channel_alias, _district_alias=district_alias, _item_alias=item_alias,
    )


@lru_cache(maxsize=None)
def load_taxonomy(path: str | None = None) -> Taxonomy:
    if path:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    else:
        doc = json.loads(resources.files("schemas").joinpath("taxonomy.json").read_text(encoding="utf-8"))
    return from_dict(doc)

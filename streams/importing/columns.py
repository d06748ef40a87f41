"""Column headers of 12345 / 政务留言 exports -> the fields the importer fills.

Headers are compared on a folded form (NFKC, no spaces, no '*' marks of required columns, no
bracketed units such as '（必填）'), so '工单编号 ', '*工单编号' and '工单编号(必填)' all match.
Within a field the aliases are listed most specific first; when an export has two columns for one
field (来源渠道 and 来源), the earlier alias wins and the other column is reported as unused.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# field -> header aliases. The contract's own names come last so contract-shaped JSON lines and
# the tipdm2020 files (id, user, created_at) import without a mapping too.
ALIASES: dict[str, tuple[str, ...]] = {
    "ticket_id": ("工单编号", "工单号", "留言编号", "编号", "ticket_id", "id"),
    "received_at": ("受理时间", "来电时间", "留言时间", "创建时间", "received_at", "created_at"),
    "content": ("诉求内容", "来电内容", "留言详情", "问题描述", "留言内容", "content"),
    "title": ("标题", "留言主题", "留言标题", "诉求标题", "title"),
    "reply": ("答复意见", "办理结果", "回复内容", "处理结果", "答复内容", "reply"),
    "replied_at": ("答复时间", "办结时间", "回复时间", "replied_at"),
    "channel": ("来源渠道", "渠道", "来源", "受理渠道", "channel"),
    "district": ("所属镇街", "镇街", "区域", "所属区县", "district"),
    "category": ("诉求类型", "一级分类", "事项分类", "一级标签", "category", "item"),
    "subcategory": ("二级分类", "二级标签", "subcategory"),
    "department": ("承办单位", "办理单位", "承办部门", "department"),
    "satisfaction": ("满意度", "评价结果", "回访满意度", "satisfaction"),
    "evaluated_at": ("评价时间", "回访时间", "evaluated_at"),
    "withdrawn": ("撤件", "是否撤销", "是否撤件", "withdrawn"),
    "withdrawn_at": ("撤件时间", "撤销时间", "withdrawn_at"),
    "caller": ("来电号码", "联系电话", "留言用户", "caller", "user", "phone"),
}
FIELDS = tuple(ALIASES)
# Without these a row is no ticket; content may come from the title (see rows.py).
REQUIRED = ("ticket_id", "received_at")
ONE_OF = ("content", "title")

_MARKS = re.compile(r"[\s*＊:：]|[（(【\[].*?[）)】\]]")


def fold(header: object) -> str:
    s = unicodedata.normalize("NFKC", "" if header is None else str(header)).lower()
    return _MARKS.sub("", s)


_BY_ALIAS = {fold(a): (field, rank) for field, aliases in ALIASES.items() for rank, a in enumerate(aliases)}


@dataclass(frozen=True)
class ColumnMap:
    headers: tuple[str, ...]
    columns: dict[str, int]  # field -> column index
    unused: tuple[str, ...]

    def describe(self) -> str:
        used = ", ".join(f"{self.headers[i]}→{f}" for f, i in sorted(self.columns.items(), key=lambda kv: kv[1]))
        return used + (f"; not used: {', '.join(self.unused)}" if self.unused else "")


def recognised(headers: list[object]) -> int:
    """How many cells of a row are known headers: finds the header row under a title row."""
    return sum(fold(h) in _BY_ALIAS for h in headers if h is not None)


def parse_map(pairs: list[str]) -> dict[str, str]:
    """--map 'COLUMN=field' ... -> {folded column: field}."""
    out = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip():
            raise ValueError(f"--map {pair!r}: expected COLUMN=field, e.g. --map 诉求描述=content")
        if field not in FIELDS:
            raise ValueError(f"--map {pair!r}: unknown field {field!r}; fields are {', '.join(FIELDS)}")
        out[fold(column)] = field
    return out


def recognise(headers: list[object], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map a header row to fields. Raises ValueError naming the headers seen when a required field
    has no column, or when --map names a column the file does not have."""
    names = tuple("" if h is None else str(h).strip() for h in headers)
    folded = [fold(h) for h in names]
    overrides = overrides or {}
    missing_map = [c for c in overrides if c not in folded]
    if missing_map:
        raise ValueError(f"--map names column(s) {', '.join(missing_map)} that the file does not have; "
                         f"its headers are: {', '.join(n for n in names if n)}")
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, index); --map ranks before every alias
    for i, key in enumerate(folded):
        if key in overrides:
            field, rank = overrides[key], -1
        elif key in _BY_ALIAS:
            field, rank = _BY_ALIAS[key]
        else:
            continue
        if field not in best or rank < best[field][0]:
            best[field] = (rank, i)
    columns = {f: i for f, (_, i) in best.items()}
    lacking = [f for f in REQUIRED if f not in columns]
    if not any(f in columns for f in ONE_OF):
        lacking.append("content (or title)")
    if lacking:
        hints = "; ".join(f"{f}: {' / '.join(ALIASES[f.split()[0]][:4])}" for f in lacking)
        raise ValueError(f"no column for {', '.join(lacking)} (expected headers such as {hints}); "
                         f"the file's headers are: {', '.join(n for n in names if n) or '(none)'}. "
                         f"Name the column with --map HEADER=field")
    used = set(columns.values())
    unused = tuple(n for i, n in enumerate(names) if n and i not in used)
    return ColumnMap(names, columns, unused)

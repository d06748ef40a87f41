"""The reply-type rules: phrase cues for on-site action and legal/policy explanation.

The learned model (reply_model.py) uses these cues as features; streams/text/reply_type.py is
the entry point. Classify an official reply as on-site action, legal/policy explanation, both, or neither.

Definitions (the gold set streams/text/data/reply_labels.jsonl was labelled by reading each
reply against these, see docs/text.md):

* onsite – the handling body (or one it directed) acted on the ground or with the parties
  for this case: went to / inspected / verified the site, visited people, met or summoned
  the parties (约谈, 协调会), enforced (查处, 责令整改, 下达整改通知), dispatched staff, or
  physically fixed the problem.  Phone calls and desk checks of records do not count.
* explanation – the reply tells the citizen the applicable law, regulation, policy document,
  eligibility conditions, standards or the official procedure (根据《…》, 第…条, 文件号, 政策
  规定, 申请条件/需提供材料 …).  Platitudes such as 依法依规 do not count.
* both / neither – as named; acknowledgements (已收悉) and transfers (已转…) are neither.

Implementation: phrase regexes over the normalised reply, plus a jieba-token cue set for
single-word cues (so that a cue must be a whole word, e.g. 走访 but not inside other words).
Transfer/acknowledgement boilerplate is removed first so that it cannot trigger cues.
"""

from __future__ import annotations

import re
from typing import Sequence

from .segment import find_words, normalize, normalize_all

__all__ = ["REPLY_TYPES", "classify_reply_rules", "clean_replies", "clean_reply", "reply_cues"]

REPLY_TYPES = ("onsite", "explanation", "both", "neither")

# ---- on-site action --------------------------------------------------------------------
# Texts are NFKC-normalised, so punctuation is ASCII (",", ";", "!", "?") as well as 。、.
_NP = r"[^,;!?。，；！？]"  # "no clause break"
_SITE_VERB = r"(?:核实|核查|查看|察看|查勘|勘查|勘察|踏勘|检查|调查|督查|督导|处警|了解|办公|协调|制止|处理|处置|取证|测量|监测|检测|蹲守|巡查)"
_NOT_ARRIVE = r"(?<![接收受遇感得直达做提看听转报送请可])"
# "到…大厅进行现场挂失/办理": an instruction to the citizen, not an action of the office.
_CITIZEN_ACT = r"(?:进行)?(?:挂失|办理|咨询|申请|报名|缴费|审核|确认)"
# Strong: the text itself says somebody went there / met the parties / enforced.
_ONSITE_STRONG = [
    rf"现场{_SITE_VERB}|现场(?:我们|发现|检查时)",
    rf"{_NOT_ARRIVE}(?:到|赴|至|前往|赶赴|赶至|赶到|深入|抵达|到达)(?:了)?(?:事发)?现场(?!{_CITIZEN_ACT})",
    rf"{_NOT_ARRIVE}(?:到|赴|至|前往|深入)(?!相关|有关|部门|您|你|我)(?:{_NP}(?!部门)){{1,30}}?(?:现场|实地|调查|了解|核实|核查|查看|检查)(?!{_CITIZEN_ACT})",
    rf"实地{_SITE_VERB}|实地考察|实地走访",
    r"走访",
    r"上门(?:劝|走访|了解|调查|查看|检查|服务|批评|做|宣传|处理|教育)",
    r"约谈|警示谈话|调查谈话",
    rf"责令|责成{_NP}{{0,20}}(?:整改|改正|停|拆|退|处理)",
    rf"下达(?:了)?{_NP}{{0,16}}(?:通知书|指令书|决定书|建议书|文书|整改通知)|整改通知书|停业整顿",
    rf"执法(?:人员|队员|大队|中队|支队)?{_NP}{{0,8}}(?:前往|对|开展|检查|行动|查处)|联合执法|执法检查|突击检查",
    r"立案(?:查处|调查)|暂扣|查扣",
    rf"出警|民警{_NP}{{0,6}}(?:赶|到|前往|出)",
    r"蹲点|巡河|夜巡",
]
# Weak: dispatching, convening, supervising or fixing, without saying where it happened.
_ONSITE_WEAK = [
    rf"(?:派|指派|安排|组织|抽调|委派)(?:了)?(?:出)?(?:专人|专业人员|人员|工作人员|执法人员|民警|技术人员|相关人员|干部|渔政|监察){_NP}{{0,12}}(?:到|赴|前往|进行|对|现场|调查|核实|查看|处理|整改|安装|维修|了解|核查|检查)",
    rf"召集{_NP}{{0,30}}(?:公司|单位|业主|双方|负责人|当事人|村民|代表|经营户|物业)",
    rf"(?:组织|召开){_NP}{{0,30}}(?:协调会|座谈会|现场会)|协调会",
    rf"(?:组织|召开|牵头){_NP}{{0,30}}(?:物业|业主|双方|开发商|当事人|代表){_NP}{{0,8}}会议",
    rf"督促{_NP}{{0,20}}(?:整改|维修|修复|清理|拆除|改正)",
    rf"(?:已|已经|现已|立即|及时){_NP}{{0,10}}(?:整改到位|维修|修复|抢修|修缮|清运|清理|拆除|更换|安装|加装|铺垫|疏通|修好)",
    r"集中(?:整治|治理)|整治行动",
    rf"(?:已|已经)(?:{_NP}){{0,10}}?(?:加强|加大|增大)(?:{_NP}){{0,20}}?(?:巡逻|管控|巡查|执法|整治)",
    r"(?:进行|开展)(?:了)?(?:综合|集中|专项)(?:整治|治理)",
]

# ---- legal / policy explanation -----------------------------------------------------------
_DOC = r"《[^》]{2,60}》"
_NUM = r"[一二三四五六七八九十百零0-9]+"
# Strong: names the law/policy/article or states the rule, conditions or procedure.
_EXPLAIN_STRONG = [
    rf"(?:根据|依据|依照|按照|参照|对照|遵照|违反|不符合)(?:{_NP}){{0,30}}?{_DOC}",
    rf"{_DOC}{_NP}{{0,20}}(?:规定|明确|第{_NUM}条|精神)",
    rf"(?:根据|依据|依照|按照)(?:{_NP}){{0,30}}?(?:通知|意见|办法|规定|纪要|批复)(?:{_NP}){{0,6}}?(?:[〔\[【(（]\s*(?:19|20)\d\d\s*[〕\]】)）]|政府发文)",
    rf"第{_NUM}条",
    r"国务院令|令\s*第?\s*\d+\s*号|\d+\s*号令",
    r"(?:政策|法律|法规|文件|条例|办法)(?:规定|明确)|政策是|规定如下|政策如下",
    rf"(?:根据|依据|依照|按照)(?!{_NP}{{0,6}}(?:建议|意见|要求|部署|安排))(?!(?:相关|有关|国家|上级)?的?(?:规定|政策|法律|法规))(?:{_NP}){{0,24}}?(?:规定|政策|法律|法规|条例|办法|细则)",
    rf"(?:申请|受理|登记|参保|报考|入学|招生|领取|享受|救助|补贴|办证|准入|报名)(?:的)?条件|符合(?:以下|下列|上述)?(?:{_NP}){{0,10}}?条件",
    rf"(?:需|须|应|需要|请)(?:携带|持|提供|提交|带齐|准备)|可(?:携带|持)|(?:携带|带着|带齐)(?:{_NP}|,){{0,30}}?(?:到|至)(?:{_NP}){{0,30}}?办理|申报材料|所需材料|提交(?:的)?材料|办理(?:流程|程序)|(?:须|需|应当?)(?:依法)?办理{_NP}{{0,12}}手续",
    rf"报销比例|补贴标准|缴费标准|市场调节价|前提是|前题是|以(?:{_NP}){{0,20}}?为准",
    r"可以申请|可申请|可以领取|可领取|可以享受|可享受|方可受理",
]
# Weak: a document number or "according to the rules" without naming or stating them.
_EXPLAIN_WEAK = [
    r"[〔\[【(（]\s*(?:19|20)\d\d\s*[〕\]】)）]\s*\d+\s*号(?!文件已)|政府发文",
    rf"(?<!严格)(?:根据|依据|依照|按照)(?!{_NP}{{0,6}}(?:建议|意见|要求|部署|安排))(?:{_NP}){{0,24}}?(?:文件|标准|规范|原则)",
    # "according to the relevant rules" without saying which: a weak cue; "严格按照" is a promise.
    r"(?<!严格)(?:根据|依据|依照|按照)(?:相关|有关|国家|上级)?的?(?:规定|政策|法律|法规)",
    r"按(?:照)?政策",
    rf"属于{_NP}{{0,10}}(?:范畴|范围)",
]


def _rx(patterns: list[str]) -> re.Pattern:
    return _first_char_gate(re.compile("|".join(f"(?:{p})" for p in patterns)))


# Python's regex engine skips ahead quickly only for a pattern whose first item is a literal or a
# class; these alternations open with groups and lookbehinds, so every position of a reply tried
# every alternative (the four cue patterns: ~100 µs of a 360-character reply, a fifth of the
# real-text report). A lookahead for the characters a match can begin with, derived from the parsed
# pattern, changes no match and lets most positions fail at once (on-site strong 36 -> 7 µs).
def _first_char_gate(rx: re.Pattern) -> re.Pattern:
    import re._constants as c
    import re._parser as parser

    categories = {c.CATEGORY_DIGIT: r"\d", c.CATEGORY_NOT_DIGIT: r"\D", c.CATEGORY_SPACE: r"\s",
                  c.CATEGORY_NOT_SPACE: r"\S", c.CATEGORY_WORD: r"\w", c.CATEGORY_NOT_WORD: r"\W"}

    def seq(items) -> tuple[set[str] | None, bool]:
        """(class fragments a match of `items` can begin with, or None: anything; can it be empty)"""
        out: set[str] = set()
        for op, av in items:
            first, empty = one(op, av)
            if first is None:
                return None, False
            out |= first
            if not empty:
                return out, False
        return out, True

    def one(op, av) -> tuple[set[str] | None, bool]:
        if op is c.LITERAL:
            return {re.escape(chr(av))}, False
        if op is c.IN:
            out = set()
            for o, a in av:
                if o is c.LITERAL:
                    out.add(re.escape(chr(a)))
                elif o is c.RANGE:
                    out.add(f"{re.escape(chr(a[0]))}-{re.escape(chr(a[1]))}")
                elif o is c.CATEGORY and a in categories:
                    out.add(categories[a])
                else:  # a negated class, or anything unexpected: no gate
                    return None, False
            return out, False
        if op is c.BRANCH:
            out, empty = set(), False
            for branch in av[1]:
                first, e = seq(branch.data)
                if first is None:
                    return None, False
                out, empty = out | first, empty or e
            return out, empty
        if op is c.SUBPATTERN:
            return seq(av[3].data)
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            first, empty = seq(av[2].data)
            return (None, False) if first is None else (first, av[0] == 0 or empty)
        if op in (c.ASSERT, c.ASSERT_NOT, c.AT):  # zero-width: the next item begins the match
            return set(), True
        return None, False

    first, empty = seq(parser.parse(rx.pattern, rx.flags).data)
    if first is None or empty:
        return rx
    return re.compile(f"(?=[{''.join(sorted(first))}])(?:{rx.pattern})", rx.flags)


_ON_S, _ON_W = _rx(_ONSITE_STRONG), _rx(_ONSITE_WEAK)
_EX_S, _EX_W = _rx(_EXPLAIN_STRONG), _rx(_EXPLAIN_WEAK)

# Boilerplate that must not count as a cue: transfers, acknowledgements, sign-offs.
_BOILER = _first_char_gate(re.compile(
    r"(?:已|已经|现)?(?:转|转交|转至|交由|交办|移交|批转)[^,;!?。，；！？]{0,40}(?:调查|核实|核处|处理|办理|办复|答复|反馈|处置)[^,;!?。，；！？]{0,20}"
    r"|(?:留言|来信|来邮|信件|帖文?|问题|情况)[^,;!?。，；！？]{0,6}(?:已)?(?:收悉|获悉|阅悉|收到)"
    r"|如有(?:相关)?情况将及时(?:反馈|回复)"
))

# Whole-token cues (jieba) that regexes would match too loosely as substrings.
_ONSITE_TOKENS = frozenset({"走访", "约谈", "踏勘", "查勘", "蹲守", "出警"})


def clean_reply(text: str | None) -> str:
    """The reply normalised, with transfer/acknowledgement boilerplate replaced by 。 ("" if empty)."""
    t = normalize(text)
    return _BOILER.sub("。", t) if t else ""


def clean_replies(texts: Sequence[str | None]) -> list[str]:
    """``[clean_reply(t) for t in texts]``, normalising the batch in one pass (normalize_all)."""
    return [_BOILER.sub("。", t) if t else "" for t in normalize_all(texts)]


def _cues(text: str | None, cleaned: str | None = None) -> dict[str, list[str]]:
    """Cue matches of the reply; pass ``cleaned`` (clean_reply(text)) to skip cleaning again."""
    t = clean_reply(text) if cleaned is None else cleaned
    if not t:
        return {"onsite_strong": [], "onsite_weak": [], "explain_strong": [], "explain_weak": []}
    cues = {
        "onsite_strong": [m.group(0) for m in _ON_S.finditer(t)],
        "onsite_weak": [m.group(0) for m in _ON_W.finditer(t)],
        "explain_strong": [m.group(0) for m in _EX_S.finditer(t)],
        "explain_weak": [m.group(0) for m in _EX_W.finditer(t)],
    }
    if not cues["onsite_strong"] and len(t) < 3000:
        cues["onsite_strong"] = find_words(t, _ONSITE_TOKENS)  # exactly the cut() tokens, ~150x cheaper
    return cues


def reply_cues(text: str | None) -> tuple[list[str], list[str]]:
    """(on-site cues, explanation cues) found in a reply, strong ones first (for debugging/docs)."""
    c = _cues(text)
    return c["onsite_strong"] + c["onsite_weak"], c["explain_strong"] + c["explain_weak"]


def classify_reply_rules(text: str | None, cues: dict[str, list[str]] | None = None) -> str:
    """The hand-written rules: one of REPLY_TYPES for a reply text (None/empty → "neither").

    Decision: each side is strong (explicit cue) or weak (indirect cue, e.g. a bare document
    number or 按照…标准).  Either kind alone decides a side.  When both sides fire, "both" needs both sides
    strong; otherwise the strong side wins, and weak/weak counts as on-site (the rule mention
    then describes the basis of the action rather than explaining policy to the citizen).
    """
    c = _cues(text) if cues is None else cues
    on_s, on_w = bool(c["onsite_strong"]), bool(c["onsite_weak"])
    ex_s, ex_w = bool(c["explain_strong"]), len(c["explain_weak"]) >= 1
    on = on_s or on_w
    ex = ex_s or ex_w
    if on and (ex_s or ex_w):
        if on_s and ex_s:
            return "both"
        if ex_s and not on_s:
            return "explanation"
        return "onsite"
    if on:
        return "onsite"
    if ex:
        return "explanation"
    return "neither"

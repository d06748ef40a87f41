"""Classify an official reply as on-site action, legal/policy explanation, both, or neither.

Definitions (the gold set streams/text/data/reply_gold.jsonl was labelled by reading each
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

from .segment import cut, normalize

__all__ = ["REPLY_TYPES", "classify_reply", "reply_cues"]

REPLY_TYPES = ("onsite", "explanation", "both", "neither")

# ---- on-site action --------------------------------------------------------------------
_SITE_VERB = r"(?:核实|核查|查看|察看|查勘|勘查|勘察|踏勘|检查|调查|督查|督导|处警|了解|办公|协调|制止|处理|处置|取证|测量|监测|检测|蹲守|巡查)"
_ONSITE_PATTERNS = [
    rf"现场{_SITE_VERB}",
    r"(?:到|赴|至|前往|赶赴|赶至|赶到|深入|抵达|到达)(?:了)?(?:事发)?现场",
    r"(?:到|赴|至|前往|深入)[^，。；]{1,20}(?:现场|实地|调查|了解|核实|核查|查看|检查)",
    rf"实地{_SITE_VERB}|实地考察|实地走访",
    r"走访|上门|入户",
    r"约谈|警示谈话|调查谈话",
    r"责令|责成[^，。；]{0,20}(?:整改|改正|停|拆|退|处理)",
    r"下达(?:了)?[^，。；]{0,16}(?:通知书|指令书|决定书|建议书|文书|整改通知)|整改通知书?|停业整顿|停工",
    r"执法(?:人员|队员|大队|中队|支队)?[^，。；]{0,8}(?:前往|对|开展|进行|检查|行动|查处|整治)|联合执法|执法检查|突击检查|专项整治|集中整治|整治行动",
    r"立案(?:查处|调查)?|查处|查扣|收缴|暂扣|罚款|处罚|处分|通报批评",
    r"出警|民警[^，。；]{0,6}(?:赶|到|前往|出)",
    r"(?:派|指派|安排|组织|抽调|委派)(?:了)?(?:出)?(?:专人|专业人员|人员|工作人员|执法人员|民警|技术人员|相关人员|干部|渔政|监察)",
    r"(?:召集|组织|召开)[^，。；]{0,30}(?:协调会|座谈会|现场会|调度会|会议)|协调会",
    r"督促[^，。；]{0,20}(?:整改|维修|修复|清理|拆除|改正|落实)",
    r"(?:已|已经|现已|立即|及时)[^，。；]{0,10}(?:整改|维修|修复|抢修|修缮|清运|清理|拆除|更换|安装|加装|铺垫|疏通|修好|恢复)",
    r"(?:进行|开展)(?:了)?(?:调查|巡查|检查|排查|摸底)",
    r"巡逻|巡查|蹲点|摸底排查|调查核处后",
]
_ONSITE = re.compile("|".join(f"(?:{p})" for p in _ONSITE_PATTERNS))

# ---- legal / policy explanation -----------------------------------------------------------
_DOC = r"《[^》]{2,60}》"
_EXPLAIN_PATTERNS = [
    rf"(?:根据|依据|依照|按照|按|参照|对照|遵照|符合|违反|执行)[^，。；]{{0,30}}{_DOC}",
    rf"{_DOC}[^，。；]{{0,12}}(?:规定|明确|要求|第[一二三四五六七八九十百零\d]+条|文件|精神)",
    r"第[一二三四五六七八九十百零\d]+条",
    r"[〔\[【(（]\s*(?:19|20)\d\d\s*[〕\]】)）]\s*\d+\s*号|发\s*[〔\[【(（]?\s*(?:19|20)\d\d|政府发文",
    r"(?:根据|依据|依照|按照|按)[^，。；]{0,24}(?:规定|政策|法律|法规|条例|办法|细则|文件|通知|标准|规范|原则)",
    r"(?:政策|法律|法规|文件|条例|办法)(?:规定|明确|要求)",
    r"(?:规定|政策)[^，。；]{0,8}(?:如下|：|:)",
    r"(?:申请|受理|登记|参保|报考|入学|招生|领取|享受)(?:的)?条件|符合(?:以下|下列|上述)?[^，。；]{0,10}条件",
    r"(?:需|须|应|需要|请)(?:携带|持|提供|提交|带齐|准备)|申报材料|所需材料|提交(?:的)?材料|办理(?:流程|程序)",
    r"报销比例|补贴标准|收费标准|缴费标准|补助标准|市场调节价|属于[^，。；]{0,10}(?:范畴|范围|职责)|不属于",
    r"(?:民事|法律)(?:纠纷|途径|关系)|诉讼|仲裁|行政复议",
]
_EXPLAIN = re.compile("|".join(f"(?:{p})" for p in _EXPLAIN_PATTERNS))

# Boilerplate that must not count as a cue: transfers, acknowledgements, sign-offs.
_BOILER = re.compile(
    r"(?:已|已经|现)?(?:转|转交|转至|交由|交办|移交|批转)[^，。；！!]{0,40}(?:调查|核实|核处|处理|办理|办复|答复|反馈|处置)[^，。；！!]{0,20}"
    r"|(?:留言|来信|来邮|信件|帖文?|问题|情况)[^，。；！!]{0,6}(?:已)?(?:收悉|获悉|阅悉|收到)"
    r"|如有(?:相关)?情况将及时(?:反馈|回复)"
)

# Whole-token cues (jieba) that regexes would match too loosely as substrings.
_ONSITE_TOKENS = frozenset({"走访", "约谈", "勘查", "踏勘", "勘察", "查勘", "督查", "蹲守", "出警"})


def reply_cues(text: str | None) -> tuple[list[str], list[str]]:
    """The on-site and explanation cue strings found in a reply (for debugging and docs)."""
    t = normalize(text)
    if not t:
        return [], []
    t = _BOILER.sub("。", t)
    onsite = [m.group(0) for m in _ONSITE.finditer(t)]
    explain = [m.group(0) for m in _EXPLAIN.finditer(t)]
    if not onsite and len(t) < 2000:
        onsite = [w for w in cut(t) if w in _ONSITE_TOKENS]
    return onsite, explain


def classify_reply(text: str | None) -> str:
    """One of REPLY_TYPES for an official reply text (None/empty → "neither")."""
    onsite, explain = reply_cues(text)
    if onsite and explain:
        return "both"
    if onsite:
        return "onsite"
    if explain:
        return "explanation"
    return "neither"

"""Item classification throughput, segmentation and featurisation included, on one core.

    python bench/classify_speed.py [--model MODEL] [--repeat 10] [--generated N]
    python bench/classify_speed.py --task reply [--repeat 3]

Without --model a model is trained on the shared tipdm2020 train_tokens.jsonl.  Texts are the
tipdm dev messages (raw title + content, long: ~300 characters on average) repeated, or with
--generated, synthetic hotline-length tickets.  Prints tickets/s for the lexicon fallback and the
trained model.  Inputs are classified in batches of --batch (the stream consumer batches too).
With --task reply: replies/s of the shipped reply-type model on the tipdm replies, one call per
reply (as the worker's classify_reply) and in batches (as `hotline classify --task reply`), and
of the hand-written rules.
"""

from __future__ import annotations

import os

# One core: keep BLAS/OpenMP from spreading the sparse products over several threads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.text.datasets import read_jsonl, shared_file  # noqa: E402
from streams.text.items import ItemClassifier, LexiconClassifier  # noqa: E402
from streams.text.segment import get_tokenizer  # noqa: E402

_PIECES = ["小区", "物业", "噪音扰民", "拖欠工资", "违章停车", "学校", "补课", "收费", "公交", "路灯", "污水", "医院",
           "社保", "公积金", "施工", "夜间", "投诉", "请求", "处理", "严重", "影响", "居民", "楼下", "商铺", "油烟"]


def generated(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        title = "".join(rnd.choice(_PIECES) for _ in range(4)) + "问题"
        content = "，".join("".join(rnd.choice(_PIECES) for _ in range(5)) for _ in range(rnd.randint(4, 10))) + "。"
        rows.append({"title": title, "content": f"工单{i}：" + content})
    return rows


def rate(model, rows: list[dict], batch: int, passes: int) -> tuple[float, float]:
    """(best, median) tickets/s over ``passes`` runs; best is the least disturbed by other
    processes sharing the machine."""
    model.predict(rows[:batch])  # warm-up (lazy jieba load, allocations)
    rates = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch):
            model.predict(rows[i:i + batch])
        rates.append(len(rows) / (time.perf_counter() - t0))
    rates.sort()
    return rates[-1], rates[len(rates) // 2]


def reply_speed(repeat: int, batch: int, passes: int) -> int:
    from streams.text.reply_model import ReplyModel
    from streams.text.reply_type import classify_reply_rules

    texts = [r.get("reply") for r in read_jsonl(shared_file("messages_with_replies.jsonl"))] * repeat
    model = ReplyModel.load()
    get_tokenizer()
    avg = sum(len(t or "") for t in texts) / len(texts)
    print(f"inputs: tipdm replies x{repeat} ({len(texts)} replies, {avg:.0f} characters on average)")

    class _Rules:
        def predict(self, rows):
            return [classify_reply_rules(t) for t in rows]

    for name, m, b in (("rules, one call per reply", _Rules(), 1), ("learned model, one call per reply", model, 1),
                       (f"learned model, batches of {batch}", model, batch)):
        best, med = rate(m, texts, b, passes)
        print(f"{name:40s} {best:8.0f} replies/s (median of {passes} passes {med:.0f})")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="trained model file (default: train one on tipdm2020)")
    ap.add_argument("--repeat", type=int, default=10, help="times the dev set is repeated")
    ap.add_argument("--generated", type=int, default=0, help="use N generated tickets instead of dev texts")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--task", choices=("item", "reply"), default="item")
    args = ap.parse_args(argv)
    if args.task == "reply":
        return reply_speed(args.repeat, args.batch, args.passes)

    if args.model:
        model = ItemClassifier.load(args.model)
    else:
        t0 = time.perf_counter()
        model = ItemClassifier.train(read_jsonl(shared_file("train_tokens.jsonl")))
        print(f"trained in {time.perf_counter() - t0:.1f}s")
    if args.generated:
        rows, what = generated(args.generated), f"{args.generated} generated tickets"
    else:
        dev = list(read_jsonl(shared_file("dev_labeled.jsonl")))
        rows, what = dev * args.repeat, f"tipdm dev x{args.repeat} ({len(dev) * args.repeat} tickets)"
    avg = sum(len(r["title"]) + len(r["content"]) for r in rows) / len(rows)
    get_tokenizer()
    print(f"inputs: {what}, {avg:.0f} characters on average; batch {args.batch}")
    best, med = rate(LexiconClassifier(), rows, args.batch, args.passes)
    print(f"lexicon fallback: {best:8.0f} tickets/s (median of {args.passes} passes {med:.0f})")
    best, med = rate(model, rows, args.batch, args.passes)
    print(f"trained model:    {best:8.0f} tickets/s (median {med:.0f}) "
          f"(words from title + {model.word_content_chars} chars, characters from title + "
          f"{model.char_content_chars} chars, word block {'on' if model.word else 'off'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

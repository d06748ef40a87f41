"""`hotline import` of a million-row export: rows/s and peak RSS (it must stay bounded).

    python bench/import_memory.py [--rows 1000000] [--xlsx-rows 0] [--out DIR]

Writes a GB18030 CSV with a 12345 platform's Chinese headers (texts of typical length, 70 % replied,
40 % evaluated, 1 % withdrawn, in received order), imports it in a subprocess with `hotline import`
and prints the wall time, rows/s and the child's peak RSS. With --xlsx-rows N also an .xlsx of N
rows (openpyxl keeps the shared-string table in memory even in read-only mode, so that figure grows
with the distinct texts of the sheet).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ["工单编号", "受理时间", "来源渠道", "所属镇街", "诉求类型", "诉求内容", "办理结果", "办结时间", "满意度",
           "回访时间", "撤件", "来电号码"]
CHANNELS = ["热线", "微信公众号", "i莞家APP", "网站", "小程序"]
DISTRICTS = ["南城", "东城", "莞城", "万江", "虎门", "长安", "厚街", "塘厦", "常平", "凤岗"]
ITEMS = ["城市管理", "交通管理", "住房保障", "劳动保障", "市场监管", "环境保护", "教育", "医疗卫生"]
RATINGS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
PHRASES = ["小区门口长期有车辆违章停放", "晚上十点以后工地仍在施工噪音很大", "路灯损坏多日无人维修", "公司拖欠三个月工资",
           "楼下餐馆油烟直排", "学位申请材料不知如何提交", "公交站台遮雨棚破损", "垃圾桶满溢未及时清运"]
REPLIES = ["经现场核实，已责令相关单位整改。", "根据《东莞市物业管理条例》规定，现答复如下：", "已转交属地镇街处理，",
           "工作人员已上门查看并处理完毕。"]


def rows(n: int, seed: int = 12):
    rnd = random.Random(seed)
    t = datetime(2024, 1, 1)
    for i in range(n):
        t += timedelta(seconds=rnd.randint(1, 60))
        content = "".join(rnd.choice(PHRASES) + "，" for _ in range(rnd.randint(2, 8))) + "请尽快处理。"
        replied = rnd.random() < 0.70
        rt = t + timedelta(hours=rnd.randint(2, 400))
        evaluated = replied and rnd.random() < 0.57
        yield [f"DG2024{i:08d}", t.strftime("%Y-%m-%d %H:%M:%S"), rnd.choice(CHANNELS), rnd.choice(DISTRICTS),
               rnd.choice(ITEMS), content,
               "".join(rnd.choice(REPLIES) for _ in range(rnd.randint(1, 4))) if replied else "",
               rt.strftime("%Y-%m-%d %H:%M:%S") if replied else "",
               rnd.choice(RATINGS) if evaluated else "",
               (rt + timedelta(days=rnd.randint(1, 5))).strftime("%Y-%m-%d %H:%M:%S") if evaluated else "",
               "是" if rnd.random() < 0.01 else "否", f"13{rnd.randint(0, 10**9 - 1):09d}"]


def measure(path: Path, label: str, n: int) -> None:
    out = path.with_suffix(".events.jsonl")
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "streams.commands.cli", "import", str(path), "-o", str(out),
                                 "--no-progress"], cwd=ROOT, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the maximum over all children
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    peak = usage.ru_maxrss
    if proc.returncode != 0:
        sys.exit(stderr)
    summary = [ln for ln in stderr.splitlines() if ln.startswith(("rows read", "events written"))]
    print(f"{label}: {n:,} rows, {path.stat().st_size / 1e6:,.0f} MB in, {out.stat().st_size / 1e6:,.0f} MB out; "
          f"{wall:.1f} s ({n / wall:,.0f} rows/s); peak RSS {peak / 1024:,.0f} MB")
    for ln in summary:
        print("   ", ln)
    out.unlink()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=0)
    ap.add_argument("--out", help="directory for the generated files (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(args.out or tmp)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"export-{args.rows}.csv"
        with open(path, "w", encoding="gb18030", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADERS)
            w.writerows(rows(args.rows))
        measure(path, "csv (GB18030)", args.rows)
        if args.xlsx_rows:
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("工单")
            ws.append(HEADERS)
            for row in rows(args.xlsx_rows):
                ws.append(row)
            xpath = d / f"export-{args.xlsx_rows}.xlsx"
            wb.save(xpath)
            measure(xpath, "xlsx", args.xlsx_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

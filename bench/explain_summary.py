#!/usr/bin/env python3
"""Summary of bench/run.sh's explain.txt (auto_explain output, one block per target,
scenario and user): statements, their total execution time, the slowest statement's
plan head, and every sequential scan of a large table.

    python3 bench/explain_summary.py bench/results/national/explain.txt > .../explain-summary.md
"""
import re
import sys

BIG = ("submission", "submission_deliverable", "audit_log")


def blocks(text):
    for part in re.split(r"\n={20} ", text)[1:]:
        head, _, body = part.partition("\n")
        yield head.strip(), body


def statements(body):
    # auto_explain entries: "... LOG:  duration: X ms  plan:\n\tQuery Text: ...\n\t<plan lines>"
    for m in re.finditer(r"duration: ([\d.]+) ms  plan:\n((?:\t.*\n?)*)", body):
        lines = [l[1:] for l in m.group(2).splitlines()]
        start = next((i for i, l in enumerate(lines) if "(cost=" in l), len(lines))
        query = " ".join(l.strip() for l in lines[:start])[len("Query Text: "):]
        yield float(m.group(1)), query, lines[start:]


def main(path):
    text = open(path, encoding="utf8").read()
    print("| target scenario user | statements | total ms | slowest ms | slowest plan (top) | seq scans of big tables |")
    print("| --- | --- | --- | --- | --- | --- |")
    details = []
    for head, body in blocks(text):
        st = list(statements(body))
        if not st:
            continue
        total = sum(d for d, _, _ in st)
        slow = max(st, key=lambda s: s[0])
        seq = sorted({l.strip().split("  (")[0].replace("->  ", "") for _, _, plan in st for l in plan
                      if "Seq Scan on" in l and any(re.search(rf"Seq Scan on {t}\b", l) for t in BIG)})
        top = next((l.strip().split("  (")[0] for l in slow[2] if l.strip()), "")
        print(f"| {head} | {len(st)} | {total:.1f} | {slow[0]:.1f} | {top} | {', '.join(seq) or '-'} |")
        details.append((head, slow))
    print("\n## Slowest statement of each block\n")
    for head, (d, query, plan) in details:
        print(f"### {head} ({d:.1f} ms)\n\n```\n{query[:600]}\n" + "\n".join(plan[:40]) + "\n```\n")


if __name__ == "__main__":
    main(sys.argv[1])

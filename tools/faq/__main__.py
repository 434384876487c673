"""``python -m tools.faq eval FILE.jsonl | bench``: the FAQ retriever measured offline.

eval    top-1, top-3, no-match precision and recall and the misses on a labelled file
bench   query latency, index build time for 1,000 entries and process RSS, per encoder
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faq.classifier import EntryClassifier
from faq.encoders import DEFAULT_ENCODER, make_encoder
from faq.index import EmbeddingIndex, Progress
from faq.knowledge import KB_DIR, Entry, KnowledgeBase, KnowledgeBaseError
from faq.retriever import FaqRetriever
from tools.faq.evaluate import evaluate

BENCH_ENCODERS = ("use+e5", "use", "st:all-MiniLM-L6-v2")
BENCH_QUERIES = (
    "亲，什么时候发货呀",
    "包邮吗",
    "能开法票吗",
    "不合适可以退吗",
    "会不会掉色",
    "how long does delivery take",
    "我的快递到哪了",
    "有优惠卷吗",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.faq", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--kb", type=Path, default=KB_DIR, help="knowledge-base directory")
    commands = parser.add_subparsers(dest="command", required=True)
    evaluation = commands.add_parser("eval", help="score the retriever on a labelled JSONL file")
    evaluation.add_argument("file", type=Path)
    evaluation.add_argument("--encoder", default=DEFAULT_ENCODER, help="use | e5 | st:MODEL | a+b")
    evaluation.add_argument("--cache", type=Path, default=None, help="index cache directory")
    bench = commands.add_parser("bench", help="latency, build time and memory per encoder")
    bench.add_argument("--encoder", action="append", help="use | e5 | st:MODEL | a+b (repeatable)")
    bench.add_argument("--entries", type=int, default=1000, help="synthetic entries to index")
    bench.add_argument("--queries", type=int, default=200)
    bench.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command == "eval":
        return run_eval(args.kb, args.file, args.encoder, args.cache)
    return run_bench(args)


def run_eval(kb_dir: Path, file: Path, encoder: str, cache: Path | None) -> int:
    retriever = FaqRetriever(kb_dir, cache, encoder)
    try:
        retriever.load()
        report = evaluate(retriever, file)
    except (KnowledgeBaseError, ValueError, OSError) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"encoder: {retriever.encoder.name}  thresholds: {retriever.thresholds}")
    print("\n".join(report.lines()))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    if args.json:  # one encoder, in a fresh process so that its RSS is its own
        print(json.dumps(_bench_one(args.kb, args.encoder[0], args.entries, args.queries)))
        return 0
    print(f"FAQ benchmark: {args.queries} queries, index of {args.entries} synthetic entries")
    print(
        f"{'encoder':<30}{'median ms':>10}{'p95 ms':>9}{'build s':>9}{'learn s':>9}"
        f"{'texts':>7}{'RSS MB':>8}"
    )
    for encoder in args.encoder or BENCH_ENCODERS:
        command = [sys.executable, "-m", "tools.faq", "--kb", str(args.kb), "bench", "--json"]
        command += ["--encoder", encoder, "--entries", str(args.entries)]
        command += ["--queries", str(args.queries)]
        # The child's progress bar goes straight to this terminal; its result comes back as JSON.
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            print(f"{encoder:<30}failed (exit code {done.returncode})")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['encoder']:<30}{r['median_ms']:>10.2f}{r['p95_ms']:>9.2f}"
            f"{r['build_s']:>9.1f}{r['learn_s']:>9.1f}{r['texts']:>7}{r['rss_mb']:>8.0f}"
        )
    return 0


def _bench_one(kb_dir: Path, spec: str, entries: int, queries: int) -> dict[str, object]:
    import psutil

    encoder = make_encoder(spec)
    with tempfile.TemporaryDirectory() as cache:
        retriever = FaqRetriever(kb_dir, Path(cache), encoder)
        retriever.load()
        for text in BENCH_QUERIES:  # warm up
            retriever.search(text)
        latencies = []
        for i in range(queries):
            started = time.perf_counter()
            retriever.search(BENCH_QUERIES[i % len(BENCH_QUERIES)])
            latencies.append((time.perf_counter() - started) * 1000)
        synthetic = synthetic_knowledge(retriever.knowledge, entries)
        texts = sum(len(e.phrasings()) for e in synthetic.entries)
        started = time.perf_counter()
        index = EmbeddingIndex.build(synthetic, encoder, None, _progress_bar(texts))
        build = time.perf_counter() - started
        # The entry classifier is trained at every load and reload, never cached.
        started = time.perf_counter()
        EntryClassifier(index)
        learn = time.perf_counter() - started
    latencies.sort()
    return {
        "encoder": encoder.name,
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)],
        "build_s": build,
        "learn_s": learn,
        "texts": texts,
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
    }


def synthetic_knowledge(knowledge: KnowledgeBase, count: int) -> KnowledgeBase:
    """``count`` entries made from the real ones (distinct texts: a product name in each)."""
    entries = []
    for i in range(count):
        base = knowledge.entries[i % len(knowledge.entries)]
        tag = f"{i}号商品"
        entries.append(
            Entry(
                id=f"{base.id}_{i}",
                question=f"{tag}{base.question}",
                paraphrases={k: tuple(f"{tag}{p}" for p in v) for k, v in base.paraphrases.items()},
                answers=base.answers,
                tags=base.tags,
            )
        )
    return KnowledgeBase(tuple(entries), knowledge.policy)


def _progress_bar(total: int) -> Progress | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="text", desc="building index", file=sys.stderr, leave=False)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)
        if done >= _total:
            bar.close()

    return update


if __name__ == "__main__":
    sys.exit(main())

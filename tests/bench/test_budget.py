"""The pure parts of the budget bench (bench/budget*.py): the corpus it loads, the budget lines it prints, the
CPU and memory accounting it reads from /proc, wrk's output, and the paths that keep "uncached" honest."""

import corpus
import pytest
from budget_lines import Line, lines
from budget_load import parse_wrk
from budget_procs import Stat, descendants, parse_rss_kb, parse_stat, tree_ticks
from budget_scenarios import BY_NAME, E10, E100, S10, new_prefixes


def _containing(documents, word: str) -> list[int]:
    return [document.number for document in documents if word in document.body.split()]


@pytest.mark.parametrize("count", [10_000, 100_000])
def test_it_builds_the_documented_corpus(count):
    documents = list(corpus.documents(count))
    assert len(documents) == count
    assert len(_containing(documents, corpus.COMMON)) == count // 10
    assert len(_containing(documents, corpus.RARE)) == 5
    assert all(len(document.body.split()) == corpus.WORDS_PER_DOCUMENT for document in documents[:100])


def test_it_builds_the_same_documents_for_the_same_count():
    assert list(corpus.documents(10_000)) == list(corpus.documents(10_000))
    assert corpus.vocabulary() == corpus.vocabulary()


def test_it_reads_a_stat_line_whose_command_name_holds_spaces_and_parentheses():
    line = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194304 900 0 0 0 150 30 7 3 20 0 5 0 12345 1000 50"
    assert parse_stat(line) == Stat(pid=4242, ppid=17, name="my (odd) name", ticks=150 + 30 + 7 + 3)


def test_it_counts_the_cpu_of_the_whole_serving_tree_and_nothing_else():
    stats = {1: Stat(1, 0, "init", 1000), 10: Stat(10, 1, "serve", 5), 11: Stat(11, 10, "granian", 20),
             12: Stat(12, 11, "worker", 300), 13: Stat(13, 11, "worker", 100), 20: Stat(20, 1, "wrk", 999)}
    assert descendants(stats, 10) == [10, 11, 12, 13]
    assert tree_ticks(stats, 10) == 425
    assert tree_ticks(stats, 99) == 0  # gone


def test_it_reads_the_resident_set_of_a_status_file():
    assert parse_rss_kb("Name:\tpython\nVmHWM:\t  120000 kB\nVmRSS:\t  104448 kB\n") == 104448
    assert parse_rss_kb("Name:\tzombie\nState:\tZ (zombie)\n") == 0


def test_it_counts_each_status_wrk_saw_and_its_duration():
    output = """Running 2s test @ http://127.0.0.1:8000/api/v1/documents
  1 threads and 16 connections
  812 requests in 2.00s, 9.1MB read
  Non-2xx or 3xx responses: 12
Requests/sec:    405.90
STATUS 200 800
STATUS 429 12
WRAPPED 0
LATENCY p50 31000 p99 88000
"""
    result = parse_wrk(output)
    assert result.statuses == {200: 800, 429: 12}
    assert result.counted(200) == 800
    assert result.rate(200) == 400  # the 429s are not counted as served
    assert (result.p50_ms, result.p99_ms, result.seconds) == (31.0, 88.0, 2.0)


def test_it_passes_and_fails_each_line_against_its_limit():
    assert Line("x", 0.9, 1.0, "ms").verdict == "PASS"
    assert Line("x", 1.1, 1.0, "ms").verdict == "FAIL"
    assert Line("x", 1200, 1000, "MB/s", at_most=False).verdict == "PASS"
    assert Line("x", None, 1.0, "ms").verdict == "N/A"
    assert "FAIL" in Line("x", 1.1, 1.0, "ms").render() and "1.1 ms" in Line("x", 1.1, 1.0, "ms").render()


def test_it_evaluates_the_budget_from_the_medians():
    figures = {(E10, "trivial page"): {"cpu_ms": 0.8}, (E10, "healthz"): {"cpu_ms": 0.4},
               (E10, "api list"): {"cpu_ms": 4.0, "rps": 210}, (E100, "api list"): {"cpu_ms": 4.6},
               (E10, "api list cached"): {"cpu_ms": 2.0}, (E10, "api list conditional"): {"cpu_ms": 1.2},
               (S10, "api list"): {"cpu_ms": 6.4}, (E100, "api search common"): {"p99_50": 25.0}}
    memory = {"worker_mb": 75.0, "parent_mb": 17.0, "tree_mb": 141.0, "growth_pct": 3.0, "growth_requests": 100_000}
    files = {"download_mb_s": 1500.0, "upload_mb_s": 200.0, "upload_rss_growth_pct": 2.0}
    verdicts = {line.text: line.verdict for line in lines(figures, memory, files)}
    by_start = {text.split(" [")[0]: verdict for text, verdict in verdicts.items()}
    assert by_start["trivial signed-in page through all middleware"] == "PASS"
    assert by_start["/healthz"] == "FAIL"
    assert by_start["JSON list of 50, uncached"] == "PASS"
    # The cheaper of the cached forms counts: the conditional request at 1.2 ms.
    assert by_start["JSON list, user's documents unchanged (api list conditional)"] == "PASS"
    assert verdicts["JSON list cost, 100k vs 10k (difference)"] == "FAIL"  # 15 %
    assert verdicts["search p99, common term (10k hits) [embedded 100k, 50 % of peak]"] == "FAIL"
    assert verdicts["scale-out vs embedded CPU, api list (scale-out 10k / embedded 10k)"] == "FAIL"  # 1.6x
    assert verdicts["throughput vs paperless-ngx, api list (3.5 req/s)"] == "PASS"  # 60x
    assert verdicts["download of a 256 MB file, loopback"] == "PASS"
    assert verdicts["upload of a 256 MB file (API)"] == "FAIL"
    assert verdicts["one worker's RSS (largest seen)"] == "PASS"
    assert verdicts["the supervising parent's RSS"] == "PASS"
    assert by_start["the web-serving tree (parent, granian master, worker) (paperless-ngx: 247 MB)"] == "FAIL"
    assert by_start["one document (JSON)"] == "N/A"


def test_it_sends_every_uncached_request_a_query_of_its_own_that_the_warm_up_never_sent():
    for name in ("api list", "html list", "api search rare", "html search common"):
        scenario = BY_NAME[name]
        paths = scenario.paths([])
        assert len(set(paths)) == len(paths) > 10_000
        assert scenario.warm_path([]) not in paths
    assert BY_NAME["api list cached"].paths([]) == ["/api/v1/documents"]


def test_it_uses_each_prefix_of_the_vocabulary_once():
    prefixes = new_prefixes()
    assert len(prefixes) == len(set(prefixes)) > 2000
    assert all(len(prefix) >= 2 for prefix in prefixes)
    assert BY_NAME["api suggest new"].once

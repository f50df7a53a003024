"""
Print the mutation score of each module that C{make mutate} mutated.

mutmut keeps each mutant's result in C{mutants/PATH.meta} (JSON); this reads
them, leaves out the mutants that C{docs/testing.md} lists as equivalent
(they cannot change behaviour, so no test can kill them), and prints one
line per module: killed (a test failed), hung (stopped by mutmut's time
limit: a hang is caught too), survived, equivalent, not run (an
interrupted run), and the score: killed and hung over the mutants that
ran and are not equivalent.  The
survivors are named below the table so the next test is easy to write.

Usage: C{python tools/mutation_scores.py [--max-survivors N]}, from the
checkout, after C{mutmut run}.
"""

import argparse
import json
import re
import sys
from pathlib import Path

#: mutmut's exit codes: 1 a test failed; 0 every test passed; 33 no test
#: covers the mutant; the rest of these are its ways of saying "stopped
#: because it hung" (its own timeout, SIGXCPU).
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {33}
TIMEOUT = {36, -24, 24, 152}

#: A line of docs/testing.md naming an equivalent mutant:
#: "- `responder.core._admission.x...__mutmut_3`: why".
EQUIVALENT_LINE = re.compile(r"^- `(responder\.[^`]+__mutmut_\d+)`:")


def equivalentMutants(document: Path) -> set[str]:
    """
    The mutant names that C{document} lists as equivalent.
    """
    names = set()
    for line in document.read_text(encoding="utf-8").splitlines():
        match = EQUIVALENT_LINE.match(line)
        if match:
            names.add(match.group(1))
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--equivalent", type=Path, default=Path("docs/testing.md"))
    parser.add_argument("--max-survivors", type=int, default=200)
    options = parser.parse_args(argv)
    equivalent = equivalentMutants(options.equivalent)
    print(
        f"{'module':<34} {'mutants':>7} {'killed':>6} {'hung':>4} "
        f"{'survived':>8} {'equiv':>5} {'not run':>7} {'score':>7}"
    )
    survivors: list[str] = []
    listed: set[str] = set()
    for meta in sorted(options.mutants.glob("responder/**/*.py.meta")):
        recorded = json.loads(meta.read_text())
        results: dict[str, int | None] = recorded["exit_code_by_key"]
        if not results:
            continue
        killed = hung = survived = equiv = notRun = 0
        for name, code in sorted(results.items()):
            if name in equivalent:
                equiv += 1
                listed.add(name)
            elif code is None:
                notRun += 1
            elif code in KILLED:
                killed += 1
            elif code in TIMEOUT:
                hung += 1
            else:
                survived += 1
                survivors.append(f"{name} (exit {code})")
        module = str(meta.relative_to(options.mutants)).removesuffix(".meta")
        counted = killed + hung + survived
        score = 100.0 * (killed + hung) / counted if counted else 100.0
        print(
            f"{module:<34} {len(results):>7} {killed:>6} {hung:>4} "
            f"{survived:>8} {equiv:>5} {notRun:>7} {score:>6.1f}%"
        )
    stale = sorted(equivalent - listed)
    if stale:
        print(f"\n{len(stale)} mutants listed as equivalent no longer exist:")
        print("\n".join(f"  {name}" for name in stale))
    if survivors:
        print(f"\n{len(survivors)} survivors (mutmut show NAME shows one):")
        print("\n".join(f"  {name}" for name in survivors[: options.max_survivors]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

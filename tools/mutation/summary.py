"""Prints the score and the surviving mutants of one Stryker JSON report.

usage: summary.py mutation-report.json equivalent.tsv FILE
equivalent.tsv: tab-separated FILE, LINE, MUTATOR (Stryker's mutatorName), REASON; lines starting with # are comments.
A survivor matching a row (same file, line and mutator) is counted as equivalent, not as a miss.
"""
import json
import sys

report_path, equivalent_path, wanted = sys.argv[1], sys.argv[2], sys.argv[3]
with open(report_path, encoding="utf-8") as f:
    report = json.load(f)

equivalent = {}
try:
    with open(equivalent_path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 4:
                equivalent[(parts[0], int(parts[1]), parts[2])] = parts[3]
except FileNotFoundError:
    pass

counts = {}
survivors = []
for path, entry in report["files"].items():
    norm = path.replace("\\", "/")
    if not norm.endswith(wanted):
        continue
    for m in entry["mutants"]:
        status = m["status"]
        counts[status] = counts.get(status, 0) + 1
        if status in ("Survived", "NoCoverage"):
            line = m["location"]["start"]["line"]
            survivors.append((line, m["mutatorName"], m.get("replacement", ""), status))

killed = counts.get("Killed", 0) + counts.get("Timeout", 0)
missed = counts.get("Survived", 0) + counts.get("NoCoverage", 0)
tested = killed + missed
eq = [s for s in survivors if (wanted, s[0], s[1]) in equivalent]
real = [s for s in survivors if (wanted, s[0], s[1]) not in equivalent]
score = 100.0 * killed / tested if tested else 100.0
nonequivalent = 100.0 * killed / (killed + len(real)) if killed + len(real) else 100.0
print(f"{wanted}: {tested} tested, {killed} killed (incl. {counts.get('Timeout', 0)} timeouts), "
      f"{missed} survived ({counts.get('NoCoverage', 0)} without coverage), "
      f"{counts.get('CompileError', 0)} compile errors, {counts.get('Ignored', 0)} ignored")
print(f"  score {score:.1f} %; equivalent survivors {len(eq)}; non-equivalent score {nonequivalent:.1f} %")
for line, mutator, replacement, status in sorted(real):
    print(f"  SURVIVED line {line}: {mutator} -> {replacement!r} ({status})")
for line, mutator, replacement, status in sorted(eq):
    print(f"  equivalent line {line}: {mutator}: {equivalent[(wanted, line, mutator)]}")

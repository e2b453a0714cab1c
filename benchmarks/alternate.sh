#!/usr/bin/env bash
# Alternated before/after runs of `consentfilter filter` on the e2e corpus: each round runs every executable once,
# in turn, each after emptying the output directory and a `sync`; prints the median wall and CPU time of each.
# A change's effect on a noisy machine shows in these medians, not in two separate series.
#
#   benchmarks/alternate.sh RUNS "BEFORE/consentfilter AFTER/consentfilter" [extra filter options, e.g. --no-manifest]
#
# Environment: CORPUS (default /tmp/consentfilter-bench, made by `e2e`), RECORDS (records file in it),
# CONSENT (consent CSV or compiled snapshot; default the corpus's consent CSV).
set -euo pipefail
runs=$1; shift
executables=$1; shift
corpus=${CORPUS:-/tmp/consentfilter-bench}
records=${RECORDS:-$corpus/records-realistic-v2-1000000-200000-42.jsonl}
consent=${CONSENT:-$corpus/consent-realistic-200000-42.csv}
out=$(mktemp -d)
times=$(mktemp)
trap 'rm -rf "$out" "$times"' EXIT
extension=${records##*.}
for _ in $(seq "$runs"); do
  for exe in $executables; do
    rm -rf "${out:?}"/*
    sync
    /usr/bin/time -f "$exe %e %U %S" -a -o "$times" "$exe" filter --records "$records" --consent "$consent" \
      --jurisdictions "$corpus/jurisdictions.csv" --subject-field recipients --out "$out/kept.$extension" \
      --report "$out/report.json" "$@" > /dev/null
  done
done
python3 - "$times" <<'PY'
import statistics, sys, collections
wall, cpu = collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    exe, e, u, s = line.split()
    wall[exe].append(float(e)); cpu[exe].append(float(u) + float(s))
for exe in wall:
    print(f"{exe}: {len(wall[exe])} runs, wall median {statistics.median(wall[exe]):.3f} s (min {min(wall[exe]):.2f}), "
          f"CPU median {statistics.median(cpu[exe]):.3f} s")
PY

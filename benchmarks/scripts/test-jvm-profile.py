#!/usr/bin/env python3
"""How many test JVMs of a module were busy, every 30 s of its test run, from Surefire's reports.

Each report's file time is when its class ended and its `time` attribute how long it ran, so each
class's span is known; the profile sums the spans over each 30-second step. Run after a full build
(`.ci/run` or `mvn -B verify`), e.g. `benchmarks/scripts/test-jvm-profile.py replicator`: a tail
of steps below the module's JVM count is a long class taken last.
"""
import glob
import os
import sys
import time
import xml.etree.ElementTree as ET

STEP = 30

for module in sys.argv[1:] or ["driver", "replicator"]:
    spans = []
    for report in glob.glob(os.path.join(module, "target", "surefire-reports", "TEST-*.xml")):
        seconds = float(ET.parse(report).getroot().get("time"))
        end = os.path.getmtime(report)
        spans.append((end - seconds, end))
    if not spans:
        print(module, "no reports")
        continue
    start, stop = min(s for s, _ in spans), max(e for _, e in spans)
    profile = []
    for offset in range(0, int(stop - start) + 1, STEP):
        a, b = start + offset, start + offset + STEP
        profile.append(round(sum(max(0, min(b, e) - max(a, s)) for s, e in spans) / STEP, 1))
    print(module, time.strftime("%H:%M:%S", time.gmtime(start)), "to", time.strftime("%H:%M:%S", time.gmtime(stop)),
          "span", round(stop - start), "s, class times summing to", round(sum(e - s for s, e in spans)), "s")
    print("  busy JVMs per", STEP, "s:", " ".join(str(p) for p in profile))

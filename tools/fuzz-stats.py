#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints each fuzz target's executions and executions per second from a
meson test log of `tools/dev.sh fuzz` (libFuzzer's -print_final_stats)."""
import json
import re
import sys

log = sys.argv[1] if len(sys.argv) > 1 else "build-fuzz/meson-logs/testlog.json"
print(f"{'target':<16} {'result':<8} {'executions':>12} {'exec/s':>8} {'seconds':>8}")
for line in open(log):
    if not line.strip():
        continue
    t = json.loads(line)
    text = (t.get("stdout") or "") + (t.get("stderr") or "")
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
    rate = re.search(r"stat::average_exec_per_sec:\s*(\d+)", text)
    print(f"{t['name']:<16} {t.get('result', '?'):<8} {runs.group(1) if runs else '-':>12} "
          f"{rate.group(1) if rate else '-':>8} {t.get('duration', 0):>8.0f}")

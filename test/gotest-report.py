"""Condenses `go test -json` from stdin: one line per package, the output
of every failed test (and of a package that failed outside its tests), and
the skipped tests summed up one line per package and reason, written to the
file named by the first argument."""

import json
import re
import sys

MAX_FAILURE_LINES = 400
# A t.Skip reason: "    file_test.go:12: needs root".
REASON = re.compile(r"^\s+[^\s:]+\.go:\d+: (.*)$")


def main():
    out = {}      # (package, test) -> output lines
    skips = {}    # (package, reason) -> count, in order first met
    budget = MAX_FAILURE_LINES
    for raw in sys.stdin:
        try:
            ev = json.loads(raw)
        except ValueError:
            print(raw, end="")
            continue
        action, pkg, test = ev.get("Action"), ev.get("Package", ""), ev.get("Test", "")
        key = (pkg, test)
        if action == "build-output":
            print(ev.get("Output", ""), end="")
        elif action == "output":
            text = ev.get("Output", "")
            if not test and re.match(r"^(ok|FAIL)\s*\t", text):
                print(text, end="")
            elif test or text not in ("PASS\n", "FAIL\n"):
                out.setdefault(key, []).append(text)
        elif action == "skip" and test:
            reasons = [m.group(1) for line in out.get(key, []) if (m := REASON.match(line.rstrip("\n")))]
            reason = reasons[-1] if reasons else "no reason given"
            skips[(pkg, reason)] = skips.get((pkg, reason), 0) + 1
            out.pop(key, None)
        elif action == "fail":
            lines = out.pop(key, [])
            if test or not any(l.startswith("--- FAIL") for l in lines):
                for line in lines[:budget]:
                    print(line, end="")
                budget -= min(budget, len(lines))
        elif action == "pass" and test:
            out.pop(key, None)
    with open(sys.argv[1], "w") as f:
        for (pkg, reason), n in skips.items():
            f.write("skipped %d test%s in %s: %s\n" % (n, "" if n == 1 else "s", pkg, reason))


if __name__ == "__main__":
    main()

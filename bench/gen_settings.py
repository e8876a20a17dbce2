#!/usr/bin/env python3
"""Writes a.conf, b.conf and c.conf into DIR: N keys in all (--keys,
default 10,000; bench/config-merge.sh also uses 100,000).

The files share sections so later files override earlier ones, some values
span several lines, and some refer to [user_defined] keys (nested too) and to
the BENCH_HOME and BENCH_USER environment variables.

usage: gen_settings.py DIR [--keys N]
"""

import argparse
import os
import random


def value(rng, i, ud_names):
    parts = ["value-%d-%06x" % (i, rng.getrandbits(24))]
    if i % 7 == 0 and ud_names:
        parts.append("[[%s]]" % rng.choice(ud_names))
    if i % 11 == 0:
        parts.append("[[BENCH_HOME]]/data/%d" % i)
    if i % 13 == 0:
        parts.append("[[ BENCH_USER ]]")
    text = " ".join(parts)
    if i % 25 == 0:
        text += "".join("\n    continued line %d of key %d" % (n, i) for n in range(3))
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.dir, exist_ok=True)

    # Share of the keys each file holds; b and c override part of a.
    shares = {"a.conf": 0.5, "b.conf": 0.3, "c.conf": 0.2}
    sections = ["service_%02d" % n for n in range(40)]
    ud_names = []
    written = 0
    for idx, (name, share) in enumerate(shares.items()):
        budget = (
            int(args.keys * share) if idx < len(shares) - 1 else args.keys - written
        )
        lines = ["# generated settings file %s" % name]
        used = 0
        if idx == 0:
            lines += ["[DEFAULT]", "environment = bench", "region = local", ""]
            used += 2
        # [user_defined]: a chain of nested references plus plain values.
        lines.append("[user_defined]")
        ud_count = 60 if idx == 0 else 20
        for n in range(ud_count):
            key = "ud_%d_%d" % (idx, n)
            if n % 4 == 0 or not ud_names:
                val = "/opt/bench/%s" % key
            else:
                val = "[[%s]]/%s" % (ud_names[-1], key)
            lines.append("%s = %s" % (key, val))
            ud_names.append(key)
            used += 1
        lines.append("")
        # Ordinary sections; keys of later files overlap earlier ones.
        per_section = {}
        i = 0
        while used < budget:
            sec = sections[(i * 7 + idx) % len(sections)]
            keys = per_section.setdefault(sec, [])
            start = 0 if idx == 0 else 100
            key = "key_%04d" % (start + len(keys) * (idx + 1))
            keys.append((key, value(rng, i + idx * 100000, ud_names[:-5])))
            used += 1
            i += 1
        for sec, keys in per_section.items():
            lines.append("[%s]" % sec)
            for key, val in keys:
                lines.append("%s = %s" % (key, val))
            lines.append("")
        path = os.path.join(args.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)
        written += used


if __name__ == "__main__":
    main()

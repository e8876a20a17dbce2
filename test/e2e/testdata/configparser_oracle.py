#!/usr/bin/env python3
"""Reference reader for niod's settings dialect.

Two modes:

  configparser_oracle.py read --root ROOT [--env ENV.json] FILE...
      Reads FILE... in order (relative paths against ROOT) into one
      RawConfigParser(strict=True) with optionxform = str and UTF-8, resolves
      [[ NAME ]] references the way niod does, and prints JSON:
        {"defaults": {...}, "sections": {name: {own keys}},
         "order": [section names], "written": "<RawConfigParser.write()>"}
      ENV.json is the environment niod runs with (a JSON object); without it
      the oracle's own environment is used.

  configparser_oracle.py readback FILE
      Reads FILE (niod's stdout; "-" for standard input) with the same parser
      and prints the same JSON, without resolving anything.

When configparser rejects the input, or a reference cannot be resolved, the
oracle prints {"error": "...", "type": "..."} and exits 1. Any other failure
exits 2.
"""

import argparse
import configparser
import io
import json
import os
import re
import sys

REF = re.compile(r"\[\[([^\[\]]*)\]\]")
USER_DEFINED = "user_defined"


class ResolveError(Exception):
    pass


def new_parser():
    cp = configparser.RawConfigParser(strict=True)
    cp.optionxform = str
    return cp


def read_files(cp, root, files):
    for name in files:
        path = name if os.path.isabs(name) else os.path.join(root, name)
        with open(path, encoding="utf-8") as f:
            cp.read_file(f, source=name)


def resolve_all(cp, root, env):
    """Replaces every [[ NAME ]] in every own value, in one pass."""

    def lookup(name, stack):
        value = None
        if name in env and (name != "PROJECT_ROOT" or env[name] != ""):
            value = env[name]
        elif cp.has_section(USER_DEFINED) and cp.has_option(USER_DEFINED, name):
            if name in stack:
                raise ResolveError(
                    "[[%s]] refers back to itself (%s)"
                    % (name, " -> ".join(stack + [name]))
                )
            raw = cp.get(USER_DEFINED, name, raw=True)
            value = resolve(raw, stack + [name])
        if name == "PROJECT_ROOT" and (value is None or value.strip() == ""):
            value = root
        if value is None:
            raise ResolveError("[[%s]] is not defined" % name)
        return value

    def resolve(text, stack):
        return REF.sub(lambda m: lookup(m.group(1).strip(), stack), text)

    resolved = []
    for key, value in cp.defaults().items():
        resolved.append((cp.default_section, key, resolve(value, [])))
    for section in cp.sections():
        for key, value in cp._sections[section].items():
            resolved.append((section, key, resolve(value, [])))
    for section, key, value in resolved:
        cp.set(section, key, value)


def dump(cp):
    out = io.StringIO()
    cp.write(out)
    return {
        "defaults": dict(cp.defaults()),
        "sections": {s: dict(cp._sections[s]) for s in cp.sections()},
        "order": cp.sections(),
        "written": out.getvalue(),
    }


def fail(exc):
    print(json.dumps({"error": str(exc), "type": type(exc).__name__}))
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    rd = sub.add_parser("read")
    rd.add_argument("--root", required=True)
    rd.add_argument("--env")
    rd.add_argument("files", nargs="+")
    rb = sub.add_parser("readback")
    rb.add_argument("file")
    args = ap.parse_args()

    cp = new_parser()
    try:
        if args.mode == "read":
            root = os.path.normpath(os.path.abspath(args.root))
            if args.env:
                with open(args.env, encoding="utf-8") as f:
                    env = json.load(f)
            else:
                env = dict(os.environ)
            read_files(cp, root, args.files)
            resolve_all(cp, root, env)
        elif args.file == "-":
            stdin = io.TextIOWrapper(io.BytesIO(sys.stdin.buffer.read()), encoding="utf-8")
            cp.read_file(stdin, source="<stdin>")
        else:
            with open(args.file, encoding="utf-8") as f:
                cp.read_file(f, source=args.file)
    except (configparser.Error, UnicodeDecodeError, ResolveError) as exc:
        fail(exc)
    print(json.dumps(dump(cp)))


if __name__ == "__main__":
    main()

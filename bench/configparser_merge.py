#!/usr/bin/env python3
"""Python peer of `niod config --reveal`: merges settings files with
configparser and resolves [[ NAME ]] references, then writes the INI.

usage: configparser_merge.py ROOT FILE...
"""

import configparser
import os
import re
import sys

REF = re.compile(r"\[\[([^\[\]]*)\]\]")


def main():
    root = os.path.normpath(os.path.abspath(sys.argv[1]))
    cp = configparser.RawConfigParser(strict=True)
    cp.optionxform = str
    for name in sys.argv[2:]:
        path = name if os.path.isabs(name) else os.path.join(root, name)
        with open(path, encoding="utf-8") as f:
            cp.read_file(f, source=name)

    env = os.environ
    has_ud = cp.has_section("user_defined")

    def lookup(name, stack):
        value = None
        if name in env and (name != "PROJECT_ROOT" or env[name] != ""):
            value = env[name]
        elif has_ud and cp.has_option("user_defined", name):
            if name in stack:
                sys.exit("[[%s]] refers back to itself" % name)
            value = resolve(cp.get("user_defined", name, raw=True), stack + (name,))
        if name == "PROJECT_ROOT" and (value is None or not value.strip()):
            value = root
        if value is None:
            sys.exit("[[%s]] is not defined" % name)
        return value

    def resolve(text, stack=()):
        if "[[" not in text:
            return text
        return REF.sub(lambda m: lookup(m.group(1).strip(), stack), text)

    resolved = [
        (cp.default_section, k, resolve(v)) for k, v in cp.defaults().items()
    ]
    for section in cp.sections():
        for k, v in cp._sections[section].items():
            resolved.append((section, k, resolve(v)))
    for section, k, v in resolved:
        cp.set(section, k, v)
    cp.write(sys.stdout)


if __name__ == "__main__":
    main()

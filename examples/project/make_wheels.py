#!/usr/bin/env python3
"""Builds wheels/ from vendor/: one pure-Python wheel per package there,
with the standard library only (a wheel is a zip with a dist-info), so the
example needs no network and no build tools. pre_start (nio.conf) installs
the blocks' requirements from wheels/ with pip --no-index.

usage: make_wheels.py [PROJECT]
"""

import base64
import hashlib
import os
import sys
import zipfile


def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build(project, package):
    src = os.path.join(project, "vendor", package)
    with open(os.path.join(src, "__init__.py"), encoding="utf-8") as f:
        text = f.read()
    version = text.split('__version__ = "', 1)[1].split('"', 1)[0]
    name = package.replace("_", "-")
    info = f"{package}-{version}.dist-info"
    files = {}
    for entry in sorted(os.listdir(src)):
        if entry.endswith(".py"):
            with open(os.path.join(src, entry), "rb") as f:
                files[f"{package}/{entry}"] = f.read()
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: make_wheels.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(f"{path},{digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    out = os.path.join(project, "wheels", f"{package}-{version}-py3-none-any.whl")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out


def main():
    project = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for package in sorted(os.listdir(os.path.join(project, "vendor"))):
        print(build(project, package))


if __name__ == "__main__":
    main()

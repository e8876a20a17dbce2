"""The library the greeting block needs, built into wheels/ by
make_wheels.py and installed from there by pre_start: no network."""

__version__ = "1.0"


def greet(name):
    return "hello, " + name

"""A block of the example project: it greets with the library its
requirements.txt names, which niod's pre_start step installs."""

from nio_greeting import greet


class Greeting:
    """Greets whoever its signals name."""

    def process_signals(self, signals):
        return [greet(s.get("name", "world")) for s in signals]

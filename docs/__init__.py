"""The documentation (Sphinx sources) and the code that generates its registry-driven pages."""

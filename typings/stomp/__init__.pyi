# Partial stubs for stomp.py 9, which ships no py.typed: only the names the tests use.
# Submodules: stomp.utils, stomp.transport, stomp.protocol (each partial too).

__version__: str

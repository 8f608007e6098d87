# Partial stubs for stomp.py 9, which ships no py.typed: only the names the tests and benchmarks
# use. Submodules: stomp.utils, stomp.transport, stomp.protocol, stomp.connect, stomp.listener
# (each partial too).
from stomp.connect import StompConnection12
from stomp.listener import ConnectionListener as ConnectionListener

__version__: str

Connection12 = StompConnection12

"""One behaviour suite of client-session scenarios, run against every driver (asyncio, blocking
threads, Twisted) through the adapters of `tests.drivers.harness`."""

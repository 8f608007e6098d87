"""A private ActiveMQ broker that a test starts, restarts and stops by itself.

The shared brokers must never be restarted (others test against them), so the restart and TLS
tests get their own JVM: Debian's ActiveMQ jars, run directly (not through /usr/bin/activemq, so
the pid we hold is the JVM's own), with a config written into a temporary folder. It listens on
two free loopback ports, plain ``stomp://`` and ``stomp+ssl://``, keeps persistent messages in
KahaDB in that folder (they survive a restart), and is stopped by its pid: SIGTERM lets its
shutdown hook close the store cleanly, SIGKILL follows if it does not exit in time.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self
from xml.sax.saxutils import quoteattr

from ._brokers import LOOPBACK

ACTIVEMQ_HOME: Final = Path("/usr/share/activemq")
START_TIMEOUT: Final = 60.0  # seconds from launching the JVM to a STOMP CONNECTED
STOP_TIMEOUT: Final = 30.0  # seconds for a clean shutdown before SIGKILL
PROBE_TIMEOUT: Final = 2.0  # seconds for one CONNECT probe
PORT_RANGE: Final = range(20000, 32768)  # 32768 and up: Linux's ephemeral ports
HEAP: Final = ("-Xms32M", "-Xmx256M")
# What /usr/bin/activemq passes to a Java newer than 8 (the broker reflects into these).
_JAVA_MODULE_FLAGS: Final = (
    "--add-reads=java.xml=java.logging",
    *(
        f"--add-opens={module}=ALL-UNNAMED"
        for module in (
            "java.base/java.security",
            "java.base/java.net",
            "java.base/java.lang",
            "java.base/java.util",
            "java.naming/javax.naming.spi",
            "java.rmi/sun.rmi.transport.tcp",
            "java.base/java.util.concurrent",
            "java.base/java.util.concurrent.atomic",
        )
    ),
)

_LOG4J: Final = """\
log4j.rootLogger=INFO, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
"""


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that are free now, below Linux's ephemeral range.

    Below it, no outgoing connection is given one of them as its local port, so the port is
    still free when the broker binds it again after a restart.
    """
    ports: list[int] = []
    for port in random.sample(PORT_RANGE, 200):
        with socket.socket() as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free loopback ports in {PORT_RANGE}")


def stomp_answers(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether a STOMP CONNECT (guest/guest) to host:port gets CONNECTED."""
    frame = b"CONNECT\naccept-version:1.2\nhost:localhost\nlogin:guest\npasscode:guest\n\n\0"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(frame)
            answer = sock.recv(4096)
            sock.sendall(b"DISCONNECT\n\n\0")
    except OSError:
        return False
    return answer.startswith(b"CONNECTED\n")


def activemq_xml(plain_port: int, ssl_port: int, keystore: Path, password: str) -> str:
    """The broker's config: two loopback connectors, KahaDB, guest/guest, small limits."""
    store, secret = quoteattr(f"file:{keystore}"), quoteattr(password)
    return f"""\
<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
    <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
    <broker xmlns="http://activemq.apache.org/schema/core" brokerName="stompmodels-private"
            useJmx="false" persistent="true" dataDirectory="${{activemq.data}}">
        <persistenceAdapter>
            <!-- No fsync per message: the tests restart the process, not the machine, and
                 a clean stop writes the journal out; an fsync each would make the consumer
                 outrun the publisher, and leave no backlog for a restart to keep. -->
            <kahaDB directory="${{activemq.data}}/kahadb" journalMaxFileLength="8mb"
                    journalDiskSyncStrategy="never"/>
        </persistenceAdapter>
        <systemUsage>
            <systemUsage>
                <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
                <storeUsage><storeUsage limit="1 gb"/></storeUsage>
                <tempUsage><tempUsage limit="256 mb"/></tempUsage>
            </systemUsage>
        </systemUsage>
        <sslContext>
            <sslContext keyStore={store} keyStorePassword={secret} keyStoreType="PKCS12"/>
        </sslContext>
        <plugins>
            <simpleAuthenticationPlugin anonymousAccessAllowed="true">
                <users>
                    <authenticationUser username="guest" password="guest" groups="users"/>
                </users>
            </simpleAuthenticationPlugin>
        </plugins>
        <transportConnectors>
            <transportConnector name="stomp" uri="stomp://{LOOPBACK}:{plain_port}"/>
            <transportConnector name="stomp-ssl" uri="stomp+ssl://{LOOPBACK}:{ssl_port}"/>
        </transportConnectors>
    </broker>
</beans>
"""


def unavailable() -> str | None:
    """Why a private broker cannot be run here (None if it can)."""
    if shutil.which("java") is None:
        return "no java command (Debian's activemq package brings one)"
    if not (ACTIVEMQ_HOME / "bin" / "activemq.jar").exists():
        return f"{ACTIVEMQ_HOME}/bin/activemq.jar is missing (install Debian's activemq package)"
    return None


class PrivateActiveMQ:
    """One ActiveMQ JVM of the tests' own: ``with PrivateActiveMQ(folder, keystore, pw) as mq:``.

    `start`, `restart` and `stop` are bounded in time; `start_seconds` records how long each
    start took until a STOMP CONNECT was answered.
    """

    def __init__(self, folder: Path, keystore: Path, keystore_password: str) -> None:
        self.folder = folder
        self.plain_port, self.ssl_port = free_ports(2)
        self.start_seconds: list[float] = []
        self.stop_seconds: list[float] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(exist_ok=True)
        (folder / "tmp").mkdir(exist_ok=True)
        (folder / "log4j.properties").write_text(_LOG4J)
        config = activemq_xml(self.plain_port, self.ssl_port, keystore, keystore_password)
        (folder / "activemq.xml").write_text(config)

    @property
    def plain_url(self) -> str:
        """``stomp://`` URL of the plain connector, with guest's credentials."""
        return f"stomp://guest:guest@{LOOPBACK}:{self.plain_port}/"

    def ssl_url(self, host: str = "localhost") -> str:
        """``stomp+ssl://`` URL of the TLS connector, naming the server `host`."""
        return f"stomp+ssl://guest:guest@{host}:{self.ssl_port}/"

    @property
    def pid(self) -> int | None:
        """The JVM's pid while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> float:
        """Launch the JVM and wait for a STOMP CONNECTED; the seconds it took."""
        if self.pid is not None:
            raise RuntimeError("the private broker is already running")
        began = time.monotonic()
        self._log = (self.folder / "console.log").open("ab")
        self._process = subprocess.Popen(
            self._command(),
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
        )
        deadline = began + START_TIMEOUT
        while not stomp_answers(LOOPBACK, self.plain_port):
            if self._process.poll() is not None:
                self._reap()
                raise RuntimeError(f"the private ActiveMQ exited during start: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"no STOMP CONNECTED within {START_TIMEOUT:.0f} s: {self.log_tail()}"
                )
            time.sleep(0.2)
        seconds = time.monotonic() - began
        self.start_seconds.append(seconds)
        return seconds

    def stop(self) -> None:
        """Stop the JVM by its pid: SIGTERM, then SIGKILL after STOP_TIMEOUT. Idempotent."""
        process = self._process
        if process is None:
            return
        began = time.monotonic()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
            self.stop_seconds.append(time.monotonic() - began)
        self._reap()

    def restart(self) -> float:
        """A clean stop, then a start; the seconds the start took."""
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the broker's console log."""
        try:
            text = (self.folder / "console.log").read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(["--- console.log:", *text.strip().splitlines()[-lines:]])

    def _reap(self) -> None:
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _command(self) -> list[str]:
        folder, home = str(self.folder), str(ACTIVEMQ_HOME)
        return [
            "java",
            *HEAP,
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",  # C1 only: a quicker start for a short-lived broker
            "-Djava.awt.headless=true",
            f"-Djava.io.tmpdir={folder}/tmp",
            *_JAVA_MODULE_FLAGS,
            f"-Dactivemq.classpath={folder}",  # log4j.properties is found on it
            f"-Dactivemq.home={home}",
            f"-Dactivemq.base={folder}",
            f"-Dactivemq.conf={folder}",
            f"-Dactivemq.data={folder}/data",
            *("-jar", f"{home}/bin/activemq.jar"),
            *("start", f"xbean:file:{folder}/activemq.xml"),
        ]

# Partial stubs for atheris 2.3/3.0, which ships no py.typed: only what fuzz/ uses.
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

class HookManager:
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

def instrument_imports(
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    enable_loader_override: bool = True,
) -> HookManager: ...
def Setup(args: Sequence[str], test_one_input: Callable[[bytes], None]) -> list[str]: ...
def Fuzz() -> None: ...

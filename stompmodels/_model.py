"""The base of every frame model: wire names, version rules, to_wire/from_wire."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self

from annotated_types import MinLen
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._codec import encode_plain, frame_bytes
from ._errors import ProtocolError
from ._headers import EMPTY_HEADERS, Headers, wire_value
from ._plan import Form, Plan, admits_none, forms_unmet, wire_name
from ._spec import VERSIONS, Version

# House rule 3: the fields that are not headers. A wire header is matched only against the
# other fields' wire names, so a custom header called `body` or `headers` is kept, not lost.
NOT_HEADERS: Final = frozenset({"command", "headers", "body"})


def _check_plain(cls: type[FrameModel]) -> None:
    """Refuse `decoded_as_is` on a model that validation would change or check beyond types."""
    plain = (str, str | None)
    for name, info in cls.model_fields.items():
        if name in NOT_HEADERS or name == "content_length":
            continue
        # A non-empty str (`NonEmpty`) is plain too: `Plan.decoded` checks it.
        checks = [m for m in info.metadata if m != MinLen(1)]
        if info.annotation not in plain or checks:
            raise TypeError(f"{cls.__name__}.{name} is not a plain str: decode it validated")
    if cls.__pydantic_post_init__ is not None or cls.__private_attributes__:
        raise TypeError(f"{cls.__name__} has post-init or private state: decode it validated")


def check_custom_headers(headers: Mapping[str, str], typed: frozenset[str]) -> None:
    """Custom headers have names, never shadow a typed header, and declare no body."""
    if "" in headers:
        raise ValueError("a custom header name cannot be empty")
    if not typed.isdisjoint(headers):  # no set is made unless one is shadowed
        name = min(headers.keys() & typed)
        raise ValueError(f"custom header {name!r} duplicates the typed field of that name")
    if headers.get("content-length", "0") != "0":
        raise ValueError("content-length must be 0 on a frame that cannot have a body")


class FrameModel(BaseModel):
    """Common behaviour of the 15 STOMP frame models."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=wire_name,
        validate_by_name=True,
        validate_by_alias=True,
        hide_input_in_errors=True,
        # JSON input reads a body (`Body`) as base64, as JSON output writes it. Python-mode
        # validation, the decoder's path, is unchanged.
        val_json_bytes="base64",
    )

    command: str
    # A factory: pydantic deep-copies a default it does not know as immutable (and a proxy
    # cannot be copied so); this one is shared, being read-only.
    headers: Headers = Field(default_factory=lambda: EMPTY_HEADERS)
    """Custom headers, in wire order, read-only; never one of the model's typed headers."""

    # Forms each version accepts (one table, read by validation, decoding and encoding). An
    # empty tuple of forms means "nothing beyond the fields pydantic requires". Headers that 1.2
    # requires but 1.0 lacks are required keywords typed `X | None`: building a model must state
    # them, and an explicit None (a 1.0 frame) is refused by to_wire for versions that need them.
    # `build_forms` are checked when a model is built (ACK/NACK: one of any version's forms).
    version_forms: ClassVar[dict[Version, tuple[Form, ...]]] = {}
    decode_forms: ClassVar[dict[Version, tuple[Form, ...]] | None] = None
    """Forms decoding checks, when they differ from `version_forms`."""
    build_forms: ClassVar[tuple[Form, ...]] = ()
    header_fields: ClassVar[tuple[tuple[str, str], ...]] = ()
    wire_fields: ClassVar[frozenset[str]] = frozenset()
    optional_required: ClassVar[tuple[str, ...]] = ()
    wire_forms: ClassVar[dict[Version, tuple[Form, ...]]] = {}
    wire_required: ClassVar[dict[Version, frozenset[str]]] = {}
    """Per version, the wire names a decoded frame needs (versions with several forms: all
    names of every form, a quick test that sends a frame missing one to `wire_problem`)."""
    decoded_as_is: ClassVar[bool] = False
    """Whether the decoder may build this frame from its headers without validation: every
    typed header is a plain `str` (the decoder counts content-length itself), so validating
    what the decoder checked proves nothing. Tests compare such frames with validated ones."""
    plan: ClassVar[Plan[Any]]
    """The class's facts in one plain object, for the paths that run once per frame."""
    _parse_frame: ClassVar[Callable[[bytes, Version], FrameModel]]
    """The decoder's `parse_frame`, which `from_wire` uses: set by `_decoder`, which needs the
    frame models (so this module cannot import it)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = cls.model_fields
        # The command's own headers go on the wire before inherited ones (content-type/-length).
        own = inspect.get_annotations(cls)
        names = sorted(
            (name for name in fields if name not in NOT_HEADERS), key=lambda n: n not in own
        )
        cls.header_fields = tuple((name, wire_name(name)) for name in names)
        cls.wire_fields = frozenset(wire for _, wire in cls.header_fields)
        cls.wire_forms = {
            version: tuple(tuple(wire_name(name) for name in form) for form in forms)
            for version, forms in (
                cls.version_forms if cls.decode_forms is None else cls.decode_forms
            ).items()
        }
        cls.wire_required = {
            version: frozenset(name for form in forms for name in form)
            for version, forms in cls.wire_forms.items()
            if forms
        }
        # Required fields that admit None: a 1.0 frame may lack them, so decoding passes None.
        cls.optional_required = tuple(
            wire_name(name)
            for name, info in fields.items()
            if info.is_required() and admits_none(info.annotation)
        )
        if cls.decoded_as_is:
            _check_plain(cls)
        cls.plan = Plan.of(cls)

    @model_validator(mode="after")
    def _check(self) -> Self:
        # Rules pydantic's types cannot state. Subclasses override `_check` (calling
        # `check_custom_headers` themselves), so each model costs one Python call.
        if self.headers:
            check_custom_headers(self.headers, self.wire_fields)
        return self

    def _missing(self, forms: tuple[Form, ...]) -> str | None:
        if not forms_unmet(self.__dict__, forms):
            return None
        wanted = " or ".join("+".join(wire_name(name) for name in form) for form in forms)
        return f"{self.command} needs header {wanted}"

    @classmethod
    def wire_problem(cls, headers: Mapping[str, str], version: Version) -> str | None:
        """Why decoded `headers` do not make a frame of `version`, or None if they do."""
        forms = cls.wire_forms.get(version)
        if not forms:
            return None
        for form in forms:
            if all(name in headers for name in form):
                return None
        wanted = " or ".join("+".join(form) for form in forms)
        return (
            f"{cls.model_fields['command'].default} frame lacks header {wanted} in STOMP {version}"
        )

    def version_problem(self, version: Version) -> str | None:
        """Why this frame cannot be carried by `version`, or None if it can."""
        if version not in self.version_forms and self.version_forms:
            return f"{self.command} frames do not exist in STOMP {version}"
        problem = self._missing(self.version_forms.get(version, ()))
        return None if problem is None else f"{problem} in STOMP {version}"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Show the command's own headers first, in wire order, as the frame reads on the wire.
        values = self.__dict__
        yield "command", self.command
        for name, _ in self.header_fields:
            yield name, values[name]
        yield "headers", dict(self.headers)
        if "body" in values:
            yield "body", values["body"]

    def __hash__(self) -> int:
        # Consistent with equality (the fields' values; custom headers compare as a dict does,
        # in any order). Every other field value is hashable: str, bytes, tuples, SecretStr.
        values = self.__dict__
        return hash(
            (
                type(self),
                frozenset(values["headers"].items()),
                *[value for name, value in values.items() if name != "headers"],
            )
        )

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        # Every field value is immutable (the headers' proxy cannot be deep-copied at all).
        return self.__copy__()

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        values = dict(state["__dict__"])
        values["headers"] = dict(values["headers"])  # a proxy cannot be pickled
        state["__dict__"] = values
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        values = dict(state["__dict__"])
        values["headers"] = MappingProxyType(values["headers"])
        super().__setstate__({**state, "__dict__": values})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with `update`, a new frame validated from this one's fields and the update
        (ValidationError if it is not a valid frame). Fields the model derives, such as a body
        frame's content-length, are derived again unless given."""
        if not update:
            return self.__copy__()  # frozen, and every value immutable: deep changes nothing
        field_of_wire = self.plan.field_of_wire
        changes = {field_of_wire.get(name, name): value for name, value in update.items()}
        return self.model_validate(self._copy_fields(changes))

    def _copy_fields(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The fields a copy with `changes` is validated from: those given when this frame was
        made (not ones its validator derived), updated."""
        values = self.__dict__
        fields = {name: values[name] for name in self.model_fields_set}
        fields.update(changes)
        return fields

    def wire_headers(self) -> list[tuple[str, str]]:
        """(name, text) of every header this frame puts on the wire, typed ones first."""
        values = self.__dict__
        pairs = []
        for name, wire in self.plan.header_fields:
            value = values[name]
            if value is not None:
                if type(value) is not str:
                    value = wire_value(value)
                    if value is None:
                        continue
                pairs.append((wire, value))
        pairs.extend(values["headers"].items())
        return pairs

    def to_wire(self, version: Version = "1.2") -> bytes:
        """The exact wire bytes of this frame in `version`; ValueError if it cannot carry it."""
        plan = self.plan
        values = self.__dict__
        forms = plan.encode_forms.get(version) if version in VERSIONS else None
        if forms is None or (forms and forms_unmet(values, forms)):
            if version not in VERSIONS:
                raise ValueError(f"unknown STOMP version {version!r}")
            raise ValueError(self.version_problem(version))
        # wire_headers; without custom headers, also as "name:value" lines, which frames of typed
        # headers alone mostly send as they are. Custom values often need escaping (ids and
        # URLs with colons): `frame_bytes` escapes all in one pass, so lines would be wasted.
        pairs = []
        custom = values["headers"]
        lines: list[str] | None = None if custom else []
        for name, wire in plan.header_fields:
            value = values[name]
            if value is not None:
                if type(value) is not str:
                    value = wire_value(value)
                    if value is None:
                        continue
                pairs.append((wire, value))
                if lines is not None:
                    lines.append(f"{wire}:{value}")
        command, body = values["command"], values.get("body", b"")
        if lines is None:
            pairs.extend(custom.items())
            return frame_bytes(command, pairs, body, version)
        data = encode_plain(command, lines, body, version)
        return data if data is not None else frame_bytes(command, pairs, body, version)

    @classmethod
    def from_wire(cls, data: bytes, version: Version = "1.2") -> Self:
        """Decode one complete frame of this command; anything else is a ProtocolError."""
        frame = FrameModel._parse_frame(data, version)
        if not isinstance(frame, cls):
            raise ProtocolError(f"expected a {cls.__name__} frame, got {frame.command}")
        return frame

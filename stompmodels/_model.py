"""The base of every frame model: wire names, version rules, to_wire/from_wire."""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Generic, Self, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._codec import encode_plain, frame_bytes
from ._errors import ProtocolError
from ._headers import wire_value
from ._spec import COMMANDS_BY_VERSION, VERSIONS, Version

_new: Final = object.__new__
# BaseModel's slots, set through their descriptors (cheaper than object.__setattr__).
_set_dict: Final = BaseModel.__dict__["__dict__"].__set__
_set_fields_set: Final = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra: Final = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private: Final = BaseModel.__dict__["__pydantic_private__"].__set__

# Design rule 3: the fields that are not headers. A wire header is matched only against the
# other fields' wire names, so a custom header called `body` or `headers` is kept, not lost.
NOT_HEADERS: Final = frozenset({"command", "headers", "body"})

Form = tuple[str, ...]
"""Field names that must all be set; a version lists the forms a frame may take."""

Layout = tuple[
    tuple[tuple[str, int], ...], tuple[tuple[str, int], ...], frozenset[str], frozenset[Version]
]
"""How to type a decoded frame whose header names are given, from its header values in the same
order: (field, index) of the typed headers, (name, index) of the custom ones, the fields it
marks as set, and the versions in which it needs no validation."""

_MAX_LAYOUTS: Final = 64

M = TypeVar("M", bound="FrameModel")


def wire_name(field_name: str) -> str:
    """The header name of a field: `message_id` -> `message-id`."""
    return field_name.replace("_", "-")


def _admits_none(annotation: object) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _check_plain(cls: type[FrameModel]) -> None:
    """Refuse `decoded_as_is` on a model that validation would change or check beyond types."""
    plain = (str, str | None)
    for name, info in cls.model_fields.items():
        if name not in NOT_HEADERS and name != "content_length" and info.annotation not in plain:
            raise TypeError(f"{cls.__name__}.{name} is not a plain str: decode it validated")
    if cls.__pydantic_post_init__ is not None or cls.__private_attributes__:
        raise TypeError(f"{cls.__name__} has post-init or private state: decode it validated")


def check_custom_headers(headers: Mapping[str, str], typed: frozenset[str]) -> None:
    """Custom headers have names, never shadow a typed header, and declare no body."""
    if "" in headers:
        raise ValueError("a custom header name cannot be empty")
    shadowed = headers.keys() & typed
    if shadowed:
        name = min(shadowed)
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
    )

    command: str
    headers: dict[str, str] = Field(default_factory=dict)
    """Custom headers, in wire order; never one of the model's typed headers."""

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
            if info.is_required() and _admits_none(info.annotation)
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
        if not _missing(self.__dict__, forms):
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
        yield "headers", self.headers
        if "body" in values:
            yield "body", values["body"]

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
        if forms is None or (forms and _missing(values, forms)):
            if version not in VERSIONS:
                raise ValueError(f"unknown STOMP version {version!r}")
            raise ValueError(self.version_problem(version))
        # wire_headers, and the same as "name:value" lines, which most frames send as they are.
        pairs, lines = [], []
        for name, wire in plan.header_fields:
            value = values[name]
            if value is not None:
                if type(value) is not str:
                    value = wire_value(value)
                    if value is None:
                        continue
                pairs.append((wire, value))
                lines.append(f"{wire}:{value}")
        custom = values["headers"]
        if custom:
            pairs.extend(custom.items())
            lines.extend(map(":".join, custom.items()))
        command, body = values["command"], values.get("body", b"")
        data = encode_plain(command, lines, body, version)
        return data if data is not None else frame_bytes(command, pairs, body, version)

    @classmethod
    def from_wire(cls, data: bytes, version: Version = "1.2") -> Self:
        """Decode one complete frame of this command; anything else is a ProtocolError."""
        from ._decoder import parse_frame

        frame = parse_frame(data, version)
        if not isinstance(frame, cls):
            raise ProtocolError(f"expected a {cls.__name__} frame, got {frame.command}")
        return frame


@dataclass(frozen=True, slots=True, eq=False)
class Plan(Generic[M]):
    """What the per-frame paths need of a model class, read from one plain object: a pydantic
    model class answers attribute lookups several times slower."""

    model: type[M]
    header_fields: tuple[tuple[str, str], ...]
    encode_forms: dict[Version, tuple[Form, ...]]
    """The forms `to_wire` checks, for each version that has the command."""
    wire_required: dict[Version, frozenset[str]]
    decoded_as_is: bool
    carries_body: bool
    wire_needed: frozenset[str]
    """Wire names of the required headers that cannot be None (validation fails without)."""
    field_defaults: dict[str, Any]
    """Every field, in field order, with its default (None for a required one)."""
    field_of_wire: dict[str, str]
    decoded_fields: frozenset[str]
    """Fields a decoded frame marks as set whatever headers it had (as validation does)."""
    layouts: dict[tuple[str, ...], Layout]
    """`layout` of the header names met so far (at most `_MAX_LAYOUTS`: the peer picks them)."""

    @classmethod
    def of(cls, model: type[M]) -> Plan[M]:
        """The plan of `model`, computed once when the class is made."""
        fields = model.model_fields
        encode_forms = model.version_forms or dict.fromkeys(VERSIONS, ())
        command = fields["command"].default  # not a str on the bases (BodyFrame, ...)
        if isinstance(command, str) and any(
            (version in encode_forms) != (command in COMMANDS_BY_VERSION[version])
            for version in VERSIONS
        ):  # to_wire relies on it: a version has forms for a command iff it has the command
            raise TypeError(f"{model.__name__}.version_forms must list the versions of {command}")
        field_of_wire = {wire: name for name, wire in model.header_fields}
        carries_body = "body" in fields
        always = {"command", "headers", *(field_of_wire[n] for n in model.optional_required)}
        return cls(
            model=model,
            header_fields=model.header_fields,
            encode_forms=encode_forms,
            wire_required=model.wire_required,
            decoded_as_is=model.decoded_as_is,
            carries_body=carries_body,
            wire_needed=frozenset(
                wire_name(name)
                for name, info in fields.items()
                if info.is_required() and not _admits_none(info.annotation)
            ),
            field_defaults={
                name: None if info.is_required() or info.default_factory else info.default
                for name, info in fields.items()
            },
            field_of_wire=field_of_wire,
            decoded_fields=frozenset(
                always | {"body", "content_length"} if carries_body else always
            ),
            layouts={},
        )

    def layout(self, names: tuple[str, ...]) -> Layout:
        """How to type a decoded frame whose headers are `names`, in wire order."""
        layout = self.layouts.get(names)
        if layout is None:
            field_of = self.field_of_wire
            present = frozenset(names)
            # A frame that cannot have a body may declare content-length 0 in some spelling:
            # only the model's validator judges it. One that can takes it from the reader.
            as_is = self.decoded_as_is and self.wire_needed <= present
            if self.carries_body:
                field_of = {wire: f for wire, f in field_of.items() if wire != "content-length"}
            elif "content-length" in present:
                as_is = False
            typed = tuple((field_of[name], i) for i, name in enumerate(names) if name in field_of)
            versions = frozenset(
                version
                for version in VERSIONS
                if as_is and self.wire_required.get(version, frozenset()) <= present
            )
            layout = (
                typed,
                tuple((name, i) for i, name in enumerate(names) if name not in self.field_of_wire),
                self.decoded_fields | {field for field, _ in typed},
                versions,
            )
            if len(self.layouts) < _MAX_LAYOUTS:
                self.layouts[names] = layout
        return layout

    def decoded(
        self, layout: Layout, values: tuple[str, ...], body: bytes, length: int | None
    ) -> M:
        """The frame a decoded head's header `values` make, in the order of the names that
        `layout` was made for, if the decoding version is one of the layout's (no validation
        is needed then). For a body frame, `length` is the content-length the body has."""
        typed, custom_names, fields_set, _ = layout
        fields = self.field_defaults.copy()
        for field, index in typed:
            fields[field] = values[index]
        custom = {}
        for name, index in custom_names:
            custom[name] = values[index]
        fields["headers"] = custom
        if self.carries_body:
            fields["body"] = body
            fields["content_length"] = length  # None: absent on the wire stays absent
        # `construct`, inline: this runs once per frame received.
        frame = _new(self.model)
        _set_dict(frame, fields)
        _set_fields_set(frame, set(fields_set))
        _set_extra(frame, None)
        _set_private(frame, None)
        return frame

    def valid(self, fields: dict[str, Any], **derived: Any) -> M:
        """`model(**fields)` without validation, for fields valid by construction: the caller
        proves that validation would accept them unchanged, and gives the fields that the
        model's validator would then set as `derived`."""
        values = self.field_defaults.copy()
        values["headers"] = {}
        values.update(fields)
        if derived:
            values.update(derived)
        return construct(self.model, values, set(fields))


def construct(model: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """A frame of `values` (every field, in field order), without validation.

    Only for values valid by construction, which the caller proves. The slots are set as
    pydantic's `model_construct` sets them (its own per-field loop costs more than validating);
    `fields_set` is what validation would have recorded as given.
    """
    frame = _new(model)
    _set_dict(frame, values)
    _set_fields_set(frame, fields_set)
    _set_extra(frame, None)
    _set_private(frame, None)
    return frame


def _missing(values: dict[str, Any], forms: tuple[Form, ...]) -> bool:
    """Whether no form has all its fields set (False when there are no forms)."""
    for form in forms:
        for name in form:
            if values[name] is None:
                break
        else:
            return False  # every header of this form is set
    return bool(forms)

"""What the per-frame paths need of a frame model, read from plain objects: header names, the
layouts that type a decoded head, and frames built without validation."""

from __future__ import annotations

import types
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from ._errors import ProtocolError
from ._headers import EMPTY_HEADERS
from ._spec import COMMANDS_BY_VERSION, VERSIONS, Version

if TYPE_CHECKING:
    from ._model import FrameModel

_new: Final = object.__new__
# BaseModel's slots, set through their descriptors (cheaper than object.__setattr__).
_set_dict: Final = BaseModel.__dict__["__dict__"].__set__
_set_fields_set: Final = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra: Final = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private: Final = BaseModel.__dict__["__pydantic_private__"].__set__

Form = tuple[str, ...]
"""Field names that must all be set; a version lists the forms a frame may take."""

Layout = tuple[
    tuple[tuple[str, int], ...],
    tuple[tuple[str, int], ...],
    frozenset[str],
    frozenset[Version],
    tuple[tuple[str, int], ...],
]
"""How to type a decoded frame whose header names are given, from its header values in the same
order: (field, index) of the typed headers, (name, index) of the custom ones, the fields it
marks as set, the versions in which it needs no validation, and (wire name, index) of the
typed headers that must not be empty (`NonEmpty`: validation would refuse an empty one)."""

_MAX_LAYOUTS: Final = 64
_read_only: Final = MappingProxyType

M = TypeVar("M", bound="FrameModel")


def wire_name(field_name: str) -> str:
    """The header name of a field: `message_id` -> `message-id`."""
    return field_name.replace("_", "-")


def admits_none(annotation: object) -> bool:
    """Whether a field of this annotation may be None."""
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


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
    nonempty: frozenset[str]
    """Fields that are a `NonEmpty` str."""
    typed_of_wire: dict[str, str]
    """`field_of_wire` without content-length for a body frame (the reader gives it)."""
    needed: dict[Version, frozenset[str]]
    """Wire names a decoded head must have to be typed as it is, per version."""

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
        wire_needed = frozenset(
            wire_name(name)
            for name, info in fields.items()
            if info.is_required() and not admits_none(info.annotation)
        )
        return cls(
            model=model,
            header_fields=model.header_fields,
            encode_forms=encode_forms,
            wire_required=model.wire_required,
            decoded_as_is=model.decoded_as_is,
            carries_body=carries_body,
            wire_needed=wire_needed,
            field_defaults={
                name: None
                if info.is_required()
                else info.get_default(call_default_factory=True, validated_data={})
                if info.default_factory
                else info.default
                for name, info in fields.items()
            },
            field_of_wire=field_of_wire,
            decoded_fields=frozenset(
                always | {"body", "content_length"} if carries_body else always
            ),
            layouts={},
            nonempty=frozenset(
                name
                for name, info in fields.items()
                if any(getattr(m, "min_length", 0) for m in info.metadata)
            ),
            typed_of_wire={
                wire: name
                for wire, name in field_of_wire.items()
                if not (carries_body and wire == "content-length")
            },
            needed={
                version: model.wire_required.get(version, frozenset()) | wire_needed
                for version in VERSIONS
            },
        )

    def layout(self, names: tuple[str, ...]) -> Layout:
        """How to type a decoded frame whose headers are `names`, in wire order."""
        layout = self.layouts.get(names)
        if layout is None:
            field_of = self.typed_of_wire
            present = frozenset(names)
            # A frame that cannot have a body may declare content-length 0 in some spelling:
            # only the model's validator judges it. One that can takes it from the reader.
            as_is = self.decoded_as_is and (self.carries_body or "content-length" not in present)
            typed = tuple((field_of[name], i) for i, name in enumerate(names) if name in field_of)
            versions = frozenset(
                version for version in VERSIONS if as_is and self.needed[version] <= present
            )
            layout = (
                typed,
                tuple((name, i) for i, name in enumerate(names) if name not in self.field_of_wire),
                self.decoded_fields | {field for field, _ in typed},
                versions,
                tuple((names[i], i) for field, i in typed if field in self.nonempty),
            )
            if len(self.layouts) < _MAX_LAYOUTS:
                self.layouts[names] = layout
        return layout

    def from_headers(
        self, headers: dict[str, str], version: Version, body: bytes, length: int | None
    ) -> M | None:
        """The frame of a decoded head's `headers` (wire order) typed without validation, as
        `decoded` types it, when no validation is needed; None otherwise (`headers` is then
        untouched). The frame takes `headers` over. For a head seen once, this costs less than
        making its layout."""
        if not self.decoded_as_is:
            return None
        for wire in self.needed[version]:
            if wire not in headers:
                return None
        if not self.carries_body and "content-length" in headers:
            return None  # only the model's validator judges a content-length there
        # The typed headers are taken out of `headers` (the decoder's own dict): what stays
        # are the custom ones, in wire order.
        fields = self.field_defaults.copy()
        fields_set = set(self.decoded_fields)
        pop = headers.pop
        for wire, field in self.typed_of_wire.items():
            value = pop(wire, None)
            if value is not None:
                if not value and field in self.nonempty:
                    command = self.model.model_fields["command"].default
                    receipt = headers.get("receipt") or fields.get("receipt")
                    raise ProtocolError(
                        f"{command} header {wire!r} must not be empty", receipt=receipt
                    )
                fields[field] = value
                fields_set.add(field)
        pop("content-length", None)  # a body frame's: the reader gives `length`
        if headers:
            fields["headers"] = _read_only(headers)
        if self.carries_body:
            fields["body"] = body
            fields["content_length"] = length
        return construct(self.model, fields, fields_set)

    def decoded(
        self, layout: Layout, values: tuple[str, ...], body: bytes, length: int | None
    ) -> M:
        """The frame a decoded head's header `values` make, in the order of the names that
        `layout` was made for, if the decoding version is one of the layout's (no validation
        is needed then). For a body frame, `length` is the content-length the body has."""
        typed, custom_names, fields_set, _, nonempty = layout
        for name, index in nonempty:
            if not values[index]:
                command = self.model.model_fields["command"].default
                receipt = next((values[i] for field, i in typed if field == "receipt"), None)
                raise ProtocolError(f"{command} header {name!r} must not be empty", receipt=receipt)
        fields = self.field_defaults.copy()
        for field, index in typed:
            fields[field] = values[index]
        if custom_names:
            custom = {}
            for name, index in custom_names:
                custom[name] = values[index]
            fields["headers"] = _read_only(custom)  # the dict is ours alone: no copy
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
        values.update(fields)
        custom = values["headers"]
        if type(custom) is dict:  # the caller's own new dict, which nobody else holds
            values["headers"] = _read_only(custom) if custom else EMPTY_HEADERS
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


def forms_unmet(values: dict[str, Any], forms: tuple[Form, ...]) -> bool:
    """Whether no form has all its fields set (False when there are no forms)."""
    for form in forms:
        for name in form:
            if values[name] is None:
                break
        else:
            return False  # every header of this form is set
    return bool(forms)

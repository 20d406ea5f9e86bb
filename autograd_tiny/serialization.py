"""Model files: a module's class, architecture and parameters as readable JSON.

`Module.save` is `save`, `Module.load` is `load_into`, and `autograd_tiny.nn.load` is `build`
given the built-in classes; all three go through `write_model_file` and `read_model_file`.
A file looks like this, one weight row per line::

    {
      "format": "autograd_tiny",
      "version": 1,
      "class": "MLP",
      "architecture": {"nin": 2, "nouts": [3, 1], "activation": "relu", "output_activation": "linear"},
      "parameters": {
        "layers.0.weight": [
          [0.51, -0.32],
          ...
        ],
        "layers.0.bias": [0.0, 0.0, 0.0],
        ...
      }
    }

``architecture`` is null for modules that only their own code can build (your subclasses).

Reading checks everything before anyone uses the numbers: the file's size (at most
`MAX_FILE_BYTES`), valid UTF-8 JSON that is not absurdly nested, the format and a known
version, and parameters that are finite numbers in nested lists (at most `MAX_DEPTH` deep), at
most `MAX_PARAMETERS` of them. Any problem is one `ValueError` naming the file and the problem. Writing is atomic (see
`autograd_tiny._files`): a crash leaves the old file or the complete new one.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> arch, params = {"nin": 2, "activation": "linear"}, {"weight": [0.5, -1.0], "bias": 0.25}
    >>> write_model_file(path, "Neuron", arch, params)
    >>> read_model_file(path).parameters["weight"]
    [0.5, -1.0]
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ._files import write_atomically
from .checks import describe, is_real

if TYPE_CHECKING:  # (module.py imports this file: the type is for the checker only)
    from .module import Module

__all__ = ["ModelFile", "save", "load_into", "build", "read_model_file", "write_model_file", "FORMAT",
           "VERSION", "MAX_FILE_BYTES", "MAX_PARAMETERS", "MAX_DEPTH"]

FORMAT = "autograd_tiny"
VERSION = 1  # the versions this code reads; 0.1 wrote version 1 too
MAX_FILE_BYTES = 64 * 2**20  # a million parameters take about 20 MB
MAX_PARAMETERS = 1_000_000  # about 200 MB of Values: beyond what a scalar engine trains
MAX_DEPTH = 100  # lists within lists in one parameter; Python's JSON reader stops near 1,000

_KEYS = ("format", "version", "class", "architecture", "parameters")


class ModelFile(NamedTuple):
    """What a model file holds, checked: the class name, its architecture (or None) and the
    parameters by name, as numbers or nested lists of numbers."""

    class_name: str
    architecture: dict[str, Any] | None
    parameters: dict[str, Any]


def save(module: Module, path: str | os.PathLike) -> None:
    """Write `module`'s parameters, and a built-in's architecture, to `path` (`Module.save`).

    Example:
        >>> import os, tempfile
        >>> from autograd_tiny.nn import Neuron
        >>> path = os.path.join(tempfile.mkdtemp(), "n.json")
        >>> save(Neuron(2, seed=0), path)
        >>> read_model_file(path).architecture
        {'nin': 2, 'activation': 'relu'}
    """
    write_model_file(path, type(module).__name__, module._architecture(), module.state_dict())


def load_into(module: Module, path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES,
              max_parameters: int = MAX_PARAMETERS) -> None:
    """Copy the parameters saved in `path` into `module`, after checking them all (`Module.load`).

    A file written by a built-in of the same class must hold the same architecture.

    Example:
        >>> import os, tempfile
        >>> from autograd_tiny.nn import Neuron
        >>> path = os.path.join(tempfile.mkdtemp(), "n.json")
        >>> a, b = Neuron(2, seed=0), Neuron(2, seed=1)
        >>> save(a, path)
        >>> load_into(b, path)
        >>> b.state_dict() == a.state_dict()
        True
    """
    where = os.fspath(path)
    saved = read_model_file(where, max_bytes=max_bytes, max_parameters=max_parameters)
    mine = module._architecture()
    if saved.class_name == type(module).__name__ and saved.architecture is not None and mine is not None:
        theirs = {k: v for k, v in saved.architecture.items() if k != "fused"}
        if theirs != mine:
            raise ValueError(f"load: {where} holds {saved.class_name} {describe(theirs)}, not {module!r}")
    try:
        module.load_state_dict(saved.parameters)
    except ValueError as err:
        raise ValueError(f"load: {where}: {err}") from None


def build(path: str | os.PathLike, classes: Mapping[str, Any], *, max_bytes: int = MAX_FILE_BYTES,
          max_parameters: int = MAX_PARAMETERS) -> Module:
    """A new module built from a file, for the classes that can rebuild themselves (`nn.load`).

    Args:
        path: a file written by `save`.
        classes: class names to classes; each has a static ``_shapes(architecture)`` (the
            parameters' shapes, after checking the architecture strictly) and is built as
            ``cls(**architecture, seed=0)``.
        max_bytes, max_parameters: the caps of `read_model_file`.

    The architecture is checked against the parameters in the file before anything is built.

    Example:
        >>> import os, tempfile
        >>> from autograd_tiny.nn import Layer
        >>> path = os.path.join(tempfile.mkdtemp(), "layer.json")
        >>> save(Layer(3, 2, seed=0), path)
        >>> build(path, {"Layer": Layer})
        Layer(nin=3, nout=2, activation='relu')
    """
    where = os.fspath(path)
    saved = read_model_file(where, max_bytes=max_bytes, max_parameters=max_parameters)
    cls = classes.get(saved.class_name)
    if cls is None or saved.architecture is None:
        raise ValueError(f"load: {where} holds a {describe(saved.class_name)}, which nn.load cannot build "
                         f"(it builds {', '.join(classes)}): make one and call its .load(path)")
    try:
        shapes = cls._shapes(saved.architecture)
    except ValueError as err:
        raise ValueError(f"load: {where}: bad architecture {describe(saved.architecture)}: {err}") from None
    # The file holds at most max_parameters numbers (read_model_file counted them): parameters
    # of exactly the architecture's shapes mean that building it costs no more than that.
    if list(saved.parameters) != list(shapes):
        raise ValueError(f"load: {where}: the parameters should be {describe(list(shapes))} for the "
                         f"architecture {describe(saved.architecture)}, the file has "
                         f"{describe(list(saved.parameters))}")
    for key, shape in shapes.items():
        if not _has_shape(saved.parameters[key], shape):
            raise ValueError(f"load: {where}: parameter {key!r} should be {_shape_words(shape)} "
                             f"for the architecture {describe(saved.architecture)}")
    model = cls(**saved.architecture, seed=0)  # sizes checked: building is cheap now
    try:
        model.load_state_dict(saved.parameters)
    except ValueError as err:
        raise ValueError(f"load: {where}: {err}") from None
    return model


def write_model_file(path: str | os.PathLike, class_name: str, architecture: dict[str, Any] | None,
                     parameters: dict[str, Any]) -> None:
    """Write one model file atomically, after checking that every parameter is a finite number.

    Args:
        path: where to write (a symlink is followed; an existing file keeps its permissions).
        class_name: the module's class, e.g. ``"MLP"``.
        architecture: the arguments that rebuild it, or None.
        parameters: a state_dict: names to numbers or nested lists of numbers.
    """
    for key, values in parameters.items():
        _count_numbers(f"save: {os.fspath(path)}", key, values)
    lines = ["{", f'  "format": "{FORMAT}",', f'  "version": {VERSION},',
             f'  "class": {json.dumps(class_name)},', f'  "architecture": {json.dumps(architecture)},',
             '  "parameters": {']
    for i, (key, values) in enumerate(parameters.items()):
        comma = "," if i < len(parameters) - 1 else ""
        lines.append(f"    {json.dumps(key)}: {_rows(values)}{comma}")
    lines += ["  }", "}", ""]
    write_atomically(path, "\n".join(lines))


def read_model_file(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES,
                    max_parameters: int = MAX_PARAMETERS) -> ModelFile:
    """Read and check a model file; any problem is a `ValueError` that names the file.

    Args:
        path: the file written by `write_model_file` (or by autograd_tiny 0.1's ``save``).
        max_bytes, max_parameters: the caps; raise them to read a bigger model on purpose.
    """
    where = os.fspath(path)
    doc = _parse(where, max_bytes)
    if not isinstance(doc, dict):
        raise ValueError(f"load: {where} should hold a JSON object, got {type(doc).__name__}")
    for key in _KEYS:
        if key not in doc:
            raise ValueError(f"load: {where} has no {key!r} entry")
    extra = [key for key in doc if key not in _KEYS]
    if extra:
        raise ValueError(f"load: {where}: unexpected entry {describe(extra[0])} "
                         f"(expected {', '.join(_KEYS)})")
    if doc["format"] != FORMAT:
        raise ValueError(f"load: {where} is not an autograd_tiny model (format {describe(doc['format'])})")
    if type(doc["version"]) is not int or doc["version"] != VERSION:
        raise ValueError(f"load: {where}: unknown version {describe(doc['version'])} "
                         f"(this autograd_tiny reads version {VERSION}; a newer one may read it)")
    if not isinstance(doc["class"], str) or not doc["class"]:
        raise ValueError(f"load: {where}: 'class' should be a class name, got {describe(doc['class'])}")
    if doc["architecture"] is not None and not isinstance(doc["architecture"], dict):
        raise ValueError(f"load: {where}: 'architecture' should be an object or null, "
                         f"got {describe(doc['architecture'])}")
    parameters = doc["parameters"]
    if not isinstance(parameters, dict):
        raise ValueError(f"load: {where}: 'parameters' should be an object, got {describe(parameters)}")
    count = 0
    for key, values in parameters.items():
        count += _count_numbers(f"load: {where}", key, values)
        if count > max_parameters:
            raise ValueError(f"load: {where} holds more than {max_parameters:,} parameters "
                             "(the cap: pass max_parameters= to read it anyway)")
    return ModelFile(doc["class"], doc["architecture"], parameters)


# ---------------------------------------------------------------------- helpers


def _parse(where: str, max_bytes: int) -> Any:
    """The file's JSON, read with a size cap; NaN, Infinity and deep nesting are refused."""
    try:
        with open(where, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as err:
        raise ValueError(f"load: cannot read {where}: {err.strerror or err}") from None
    if len(raw) > max_bytes:
        raise ValueError(f"load: {where} is larger than {max_bytes:,} bytes "
                         "(the cap: pass max_bytes= to read it anyway)")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as err:
        raise ValueError(f"load: {where} is not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"load: {where} is not valid JSON ({err})") from None
    except RecursionError:
        raise ValueError(f"load: {where} is nested too deeply to be a model file") from None
    except ValueError as err:  # NaN or Infinity, or an integer of more than 4,300 digits
        raise ValueError(f"load: {where}: {err}") from None


def _reject_constant(name: str):
    raise ValueError(f"the file holds {name}; parameters must be finite numbers")


def _count_numbers(prefix: str, key: str, values: Any) -> int:
    """How many numbers `values` (a number or nested lists) holds, after checking that each is a
    finite real number and that the lists are at most `MAX_DEPTH` deep (without recursion, so
    that a deep list is an error, not a RecursionError)."""
    count, stack = 0, [(values, 0)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, list):
            if depth == MAX_DEPTH:
                raise ValueError(f"{prefix}: parameter {key!r} has lists nested more than {MAX_DEPTH} deep "
                                 "(a model file holds at most that)")
            stack.extend((item, depth + 1) for item in x)
            continue
        if not is_real(x):
            raise ValueError(f"{prefix}: parameter {key!r} holds {type(x).__name__} {describe(x)}, "
                             "not a number")
        try:
            finite = math.isfinite(x)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            raise ValueError(f"{prefix}: parameter {key!r} holds {describe(x)}; "
                             "parameters must be finite numbers (within ±1.8e308)")
        count += 1
    return count


def _rows(values: Any) -> str:
    """A number, a list on one line, or a list of lists with one row per line."""
    if isinstance(values, list) and values and isinstance(values[0], list):
        rows = ",\n      ".join(json.dumps(row) for row in values)
        return f"[\n      {rows}\n    ]"
    return json.dumps(values)


def _has_shape(values: Any, shape: tuple[int, ...]) -> bool:
    """Whether nested lists `values` are exactly `shape` (their numbers are checked elsewhere)."""
    level = [values]
    for size in shape:
        if not all(isinstance(v, list) and len(v) == size for v in level):
            return False
        level = [x for v in level for x in v]
    return not any(isinstance(v, list) for v in level)


def _shape_words(shape: tuple[int, ...]) -> str:
    return "a number" if not shape else "a list of " + " x ".join(map(describe, shape))

"""Tests of autograd_tiny.serialization: the model file format read and written directly, its caps,
and the checks that keep a bad file from reaching a model."""

import json
import math

import pytest

from autograd_tiny import Value
from autograd_tiny.nn import Module
from autograd_tiny.serialization import read_model_file, write_model_file


def test_written_files_read_back_with_the_same_numbers(tmp_path):
    """Numbers of any depth (a number, a list, a list of lists of lists) come back equal, bit for bit."""
    params = {"s": 0.1, "v": [1e-300, -2.5, 7], "cube": [[[0.1, 0.2], [0.3, 0.4]], [[1 / 3, 2 / 3], [-0.0, 5e-324]]]}
    write_model_file(tmp_path / "m.json", "Mine", None, params)
    saved = read_model_file(tmp_path / "m.json")
    assert (saved.class_name, saved.architecture, saved.parameters) == ("Mine", None, params)
    assert math.copysign(1, saved.parameters["cube"][1][1][0]) == -1.0  # -0.0 stays -0.0


def test_a_module_with_nested_lists_of_values_saves_and_loads(tmp_path):
    """A user module holding a 2 x 2 x 2 list of Values round-trips through a file."""

    class Cube(Module):
        def __init__(self, start):
            self.t = [[[Value(start + 4 * i + 2 * j + k) for k in range(2)] for j in range(2)] for i in range(2)]

    a, b = Cube(0.5), Cube(-9.0)
    a.save(tmp_path / "cube.json")
    b.load(tmp_path / "cube.json")
    assert b.state_dict() == a.state_dict() == {"t": [[[0.5, 1.5], [2.5, 3.5]], [[4.5, 5.5], [6.5, 7.5]]]}


@pytest.mark.parametrize("value, match", [
    (math.inf, "parameter 'p' holds inf; parameters must be finite numbers"),
    (Value(1.0), "parameter 'p' holds Value .*, not a number"),
    (True, "parameter 'p' holds bool True, not a number"),
    ("1.0", "parameter 'p' holds str '1.0', not a number"),
])
def test_write_refuses_what_is_not_a_finite_number_and_writes_nothing(tmp_path, value, match):
    """Infinity, a Value (as after create_graph updates), a bool or a string is refused before writing."""
    with pytest.raises(ValueError, match=match):
        write_model_file(tmp_path / "m.json", "Mine", None, {"p": [0.0, value]})
    assert list(tmp_path.iterdir()) == []


def test_a_file_over_the_parameter_cap_is_refused(tmp_path):
    """read_model_file counts the numbers and refuses more than max_parameters, saying how to raise it."""
    write_model_file(tmp_path / "m.json", "Mine", None, {"a": [0.0] * 6, "b": [[1.0] * 3] * 2})
    assert read_model_file(tmp_path / "m.json", max_parameters=12).parameters["a"] == [0.0] * 6
    with pytest.raises(ValueError, match="holds more than 11 parameters .*max_parameters="):
        read_model_file(tmp_path / "m.json", max_parameters=11)


@pytest.mark.parametrize("doc, match", [
    ({"format": "autograd_tiny", "version": 1, "class": "", "architecture": None, "parameters": {}}, "'class' should be"),
    ({"format": "autograd_tiny", "version": 1, "class": "A", "architecture": [1], "parameters": {}},
     "'architecture' should be an object or null"),
    ({"format": "autograd_tiny", "version": 1, "class": "A", "architecture": None, "parameters": [1.0]},
     "'parameters' should be an object"),
    ({"format": "autograd_tiny", "version": 1.0, "class": "A", "architecture": None, "parameters": {}},
     "unknown version 1.0"),
])
def test_read_refuses_entries_of_the_wrong_type(tmp_path, doc, match):
    """A class that is not a name, an architecture or parameters of the wrong type, and a version that
    is not the integer 1 are ValueErrors naming the entry."""
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=match):
        read_model_file(path)


def test_a_missing_file_is_a_value_error_naming_it(tmp_path):
    """A path that does not exist gives 'cannot read' and the path."""
    with pytest.raises(ValueError, match="cannot read .*nothing.json: No such file"):
        read_model_file(tmp_path / "nothing.json")

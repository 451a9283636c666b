"""Make the serializer unable to write one element, to test that deploy then refuses cleanly."""
from __future__ import annotations


def make_unstorable(sg, monkeypatch, element_id: str) -> None:
    """Make the serializer unable to write one element's task spec, as it is for a type it does not know."""
    real = sg.specs._serializer.to_dict

    def to_dict(obj):
        ids = {getattr(t, "bpmn_id", None) for t in getattr(obj, "task_specs", {}).values()}
        if getattr(obj, "bpmn_id", None) == element_id or element_id in ids:
            raise TypeError(f"no converter for {type(obj).__name__}")
        return real(obj)
    monkeypatch.setattr(sg.specs._serializer, "to_dict", to_dict)

"""Deploy-time checks on message elements: a message the engine would wait for forever, or send
nowhere, is refused, each with the reason."""
from __future__ import annotations

# The element types that catch a message.
CATCHING = {"startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask"}


def message_problem(el: dict) -> str | None:
    """Why the engine cannot honour this element's message, if it cannot."""
    message = el.get("message")
    if message is None:
        return None
    tag = el["type"]
    if tag == "sendTask":
        return None  # refused with the unsupported types
    if tag not in CATCHING:
        return (f"a {tag} that sends a message is not supported: the engine has no outgoing message transport "
                "(use a service task for the system that should hear of it)")
    if el.get("parent") is not None and tag == "startEvent":
        return ("a message start event of an event sub-process is not supported yet; catch the message with a "
                "boundary event or a receive task")
    if not message["ref"]:
        return (f"the {tag} names no message (messageRef): give it a bpmn:message with a name, which is what "
                "senders of POST /api/v1/messages give as the message name")
    if not message["name"]:
        return f"the message '{message['ref']}' has no name: senders correlate by the message's name, so give it one"
    if message.get("correlated"):
        return (f"the message '{message['name']}' has correlation properties, which the engine does not evaluate; "
                "correlate with the business key (the deal's number) or correlation keys in the request")
    return None

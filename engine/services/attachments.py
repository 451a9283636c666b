"""Files attached to a deal or one of its tasks: checked for size and type, kept in a file store
(never in the rows a step rewrites), each upload and download an audit event.

Who: anyone who may see the deal attaches to it (a task: whoever may work it); anyone who may see
it downloads, auditors included (a download changes nothing, but is recorded).
"""
from __future__ import annotations

import re
import unicodedata
from itertools import chain

from sqlalchemy import select

from engine import audit
from engine.actors import load_user
from engine.assignment import flags
from engine.clock import iso
from engine.store.models.collab import Attachment
from engine.errors import FormInvalid, NotFound, Refused
from engine.store.file_store import FileStore, TooLarge, chunks_of, new_key
from engine.store.models import HumanTask
from engine.readonly import audited_refusals, forbid_auditor
from engine.visibility import visible_deal

MAX_BYTES = 25 * 1024 * 1024  # a signed contract or a proposal deck; bigger files belong in a DMS
MAX_NAME = 200
# What a deal needs (documents, sheets, slides, images, plain text), by extension, with how the
# first bytes must look: a file whose content does not match its name is refused.
_ZIP, _OLE = (b"PK\x03\x04",), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    "odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
    "doc": ("application/msword", _OLE),
    "xls": ("application/vnd.ms-excel", _OLE),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
    "eml": ("message/rfc822", None),
}
ALLOWED = ", ".join(sorted(TYPES))


def clean_name(name: str | None) -> str:
    """The file's own name as the user's system gave it, without folders or control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    base = base.lstrip(".") or "file"
    stem, dot, ext = base.rpartition(".")
    if len(base) > MAX_NAME:
        base = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot else base[:MAX_NAME]
    return base


def _utf8(head: bytes) -> bool:
    """UTF-8 text, allowing a character cut off at the end of the sample."""
    for cut in range(4):
        try:
            head[:len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _type_of(name: str, head: bytes) -> str:
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if ext not in TYPES:
        raise FormInvalid(errors={"file": f"is a .{ext or '(no extension)'} file; allowed: {ALLOWED}"}, values={})
    content_type, magic = TYPES[ext]
    if magic is None:
        if b"\x00" in head or not _utf8(head):
            raise FormInvalid(errors={"file": f"is not UTF-8 text, as a .{ext} file must be"}, values={})
    elif not head.startswith(magic):
        raise FormInvalid(errors={"file": f"does not look like a .{ext} file (its content is of another kind)"},
                          values={})
    return content_type


def _row(a: Attachment) -> dict:
    return {"id": a.id, "instance_id": a.instance_id, "task_id": a.task_id, "file_name": a.file_name,
            "content_type": a.content_type, "size": a.size, "sha256": a.sha256, "uploaded_by": a.uploaded_by,
            "at": iso(a.uploaded_at)}


def _check_may_attach(sg, s, instance_id: int, actor: str, task_id: str | None):
    who = load_user(s, actor)
    forbid_auditor(who, "attach a file", int(instance_id))
    inst = visible_deal(sg, s, instance_id, actor)
    if task_id is not None:
        ht = s.get(HumanTask, str(task_id))
        if ht is None or ht.instance_id != inst.id:
            raise NotFound(f"no task {task_id} on deal #{inst.id}")
        if not flags(who, ht)["may_work"]:
            raise Refused(f"{actor} may not work on '{ht.name}', so may not attach files to it")
    return inst


@audited_refusals
def upload(sg, store: FileStore, instance_id: int, actor: str, file_name: str | None, stream,
           task_id: str | None = None, max_bytes: int = MAX_BYTES) -> dict:
    """Attach a file (read from the binary `stream`) to a deal or one of its tasks."""
    name = clean_name(file_name)
    with sg.uow(write=False) as uow:  # refuse before reading a byte of a file nobody may attach
        _check_may_attach(sg, uow.session, instance_id, actor, task_id)
    head = stream.read(4096)
    content_type = _type_of(name, head)
    key = new_key(instance_id)
    try:
        size, sha = store.put(key, chain([head], chunks_of(stream)), max_bytes)
    except TooLarge:
        limit = f"{max_bytes / 1048576:g} MB" if max_bytes >= 1048576 else f"{max_bytes:,} bytes"
        raise FormInvalid(errors={"file": f"is larger than the limit of {limit}"}, values={}) from None
    if size == 0:
        store.delete(key)
        raise FormInvalid(errors={"file": "is empty"}, values={})
    try:
        with sg.uow() as uow:
            s = uow.session
            inst = _check_may_attach(sg, s, instance_id, actor, task_id)
            now = sg.now()
            a = Attachment(instance_id=inst.id, task_id=task_id, file_name=name, content_type=content_type, size=size,
                           sha256=sha, storage_key=key, uploaded_by=actor, uploaded_at=now)
            s.add(a)
            s.flush()
            audit.record(s, now, actor, "attachment_uploaded", instance_id=inst.id, process_id=inst.process_id,
                         version=inst.version, details={"attachment_id": a.id, "file_name": name, "size": size,
                                                        "sha256": sha, "content_type": content_type,
                                                        **({"task_id": task_id} if task_id else {})})
            row = _row(a)
            uow.commit()
    except BaseException:
        store.delete(key)  # the row was not written: keep no orphan file
        raise
    return row


def attachments(sg, instance_id: int, user: str) -> list[dict]:
    """The deal's files (its tasks' too), oldest first, for a user who may see the deal."""
    with sg.uow(write=False) as uow:
        visible_deal(sg, uow.session, instance_id, user)
        return [_row(a) for a in uow.session.execute(
            select(Attachment).where(Attachment.instance_id == int(instance_id)).order_by(Attachment.id)).scalars()]


def download(sg, store: FileStore, attachment_id: int, actor: str):
    """(the attachment's row, an open binary file) for a user who may see its deal; audited."""
    with sg.uow() as uow:
        s = uow.session
        a = s.get(Attachment, int(attachment_id))
        if a is None:
            raise NotFound(f"no attachment {attachment_id}")
        inst = visible_deal(sg, s, a.instance_id, actor)
        try:
            f = store.open(a.storage_key)
        except FileNotFoundError:
            raise NotFound(f"the file of attachment {a.id} ({a.file_name}) is missing from the file store") from None
        audit.record(s, sg.now(), actor, "attachment_downloaded", instance_id=inst.id, process_id=inst.process_id,
                     version=inst.version, details={"attachment_id": a.id, "file_name": a.file_name})
        row = _row(a)
        try:
            uow.commit()
        except BaseException:
            f.close()
            raise
    return row, f


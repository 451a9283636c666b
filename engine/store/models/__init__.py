"""Tables. Plain SQLAlchemy 2 mappings, one module per area; the use cases are in engine/services/."""
from engine.store.models.base import Base, BigId, JsonText
from engine.store.models.people import ApiToken, SignInFailures, User, UserRole
from engine.store.models.diagrams import DecisionVersion, Draft, ProcessVersion, Source, TimerStartSchedule
from engine.store.models.instances import (ExternalTask, GateDecision, HumanTask, IdempotencyKey, Incident, Instance,
                                           OpenTaskCount, TaskRole, Timer)
from engine.store.models.audit import AuditEvent, AuditHead
from engine.store.models.figures import DealOutcome, StageStay, WhatIfJob
from engine.store.models.collab import Attachment, Comment, Notification
from engine.store.models.saved_filters import SavedInboxFilter
from engine.store.models.integrations import (MailMessage, NotificationSetting, OutboxEvent, WebhookAttempt,
                                              WebhookDelivery, WebhookSubscription, WorkerBeat)

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "AuditHead",
    "Base",
    "BigId",
    "Comment",
    "DealOutcome",
    "DecisionVersion",
    "Draft",
    "ExternalTask",
    "GateDecision",
    "HumanTask",
    "IdempotencyKey",
    "Incident",
    "Instance",
    "JsonText",
    "Notification",
    "MailMessage",
    "NotificationSetting",
    "OpenTaskCount",
    "OutboxEvent",
    "ProcessVersion",
    "SavedInboxFilter",
    "SignInFailures",
    "Source",
    "StageStay",
    "TaskRole",
    "Timer",
    "TimerStartSchedule",
    "User",
    "UserRole",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "WhatIfJob",
    "WorkerBeat",
]

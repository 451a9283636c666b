"""Read-only figures computed from what the process recorded (no manual entry)."""
from workflows.metrics.lookback import cost_per_acquisition, lessons_by_month, look_backs
from workflows.metrics.report import deals_behind, detail, report, require_reader
from workflows.metrics.scope import Scope, scope_from
from workflows.metrics.whatif import summary as what_if_summary, what_if
from workflows.metrics.whatif_jobs import start_what_if, what_if_job

__all__ = ["Scope", "cost_per_acquisition", "deals_behind", "detail", "lessons_by_month", "look_backs", "report",
           "require_reader", "scope_from", "start_what_if", "what_if", "what_if_job", "what_if_summary"]

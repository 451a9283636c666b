"""The sales pipeline read as deals: the board (open deals by stage, with a forecast) and the deals list."""
from workflows.pipeline.board import FORECAST_RULE, board
from workflows.pipeline.common import NO_STAGE, Filters
from workflows.pipeline.deal_list import SORTS, STATUSES, deal_list

__all__ = ["FORECAST_RULE", "Filters", "NO_STAGE", "SORTS", "STATUSES", "board", "deal_list"]

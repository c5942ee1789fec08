"""Tongxin matching engine: plain data in, proposals with explanations out.

Imports only the standard library, numpy, OR-Tools and rjieba; never the web app, the jobs or
a database.
"""

from matching.solver import MatchResult, run_matching
from matching.types import (
    Eligibility,
    Explanation,
    Need,
    Offer,
    Proposal,
    RunConfig,
    Weights,
)

__all__ = [
    "Eligibility",
    "Explanation",
    "MatchResult",
    "Need",
    "Offer",
    "Proposal",
    "RunConfig",
    "Weights",
    "run_matching",
]

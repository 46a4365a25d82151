"""Toxicity scoring behind one small interface (see base.py)."""
from discuss.scoring.base import Scorer, ScorerState, ScoringUnavailable

__all__ = ["Scorer", "ScorerState", "ScoringUnavailable"]

"""Gradient-boosting objectives and metrics from any losskit loss.

``lk.xgboost`` and ``lk.lightgbm`` (``losskit.integrations.xgboost`` / ``.lightgbm``)
are imported on first use, so ``import losskit`` does not load either library. Both
build on ``losskit.integrations._common``: the raw-score link chosen for a loss, the
starting score, the checks and ``SurrogateHessianWarning``.
"""

from losskit.integrations._common import HESSIANS, SurrogateHessianWarning, raw_score_loss

__all__ = ["HESSIANS", "SurrogateHessianWarning", "raw_score_loss"]

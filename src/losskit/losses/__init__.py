"""Loss families. Importing this package registers every built-in loss."""

from losskit.losses.classification import *  # noqa: F403
from losskit.losses.classification import __all__ as _classification
from losskit.losses.embedding import *  # noqa: F403
from losskit.losses.embedding import __all__ as _embedding
from losskit.losses.focal import *  # noqa: F403
from losskit.losses.focal import __all__ as _focal
from losskit.losses.margin import *  # noqa: F403
from losskit.losses.margin import __all__ as _margin
from losskit.losses.policy import *  # noqa: F403
from losskit.losses.policy import __all__ as _policy
from losskit.losses.ranking import *  # noqa: F403
from losskit.losses.ranking import __all__ as _ranking
from losskit.losses.regression import *  # noqa: F403
from losskit.losses.regression import __all__ as _regression
from losskit.losses.sequence import *  # noqa: F403
from losskit.losses.sequence import __all__ as _sequence

__all__ = [
    *_regression, *_classification, *_margin, *_focal, *_ranking, *_embedding, *_sequence,
    *_policy,
]

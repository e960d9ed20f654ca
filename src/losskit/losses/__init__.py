"""Loss families. Importing this package registers every built-in loss."""

from losskit.losses.classification import *  # noqa: F403
from losskit.losses.classification import __all__ as _classification
from losskit.losses.focal import *  # noqa: F403
from losskit.losses.focal import __all__ as _focal
from losskit.losses.margin import *  # noqa: F403
from losskit.losses.margin import __all__ as _margin
from losskit.losses.regression import *  # noqa: F403
from losskit.losses.regression import __all__ as _regression

__all__ = [*_regression, *_classification, *_margin, *_focal]

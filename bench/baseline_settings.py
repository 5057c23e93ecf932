"""Settings of the baselines' web server: the product's settings, the baselines' URLconf.

The ``naive`` handler keeps the product's middleware (MIDDLEWARE below is the
product's, unchanged); the ``floor`` handler in baselines.py runs no middleware
at all. Nothing here is used by the product.
"""

from petitio.config.settings import *  # noqa: F403

ROOT_URLCONF = "baselines"

"""Settings of ``bench/api_ratio.py``: the product's, plus DRF's own token model, so a bare
DRF view with ``TokenAuthentication`` (``ratio_urls.py``) is served by the same processes
as the API it is compared with. Never used by the product."""

from fieldops.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]  # noqa: F405
ROOT_URLCONF = "ratio_urls"

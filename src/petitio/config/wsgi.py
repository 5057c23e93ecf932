import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "petitio.config.settings")

django_application = get_wsgi_application()

from petitio.config.environ import ServerEnvironmentRemoved  # noqa: E402
from petitio.config.pagecache import PageCache  # noqa: E402
from petitio.config.signroute import SigningRoute  # noqa: E402

application = ServerEnvironmentRemoved(SigningRoute(PageCache(django_application)))

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "petitio.config.settings")

from petitio.config.pagecache import PageCache

application = PageCache(get_wsgi_application())

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

from linli.core.warmup import freeze_long_lived  # noqa: E402  (needs the settings)

freeze_long_lived()

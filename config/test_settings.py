"""Settings for the test suite: the same as production but fast hashing and inline background jobs."""

import os

os.environ.setdefault("DEBUG", "true")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Self-reports are written as soon as they are received (the immediate task backend runs the pass inline).
SELF_REPORT_BATCH_SECONDS = 0

import warnings  # noqa: E402

# WhiteNoise looks for collected static files, which tests never collect.
warnings.filterwarnings("ignore", message="No directory at")
# No SMS gateway unless a test starts a fake one; mail stays in memory unless a test points it at a fake server.
SMS_GATEWAY_URL = ""
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The fake receivers of the tests listen on 127.0.0.1.
WEBHOOK_ALLOW_LOOPBACK = True

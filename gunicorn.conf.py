"""gunicorn's settings for Linli's web app: `gunicorn` in the project directory reads this file (run it with
`manage.py db_worker` and `manage.py run_scheduler` beside it; see README). Command-line options override it.

A report is mostly Python (CPU, under the GIL) with short database round trips, so: a process per core
(WEB_CONCURRENCY, default the number of cores), a few threads in each to use the core while another thread
waits for the database, and keep-alive. Each process listens on its own socket (SO_REUSEPORT), so the kernel
spreads new connections over them. With one shared socket, whichever process calls accept() first takes
them: measured here with 32 kept-alive connections over 2 processes, one took all 32 in about 1 run in 8,
and /healthz fell from about 2,900 to 1,080 requests/s, the other core idle (bench/self_report_load.py).
"""

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
worker_class = "gthread"
threads = 4
keepalive = 5
reuse_port = True

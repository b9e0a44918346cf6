from django.core.management.base import BaseCommand, CommandParser

from linli.registry.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo
from linli.registry.models import Resident


class Command(BaseCommand):
    help = "Build the demo community (deterministic); --scale district adds 24 more communities (~200,000 residents)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=["community", "district"], default="community")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when residents already exist")
        parser.add_argument("--logins", action="store_true", help="only print the demo logins")

    def handle(self, *args: object, **options: object) -> None:
        if not options["logins"]:
            if options["if_empty"] and Resident.objects.exists():
                self.stdout.write("The database already has residents; the demo was not loaded again.")
            else:
                self.stdout.write(f"Building the demo ({options['scale']})…")
                made = seed_demo(str(options["scale"]), log=self.stdout.write)
                from linli.plans.demo import seed_demo_plans

                plans = seed_demo_plans()
                if plans:
                    self.stdout.write(
                        f"  {len(plans)} emergency plans for nanli, staffed with the demo accounts"
                    )
                from linli.supplies.demo import seed_demo_supplies

                if seed_demo_supplies():
                    self.stdout.write("  emergency supplies: a street warehouse and two community points")
                from linli.volunteers.demo import seed_demo_volunteers

                if seed_demo_volunteers():
                    self.stdout.write(
                        "  volunteers: 60 in three tiers, an enterprise, a call-out for tomorrow night"
                    )
                from linli.response.demo import seed_demo_drill

                if seed_demo_drill():
                    self.stdout.write("  a finished drill three weeks ago, with its after-action review")
                from linli.epidemic.demo import seed_demo_epidemic

                if seed_demo_epidemic():
                    self.stdout.write(
                        "  epidemic: a verified list from yesterday, a CDC list an hour ago (half verified), two control cases"
                    )
                from linli.screening.demo import seed_demo_screening

                if seed_demo_screening():
                    self.stdout.write(
                        "  mass testing: today's campaign, scheduled, notices sent, check-in open"
                    )
                from linli.health.demo import seed_demo_health

                if seed_demo_health():
                    self.stdout.write(
                        "  health: two weeks of self-reports, today's so far, spot checks, key sites, visits"
                    )
                from linli.comms.demo import seed_demo_comms

                if seed_demo_comms():
                    self.stdout.write(
                        "  communications: notices and confirmations, residents' questions and the FAQ, "
                        "incidents on the site plan, staff badges, departments' API tokens and webhooks"
                    )
                from linli.reports.demo import seed_demo_reports

                if seed_demo_reports():
                    self.stdout.write("  daily reports: the last 14 mornings, sent to the street office")
                if not made:
                    self.stdout.write("The demo communities already exist; nothing added.")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        for username, role, scope in DEMO_LOGINS:
            self.stdout.write(f"  {username:<10} {role:<16} {scope}")

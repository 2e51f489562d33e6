"""`manage.py seed_demo`: the demo merchant (devtools.demo), made once; a second run changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.demo import DEFAULT_SEED, DEMO_PASSWORD, DemoError, demo_seed
from orders.selectors import status_tree


class Command(BaseCommand):
    help = "Create the demo merchant (デモ商店株式会社) with three shops, two logins and realistic orders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=1000, help="How many orders to generate (1000).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Seed of the generated data.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["orders"] < 0:
            raise CommandError("--orders must be 0 or more")
        try:
            seeded = demo_seed(count=options["orders"], seed=options["seed"])
        except DemoError as error:
            raise CommandError(str(error)) from error
        if options["verbosity"] < 1:
            return
        out, tenant = self.stdout, seeded.tenant
        if seeded.created:
            done = f"{tenant.name} ({tenant.slug}): {seeded.created:,} orders created in {seeded.seconds:.1f} s."
            out.write(self.style.SUCCESS(done))
        elif seeded.existing:
            out.write(f"{tenant.name} ({tenant.slug}) already has {seeded.existing:,} orders; none generated.")
        else:
            out.write(f"{tenant.name} ({tenant.slug}) is ready, without orders.")
        out.write("  " + " · ".join(f"{node.group.name} {node.count:,}" for node in status_tree(tenant=tenant)))
        out.write(f"  Logins (password {DEMO_PASSWORD}):")
        out.write("    demo_operator  operator: the order list")
        out.write("    demo_admin     admin: also settings in /admin/")
        if seeded.processed is not None:
            out.write(f"  {seeded.processed.summary()}")

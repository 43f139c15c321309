from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from livinglab.audit import verify_chain


class Command(BaseCommand):
    help = _("Check the audit trail's hash chain; report every edited, inserted or deleted entry.")

    def handle(self, *args, **options):
        checked, problems = verify_chain()
        for problem in problems:
            self.stderr.write(
                _("Entry %(seq)s: %(message)s") % {"seq": problem.seq, "message": problem.message}
            )
        if problems:
            raise CommandError(
                _("The audit trail has %(n)s problem(s) in %(checked)s entries.")
                % {"n": len(problems), "checked": checked}
            )
        self.stdout.write(
            self.style.SUCCESS(_("Audit trail intact: %(checked)s entries verified.") % {"checked": checked})
        )

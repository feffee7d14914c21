"""Who may do what: the five roles a key or dashboard login holds, and the permissions each
role grants. Pure; the API's route table (chalicelib/api/access.py) names one permission per
route, so a role is checked in one place and a test walks every role against every route.

- admin: everything, including keys, deliveries and the audit log.
- marketer: content, contacts, segments, imports, broadcasts and every report.
- sales_manager: the leads of one team (read and work them) and that team's sales report.
- sales: only the leads one owner holds.
- viewer: read-only reports; no personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ADMIN = "admin"
MARKETER = "marketer"
SALES_MANAGER = "sales_manager"
SALES = "sales"
VIEWER = "viewer"
ROLES = (ADMIN, MARKETER, SALES_MANAGER, SALES, VIEWER)

# Permissions: what a route needs.
REPORTS = "reports.read"  # every report, segment sizes, broadcast status: counts, no people
SALES_REPORT = "reports.sales"  # the sales report (a sales manager's: its team's rows only)
LEADS_READ = "contacts.read"  # contacts and leads (a sales key: its own; a manager: its team's)
LEADS_WORK = "leads.work"  # accept, follow up, disqualify, win or lose a lead
CONTACTS = "contacts.manage"  # imports, duplicates, merges, segment members, bulk lists
CONTENT = "content.manage"  # broadcasts: save, preview, schedule, cancel
ADMINISTER = "admin"  # keys, webhook deliveries and their replay, the audit log, privacy

EVERYTHING = frozenset(
    {REPORTS, SALES_REPORT, LEADS_READ, LEADS_WORK, CONTACTS, CONTENT, ADMINISTER}
)
GRANTS: Mapping[str, frozenset[str]] = {
    ADMIN: EVERYTHING,
    MARKETER: frozenset({REPORTS, SALES_REPORT, LEADS_READ, CONTACTS, CONTENT}),
    SALES_MANAGER: frozenset({SALES_REPORT, LEADS_READ, LEADS_WORK}),
    SALES: frozenset({LEADS_READ, LEADS_WORK}),
    VIEWER: frozenset({REPORTS, SALES_REPORT}),
}


@dataclass(frozen=True)
class Caller:
    """Who is asking: a role, the owner (a sales key) or team (a sales manager's) whose leads
    alone it sees, and the key's id and name (for the audit log)."""

    role: str
    owner: str | None = None
    team: str | None = None
    key_id: str = ""
    name: str = ""

    def may(self, permission: str) -> bool:
        return permission in GRANTS.get(self.role, frozenset())

    def sees(self, lead: Mapping[str, Any]) -> bool:
        """Whether this caller may see a lead (a contact's `lead` map): a sales key its own,
        a sales manager its team's, every other role every lead."""
        if self.role == SALES:
            return self.owner is not None and lead.get("owner") == self.owner
        if self.role == SALES_MANAGER:
            return self.team is not None and lead.get("team") == self.team
        return True

    @property
    def scoped(self) -> bool:
        """Whether this caller sees only some leads."""
        return self.role in (SALES, SALES_MANAGER)

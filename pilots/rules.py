"""Who may act on panels. Autodiscovered by ``rules``; services and views ask ``user.has_perm``."""

import rules

from livinglab.models import Role
from livinglab.policy import (
    CLUSTER_ROLES,
    active_memberships,
    is_cluster_staff,
    is_guardian_of,
    is_member,
    is_own_person,
    is_platform_admin,
    is_subject_of_record,
)


@rules.predicate
def runs_panel(user, panel) -> bool:
    """Cluster staff of the living lab that owns ``panel``."""
    return panel is not None and any(
        m.organisation_id == panel.owner_id and m.role in CLUSTER_ROLES for m in active_memberships(user)
    )


@rules.predicate
def recruits_for(user, panel) -> bool:
    """A representative of an interest group the panel lets recruit."""
    if panel is None:
        return False
    groups = {m.organisation_id for m in active_memberships(user) if m.role == Role.GROUP_REPRESENTATIVE}
    return bool(groups) and panel.recruiting_groups.filter(pk__in=groups).exists()


@rules.predicate
def runs_panel_of(user, obj) -> bool:
    return obj is not None and runs_panel(user, obj.panel)


@rules.predicate
def requested_draw(user, draw) -> bool:
    """A member of the firm or authority the draw was made for."""
    return draw is not None and draw.requested_by_id is not None and is_member(user, draw.requested_by)


# Cluster staff open panels for their own living lab.
rules.add_perm("pilots.add_panel", is_cluster_staff | is_platform_admin)
# Running a panel: its settings, custom attributes, members' profiles and contact history, imports,
# screeners, draws and overrides. Every look at a member's identity is audited by the view.
rules.add_perm("pilots.manage_panel", runs_panel | is_platform_admin)
rules.add_perm("pilots.manage_member", runs_panel_of | is_platform_admin)
rules.add_perm("pilots.manage_draw", runs_panel_of | is_platform_admin)
# Enrolling someone on their behalf (assisted participation): staff, and the panel's interest groups.
rules.add_perm("pilots.enrol_into_panel", runs_panel | recruits_for | is_platform_admin)
# Interest groups see only aggregate counts of the people they recruited.
rules.add_perm("pilots.view_recruit_counts", runs_panel | recruits_for | is_platform_admin)
# The firm a draw was made for sees pseudonymous codes and the attributes people agreed to share.
rules.add_perm("pilots.view_draw_participants", requested_draw | runs_panel_of | is_platform_admin)
# A person's own data (profile, panels, invitations, export, erasure): themselves or their guardian.
rules.add_perm("pilots.manage_own_data", is_own_person | is_guardian_of)


def may_manage_own_data(user, person) -> bool:
    """Ask ``pilots.manage_own_data`` without Django's superuser shortcut: a platform administrator does not
    read, answer for or erase someone else's data through the person's own pages."""
    return rules.has_perm("pilots.manage_own_data", user, person)


@rules.predicate
def runs_panel_of_subject(user, record) -> bool:
    """Staff of a living lab that has the consent record's person in one of its panels."""
    clusters = [m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES]
    return bool(clusters) and record.person.panel_memberships.filter(panel__owner_id__in=clusters).exists()


# The scan of a signed paper consent: the person, their guardian, and the staff of the labs whose panel
# they are in (not every living lab's staff, as for the core consent pages).
rules.add_perm("pilots.view_consent_scan", is_subject_of_record | runs_panel_of_subject | is_platform_admin)


# ------------------------------------------------------------------------------------------- campaigns


@rules.predicate
def runs_campaign(user, campaign) -> bool:
    """Cluster staff of the living lab that hosts ``campaign``."""
    return campaign is not None and any(
        m.organisation_id == campaign.lab_id and m.role in CLUSTER_ROLES for m in active_memberships(user)
    )


@rules.predicate
def requests_campaign(user, campaign) -> bool:
    """A member of the firm, consortium lead or authority the campaign is run for."""
    return campaign is not None and any(
        m.organisation_id == campaign.requested_by_id for m in active_memberships(user)
    )


@rules.predicate
def partners_in_campaign(user, campaign) -> bool:
    """A member of a consortium partner, or of a firm a joint survey is run for."""
    if campaign is None:
        return False
    mine = {m.organisation_id for m in active_memberships(user)}
    return bool(mine) and campaign.partners.filter(pk__in=mine).exists()


@rules.predicate
def may_request_campaigns(user) -> bool:
    """Members of firms, research organisations and public authorities ask a living lab for a test."""
    from livinglab.models import Organisation

    kinds = {
        Organisation.Kind.SME,
        Organisation.Kind.LARGE_ENTERPRISE,
        Organisation.Kind.RESEARCH,
        Organisation.Kind.PUBLIC_AUTHORITY,
    }
    return any(m.organisation.kind in kinds for m in active_memberships(user))


@rules.predicate
def campaign_is_draft(user, campaign) -> bool:
    return campaign is not None and campaign.status in campaign.EDITABLE


@rules.predicate
def on_jury(user, competition) -> bool:
    return competition is not None and user.is_authenticated and competition.jury.filter(pk=user.pk).exists()


@rules.predicate
def runs_competition(user, competition) -> bool:
    return competition is not None and runs_campaign(user, competition.campaign)


# Requesting a campaign: firms, research organisations, authorities, and the lab's staff on their behalf.
rules.add_perm("pilots.add_campaign", may_request_campaigns | is_cluster_staff | is_platform_admin)
# Seeing a campaign (its description, status, sessions, results): the lab, the requester, its partners.
rules.add_perm(
    "pilots.view_campaign", runs_campaign | requests_campaign | partners_in_campaign | is_platform_admin
)
# The requester edits a draft (before review, or after changes were requested); the lab edits any time
# before recruitment through the same form.
rules.add_perm(
    "pilots.edit_campaign", (requests_campaign & campaign_is_draft) | runs_campaign | is_platform_admin
)
rules.add_perm("pilots.submit_campaign", requests_campaign | runs_campaign | is_platform_admin)
rules.add_perm("pilots.withdraw_campaign", requests_campaign | runs_campaign | is_platform_admin)
# Reviewing and running: approvals, recruitment, sessions, attendance, lifecycle, findings.
rules.add_perm("pilots.review_campaign", runs_campaign | is_platform_admin)
rules.add_perm("pilots.run_campaign", runs_campaign | is_platform_admin)
# Questionnaires: the lab builds them; the requester may draft them with the lab.
rules.add_perm("pilots.edit_questionnaire", runs_campaign | requests_campaign | is_platform_admin)
# Results (pseudonymous, consent-filtered): a partner of a joint survey sees its own and the shared questions.
rules.add_perm(
    "pilots.view_campaign_results",
    runs_campaign | requests_campaign | partners_in_campaign | is_platform_admin,
)
rules.add_perm("pilots.tag_answers", runs_campaign | is_platform_admin)
# Competitions: the jury scores; the lab manages the jury and announces winners.
rules.add_perm("pilots.judge_competition", on_jury)
rules.add_perm("pilots.run_competition", runs_competition | is_platform_admin)

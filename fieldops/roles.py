"""Roles as groups, with the permissions each needs and nothing more.

The groups are created (and kept in step) by migrations that call
``sync_roles``; change this table and add a migration that calls it again.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions

DISPATCHER = "dispatcher"
TECHNICIAN = "technician"
CALL_CENTRE = "call_centre"
SUPERVISOR = "supervisor"
#: 质量巡视: works the inspection list (R52); supervisors may do the same.
INSPECTOR = "inspector"
#: Read-only API clients (reporting tools): everything visible, phone numbers masked (R40).
REPORTING = "reporting"

_READ_ALL = [
    "workorders.view_workorder",
    "workorders.view_all_workorders",
    "workorders.view_workorderevent",
    "workorders.view_phonestep",  # steps sent from phones, applied or refused (issue 16)
    "workorders.view_contactattempt",
    "workorders.view_assignment",
    "workorders.view_customer",
    "workorders.view_serviceaccount",
    "appointments.view_appointment",
    "technicians.view_technician",
    "technicians.view_area",
    "technicians.view_team",
    "notifications.view_notification",
    "sla.view_timer",
    "sla.view_slapolicy",
    "sla.view_timerrule",
    "sla.view_businesscalendar",
    "sla.view_exemption",
    "surveys.view_followup",
    "surveys.view_survey",
    "surveys.view_callback",
    "surveys.view_reworkround",
    # R45, R46: the stock register and the materials.
    "inventory.view_device", "inventory.view_devicemovement", "inventory.view_devicemodel",
    "inventory.view_materialitem", "inventory.view_materialnorm", "inventory.view_vanstock",
    "inventory.view_materialuse", "inventory.view_normreview",
    # R47: the price list, the fee lines and the payments.
    "charges.view_priceitem", "charges.view_feeline", "charges.view_payment",
]

#: Working the inspection list (R52).
_INSPECTION = [
    "quality.view_inspection",
    "quality.add_inspection",
    "quality.decide_inspection",
    "quality.view_signal",
    "quality.view_qualityrecord",
    "quality.view_samplingrun",
    "workorders.reopen_rework",
]

ROLES: dict[str, list[str]] = {
    # 调度: the Django admin is their desk (R4).
    DISPATCHER: [
        *_READ_ALL,
        "workorders.add_workorder",
        "workorders.dispatch_workorder",
        "workorders.cancel_workorder",
        "workorders.view_customer_pii",
        "workorders.merge_customer",
        "technicians.change_technician",
        # R50: force majeure declared for an order or an area (a supervisor decides).
        "sla.declare_exemption",
        # R45: allow a serial from another van; R46: restock vans.
        "inventory.allow_device", "inventory.restock_van",
        # R54: outages declared, repaired, their orders released; proposals dismissed;
        # the access network's nodes and which lines hang on them.
        "outages.view_outage", "outages.add_outage", "outages.repair_outage",
        "outages.view_outageorder", "outages.view_outageproposal",
        "outages.change_outageproposal", "outages.view_outagepolicy",
        "outages.view_accessnode", "outages.add_accessnode", "outages.change_accessnode",
        "outages.view_accountnode", "outages.add_accountnode", "outages.change_accountnode",
    ],
    # 装维人员: only their own orders, through the mobile pages (R41).
    TECHNICIAN: ["workorders.perform_fieldwork"],
    # 客服: intake, remote resolution, callbacks, cancellations (R2, R19, R28, R30).
    CALL_CENTRE: [
        *_READ_ALL,
        "workorders.add_workorder",
        "workorders.intake_workorder",
        "workorders.cancel_workorder",
        "workorders.view_customer_pii",
        # R28: questions and complaints logged and answered (首问负责制).
        "surveys.add_followup",
        "surveys.change_followup",
        # R54: the outages an agent tells a calling customer about.
        "outages.view_outage", "outages.view_outageorder",
        # R51: complaints recorded, handled and closed by the call-centre.
        "complaints.add_complaint",
        "complaints.view_complaint",
        "complaints.handle_complaint",
        "complaints.view_complaintpolicy",
        # R51, R31: a complaint about a closed visit reopens it for rework.
        "workorders.reopen_rework",
    ],
    # 班长 / 主管: reads everything, phone numbers masked (R40).
    SUPERVISOR: [
        *_READ_ALL,
        "sla.decide_exemption",
        # R51: complaints decided (upheld or not) and the note released to the technician;
        # the deadlines per tier are policy.
        "complaints.view_complaint",
        "complaints.decide_complaint",
        "complaints.view_complaintpolicy",
        "complaints.change_complaintpolicy",
        # 考核 (R53): the ledger, its policy and the appeals they decide.
        "assessment.view_entry",
        "assessment.view_appeal",
        "assessment.decide_appeal",
        "assessment.view_assessmentrule",
        "assessment.add_assessmentrule",
        "assessment.change_assessmentrule",
        # The visit's checklist and test ranges are policy (R43, R44, R48, R49).
        "visits.view_checklistpolicy",
        "visits.change_checklistpolicy",
        "visits.view_testrangepolicy",
        "visits.change_testrangepolicy",
        # R47: the published price list, and refunds (a new negative line, never an edit).
        "charges.add_priceitem", "charges.change_priceitem", "charges.refund_feeline",
        # R54: outages, their repair promise and orders; the policy is theirs to set.
        "outages.view_outage", "outages.view_outageorder", "outages.view_outageproposal",
        "outages.view_outagepolicy", "outages.change_outagepolicy",
        "outages.view_accessnode",
        # 质量巡视 (R52): the inspection list, its policy, pass or fail (a fail reopens
        # rework, R31).
        *_INSPECTION,
        "quality.view_inspectionpolicy",
        "quality.change_inspectionpolicy",
    ],
    # 质量巡视: reads everything, phone numbers masked (R40), and works the inspections.
    INSPECTOR: [*_READ_ALL, *_INSPECTION, "quality.view_inspectionpolicy"],
    # Reporting clients of the API: read only, phone numbers masked (R40).
    REPORTING: [*_READ_ALL],
}


def sync_roles(apps: Any, schema_editor: Any = None) -> None:
    """Create the groups and set their permissions exactly (usable from migrations)."""
    for app_config in apps.get_app_configs():
        saved = getattr(app_config, "models_module", None)
        app_config.models_module = saved or True  # create_permissions skips apps without it
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = saved
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            # A permission of an app migrated later is added by that app's own roles
            # migration (each one calls sync_roles again once its models exist).
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label,
                                                    codename=codename))
        group.permissions.set(wanted)

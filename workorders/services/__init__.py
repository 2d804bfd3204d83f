"""Every write to a work order goes through a service function, by lifecycle phase.

- ``intake``: take the order (R1, R3), dispatch, reassign and unassign (R4), accept and check
  resources (R5, R6), resolve remotely (R2).
- contact and booking (R7-R12, R15, R16, R19): ``appointments.services``.
- ``visit``: kit (R20, R21), on the way (R13), check-in (R17), nobody home (R18, R19),
  can't finish (R24), the abnormal order's callback (R19).
- ``report``: photos (R23), consent (R22), the report (R25, R27) and completion.
- ``signoff``: the customer's signature and sign-off code (R26).
- survey and rework (R29-R33): ``surveys.services``; ``rework``: a finished order
  reopened for rework by a failed inspection (R52) or an upheld complaint (R51).
- ``cancel``: the customer withdraws the request (step 14).

The common machinery (lock, guard, transition, save, log and publish the event) is
``workorders.lifecycle``. This package re-exports the phase services of this app, so
callers write ``services.work_order_dispatch(...)``.
"""

from .cancel import work_order_cancel
from .intake import (
    customer_merge,
    work_order_accept,
    work_order_confirm_resources,
    work_order_create,
    work_order_dispatch,
    work_order_reassign,
    work_order_report_no_resources,
    work_order_resolve_remotely,
    work_order_unassign,
)
from .report import (
    work_order_add_photo,
    work_order_complete,
    work_order_record_consent,
    work_order_save_report,
)
from .rework import ReopenCause, work_order_reopen_rework
from .signoff import work_order_customer_sign_off, work_order_send_sign_off_code
from .visit import (
    ABNORMAL_AFTER_CUSTOMER_MISSES,
    work_order_cant_finish,
    work_order_check_in,
    work_order_close_abnormal,
    work_order_confirm_kit,
    work_order_depart,
    work_order_leave_note,
    work_order_nobody_home,
    work_order_report_cant_finish,
    work_order_return_from_abnormal,
)

__all__ = [
    "ABNORMAL_AFTER_CUSTOMER_MISSES",
    "ReopenCause",
    "customer_merge",
    "work_order_accept",
    "work_order_add_photo",
    "work_order_cancel",
    "work_order_cant_finish",
    "work_order_check_in",
    "work_order_close_abnormal",
    "work_order_complete",
    "work_order_confirm_kit",
    "work_order_confirm_resources",
    "work_order_create",
    "work_order_customer_sign_off",
    "work_order_depart",
    "work_order_dispatch",
    "work_order_leave_note",
    "work_order_nobody_home",
    "work_order_reassign",
    "work_order_record_consent",
    "work_order_reopen_rework",
    "work_order_report_cant_finish",
    "work_order_report_no_resources",
    "work_order_resolve_remotely",
    "work_order_return_from_abnormal",
    "work_order_save_report",
    "work_order_send_sign_off_code",
    "work_order_unassign",
]

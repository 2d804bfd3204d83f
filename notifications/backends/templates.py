"""What the template gateways share (``aliyun``, ``tencent``).

China's SMS gateways send no free text: each message fills a template the operator had
approved beforehand, under an approved signature (签名). Our SMS kinds and the values
each one is written from are listed in ``SMS_KINDS``; ``SMS_TEMPLATES`` maps every kind to
its template and the values the template takes, in the template's order:

    SMS_TEMPLATES = {"survey": {"template": "SMS_123456789", "params": ["number", "url"]},
                     "sign_off_code": "SMS_987654321"}   # a code alone: all of its values

``manage.py check`` fails while a kind has no template, so a message can't reach the
gateway without one (``check_sms_gateway``, registered in ``NotificationsConfig``).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from fieldops import phones

from . import PermanentSmsError

#: Each SMS the product sends (its notification ``kind``) and the values its text is
#: written from, by name (``workorders.messages.sms_customer`` passes them).
SMS_KINDS: dict[str, tuple[str, ...]] = {
    "contact_missed": ("name", "phone", "number"),  # R8
    "appointment_booked": ("number", "window", "name", "phone", "url"),  # R9
    "appointment_moved": ("number", "window", "name", "phone", "url"),  # R15
    "on_the_way": ("name", "phone", "number", "window"),  # R13
    "parked_resumed": ("number", "day", "name", "phone"),  # R12
    "nobody_home": ("name", "number", "arrived", "left", "phone"),  # R18
    "cant_finish": ("number", "promised", "name", "phone"),  # R24
    "sign_off_code": ("code", "number", "work", "minutes"),  # R26
    "survey": ("number", "url"),  # R29, R32
    "force_majeure_rebook": ("number", "event", "window", "url"),  # R50, R15
    "force_majeure": ("number", "event", "name", "phone"),  # R50
    "receipt": ("number", "amount", "url"),  # R47
    "outage": ("number", "explanation", "eta"),  # R54
    "outage_repaired": ("number", "url"),  # R54
    "signed_report": ("number", "url"),  # R26: the customer's copy of the signed report
}

#: The gateways report times on Beijing time, without a zone.
GATEWAY_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class SmsTemplate:
    code: str
    params: tuple[str, ...]

    def values(self, params: dict[str, Any] | None) -> list[tuple[str, str]]:
        """The template's values in its order, as text. A message without one of them (a
        row written before its values were kept) can never fill the template."""
        given = params or {}
        missing = [name for name in self.params if name not in given]
        if missing:
            raise PermanentSmsError(f"the message has no {', '.join(missing)} for the "
                                    f"template {self.code}")
        return [(name, str(given[name])) for name in self.params]


def _entry(kind: str, raw: Any) -> SmsTemplate:
    if isinstance(raw, str):
        return SmsTemplate(raw, SMS_KINDS.get(kind, ()))
    if isinstance(raw, dict) and isinstance(raw.get("template"), str):
        names = raw.get("params", SMS_KINDS.get(kind, ()))
        return SmsTemplate(raw["template"], tuple(str(name) for name in names))
    raise ImproperlyConfigured(
        f"SMS_TEMPLATES[{kind!r}] must be a template code or "
        '{"template": CODE, "params": [NAME, ...]}')


def template_for(kind: str) -> SmsTemplate:
    """The template of ``kind``. A kind without one is a setting to fix, not a message to
    drop: the row is retried, and ``manage.py check`` names the kind."""
    raw = getattr(settings, "SMS_TEMPLATES", {}).get(kind)
    if not raw:
        raise ImproperlyConfigured(f"SMS_TEMPLATES has no template for the SMS kind {kind!r}")
    return _entry(kind, raw)


def e164(phone: str) -> str:
    """``phone`` as +<country><number> (``fieldops.phones``): a mobile of the home region
    or another country's. Something that is no mobile number fails for good."""
    if not phones.is_mobile(phone):
        raise PermanentSmsError(f"not a mobile number: {phone!r}")
    return phones.e164(phone)


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """``"host"`` or ``"http://host:port"`` -> (scheme, host); the default scheme is https."""
    scheme, sep, host = endpoint.partition("://")
    return (scheme.lower(), host.rstrip("/")) if sep else ("https", endpoint.rstrip("/"))


def gateway_time(text: str | None) -> dt.datetime | None:
    """A gateway's "YYYY-MM-DD HH:MM:SS" (Beijing time) as an aware datetime."""
    if not text:
        return None
    try:
        at = dt.datetime.strptime(f"{text.strip()} +0800", "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
    return at.astimezone(GATEWAY_ZONE)


def check_sms_gateway(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check`` (and every start): a template gateway needs its SDK, its
    settings, and a template for every SMS kind."""
    try:
        backend = import_string(settings.SMS_BACKEND)
    except ImportError as exc:
        return [checks.Error(_("SMS_BACKEND can't be imported: %s") % exc,
                             id="notifications.E001")]
    if not hasattr(backend, "send_template"):
        return []
    errors: list[checks.CheckMessage] = []
    for module in getattr(backend, "sdk_modules", ()):
        if importlib.util.find_spec(module) is None:
            errors.append(checks.Error(
                _("%(backend)s needs the Python package %(module)s.")
                % {"backend": settings.SMS_BACKEND, "module": module},
                hint=_("pip install 'fieldops[%s]'") % getattr(backend, "extra", "sms"),
                id="notifications.E002"))
    for name in getattr(backend, "required_settings", ()):
        if not getattr(settings, name, ""):
            errors.append(checks.Error(
                _("%(backend)s needs the setting %(name)s.")
                % {"backend": settings.SMS_BACKEND, "name": name}, id="notifications.E003"))
    configured = getattr(settings, "SMS_TEMPLATES", {})
    for kind, names in SMS_KINDS.items():
        if not configured.get(kind):
            errors.append(checks.Error(
                _("The SMS kind %(kind)s has no template in SMS_TEMPLATES.") % {"kind": kind},
                hint=_("Have a template approved on the gateway, then map it: "
                       '"%(kind)s": {"template": CODE, "params": [%(params)s]}')
                % {"kind": kind, "params": ", ".join(f'"{n}"' for n in names)},
                id="notifications.E004"))
            continue
        try:
            template = _entry(kind, configured[kind])
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id="notifications.E005"))
            continue
        unknown = [name for name in template.params if name not in names]
        if unknown:
            errors.append(checks.Error(
                _("The template of the SMS kind %(kind)s takes %(unknown)s, which that SMS "
                  "doesn't have (it has %(names)s).")
                % {"kind": kind, "unknown": ", ".join(unknown), "names": ", ".join(names)},
                id="notifications.E005"))
    for kind in configured:
        if kind not in SMS_KINDS:
            errors.append(checks.Warning(
                _("SMS_TEMPLATES names %(kind)s, which is no SMS kind of this product.")
                % {"kind": kind}, id="notifications.W001"))
    return errors

"""Areas (片区 / 网格), teams and the technicians who serve them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops.phones import PhoneNumberField
from fieldops.text import refuse_hidden_characters


class AreaType(models.TextChoices):
    URBAN = "urban", _("Urban")
    # Rural areas may book one half-day visit instead of two bookings (R11).
    RURAL = "rural", _("Rural")


class Area(models.Model):
    """Every address belongs to an area; technicians serve one or more areas."""

    code = models.CharField(_("code"), max_length=32, unique=True,
                            validators=[refuse_hidden_characters])
    name = models.CharField(_("name"), max_length=100, validators=[refuse_hidden_characters])
    area_type = models.CharField(
        _("area type"), max_length=8, choices=AreaType.choices, default=AreaType.URBAN
    )
    dispatchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="dispatch_areas", blank=True,
        verbose_name=_("dispatchers"),
        help_text=_("Dispatchers who run this area: they read its SLA dashboards."))

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Team(models.Model):
    """A crew (班组) led by a supervisor (班长)."""

    name = models.CharField(_("name"), max_length=100, unique=True,
                            validators=[refuse_hidden_characters])
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="teams",
                             verbose_name=_("home area"))
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="supervised_teams", verbose_name=_("supervisor"),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SkillCategory(models.TextChoices):
    KIND = "kind", _("Work kind")
    SERVICE = "service", _("Service")
    ACCESS = "access", _("Access type")


class Skill(models.Model):
    """What a technician can do: a work kind, a service or an access type (R4, R21).

    The codes match the choices on the work order, so dispatch can match an
    order's kind, service and access type against a technician's skills.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=8, choices=SkillCategory.choices)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return str(self.name)


class Technician(models.Model):
    """A field technician (装维人员): one login, the areas served, skills, capacity."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="technician", verbose_name=_("user"))
    employee_no = models.CharField(_("employee number"), max_length=32, unique=True)
    phone = PhoneNumberField(_("phone"), validators=[refuse_hidden_characters])
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="technicians", verbose_name=_("team"))
    areas = models.ManyToManyField(Area, related_name="technicians",
                                   verbose_name=_("areas served"))
    skills = models.ManyToManyField(
        Skill, related_name="technicians", blank=True, verbose_name=_("skills"),
        limit_choices_to={"category__in": [SkillCategory.KIND, SkillCategory.SERVICE]},
    )
    access_types = models.ManyToManyField(
        Skill, related_name="access_technicians", blank=True, verbose_name=_("access types"),
        limit_choices_to={"category": SkillCategory.ACCESS},
    )
    daily_capacity = models.PositiveSmallIntegerField(
        _("daily capacity"), default=8,
        help_text=_("Open orders this technician can hold before auto-dispatch skips them."),
    )
    is_active = models.BooleanField(_("on duty"), default=True)

    class Meta:
        verbose_name = _("technician")
        verbose_name_plural = _("technicians")
        ordering = ["employee_no"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.employee_no})"

    @staticmethod
    def name_for(first_name: str, last_name: str, username: str) -> str:
        """The name shown for a technician: the user's full name, else the user name."""
        return f"{first_name} {last_name}".strip() or username

    @property
    def display_name(self) -> str:
        user = self.user
        return self.name_for(user.first_name, user.last_name, user.get_username())

    @property
    def area_codes(self) -> list[str]:
        """Codes of the areas served (uses ``areas`` as prefetched)."""
        return [area.code for area in self.areas.all()]

"""Demo and benchmark data, made by ``manage.py demo_data`` (the command stays thin).

Two modes:

``build_demo()``, the default: a small, realistic office for a first run and for
people trying the product. Five Beijing areas (片区/网格, four urban, one rural),
three teams, eight technicians, a dispatcher, a call-centre agent, a supervisor
and an admin, then ~60 customers and ~66 orders of every kind, service, access
type, channel and customer class, at least two in every ``State``. Every order is
created with ``services.work_order_create`` and walked to its state step by step
through ``workorders.scenarios`` (the same steps the tests' ``make_order`` takes),
so every rule is checked and every change logged (R42) exactly as in production.
Time is simulated: ``fieldops.clock`` (the product's one seam for "now") is set to
each step's moment, so an order closed "three weeks ago" was created, dispatched,
visited and surveyed three weeks ago, and open orders are recent, with their
visits around now. The whole run is one transaction. Nothing leaves the building:
demo customers' made-up numbers may belong to real people, so the SMS, e-mail and
webhook rows the services write to the outbox are marked never sent, and what they
queue for after commit (deliveries, the survey task) is dropped; the snapshot's
"completed" orders would otherwise also move on as soon as a worker starts.

``build_scale(orders=N)``: N orders for benchmarks, fast. This mode **bypasses the
services on purpose**: it computes each order's life (the same lifecycle and the
same field changes the transitions make) and writes rows in bulk, with
PostgreSQL's ``COPY`` when the database is PostgreSQL and ``bulk_create``
elsewhere, one transaction per batch. Orders are spread over the last ``days``
days; each one's timeline is simulated from its creation and cut at now, so old
orders are closed (or cancelled, or resolved remotely) and recent ones are open in
whatever state their life has reached: the mix of states, and the fields of each
state, are the ones the product itself would have produced. Written per order:
the ``WorkOrder`` with the fields of its state, its ``Appointment`` rows (the
intake day booking and every visit booked, with their statuses), its
``Assignment`` rows, a ``ContactAttempt`` for the call that reached the customer,
and its ``WorkOrderEvent`` rows: by default only the creation event and the
event of the last transition (``events="ends"``), because the full path is ~12
rows per closed order, which makes the event log the biggest table by far and
the load ~3x slower, while every question a benchmark asks of an open order
("since when is it in this state, who moved it") is answered by the last event.
``events="full"`` writes every step's event when the log itself is what you
measure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import math
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentStatus, Precision
from dashboards.models import OrderFact
from dashboards.services import link_repeat_visits, order_facts_refresh_stale
from fieldops import clock, roles
from notifications.models import Notification
from notifications.models import Status as NotificationStatus
from sla.timers import Timer
from surveys.services import callbacks_open_due
from technicians.models import Area, AreaType, Skill, Team, Technician

from . import scenarios, selectors, services
from .models import (
    AccessType,
    Assignment,
    Channel,
    ContactAttempt,
    Customer,
    CustomerClass,
    Kind,
    Service,
    ServiceAccount,
    State,
    WorkOrder,
    WorkOrderEvent,
)

DEMO_PASSWORD = "fieldops-demo"
DEFAULT_SEED = 20240601

S = State
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

# --- People and places --------------------------------------------------------

#: District code -> (name, rural?, address templates). Templates are filled with
#: house number, building, unit and room, in the style "... 88 号 3 单元 502".
DISTRICTS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "DC": ("东城区", False, (
        "北京市东城区东四北大街 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市东城区东四十条 {no} 号",
        "北京市东城区香饵胡同 {no} 号",
        "北京市东城区东直门南小街 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
    )),
    "XC": ("西城区", False, (
        "北京市西城区德胜门外大街 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市西城区新街口外大街 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市西城区裕中西里 {bldg} 号楼 {unit} 单元 {room}",
        "北京市西城区大石虎胡同 {no} 号",
    )),
    "CY": ("朝阳区", False, (
        "北京市朝阳区望京西园三区 {bldg} 号楼 {unit} 单元 {room}",
        "北京市朝阳区花家地西里 {bldg} 号楼 {unit} 单元 {room}",
        "北京市朝阳区南湖东园 {bldg} 号楼 {unit} 单元 {room}",
        "北京市朝阳区阜通东大街 {no} 号 {tower} 座 {room}",
    )),
    "HD": ("海淀区", False, (
        "北京市海淀区知春里 {bldg} 号楼 {unit} 单元 {room}",
        "北京市海淀区中关村南大街 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市海淀区双榆树东里 {bldg} 号楼 {unit} 单元 {room}",
        "北京市海淀区海淀大街 {no} 号 {tower} 座 {room}",
    )),
    "FT": ("丰台区", False, (
        "北京市丰台区方庄芳城园一区 {bldg} 号楼 {unit} 单元 {room}",
        "北京市丰台区马家堡东路 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市丰台区草桥欣园二区 {bldg} 号楼 {unit} 单元 {room}",
    )),
    "SJS": ("石景山区", False, (
        "北京市石景山区八角北路 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市石景山区古城南路 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市石景山区鲁谷路 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
    )),
    "TZ": ("通州区", False, (
        "北京市通州区新华西街 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
        "北京市通州区梨园镇云景里 {bldg} 号楼 {unit} 单元 {room}",
        "北京市通州区九棵树东路 {no} 号院 {bldg} 号楼 {unit} 单元 {room}",
    )),
    "CP": ("昌平区", False, (
        "北京市昌平区回龙观镇龙泽苑 {bldg} 号楼 {unit} 单元 {room}",
        "北京市昌平区天通苑西三区 {bldg} 号楼 {unit} 单元 {room}",
        "北京市昌平区南口镇南口村 {no} 号",
    )),
    "MY": ("密云区", True, (
        "北京市密云区溪翁庄镇金叵罗村 {no} 号",
        "北京市密云区溪翁庄镇石马峪村 {no} 号",
        "北京市密云区溪翁庄镇东智北村 {no} 号",
        "北京市密云区溪翁庄镇走马庄村 {no} 号",
    )),
    "HR": ("怀柔区", True, (
        "北京市怀柔区雁栖镇柏崖厂村 {no} 号",
        "北京市怀柔区雁栖镇下庄村 {no} 号",
        "北京市怀柔区渤海镇慕田峪村 {no} 号",
    )),
    "YQ": ("延庆区", True, (
        "北京市延庆区八达岭镇石峡村 {no} 号",
        "北京市延庆区康庄镇小丰营村 {no} 号",
        "北京市延庆区旧县镇盆窑村 {no} 号",
    )),
    "MTG": ("门头沟区", True, (
        "北京市门头沟区斋堂镇爨底下村 {no} 号",
        "北京市门头沟区斋堂镇灵水村 {no} 号",
        "北京市门头沟区清水镇燕家台村 {no} 号",
    )),
}

#: The demo's areas: (code, name, district, weight of customers living there).
DEMO_AREAS: tuple[tuple[str, str, str, int], ...] = (
    ("BJ-DC-DS", "东城区东四网格", "DC", 14),
    ("BJ-XC-DS", "西城区德胜网格", "XC", 11),
    ("BJ-CY-WJ", "朝阳区望京网格", "CY", 16),
    ("BJ-HD-ZGC", "海淀区中关村网格", "HD", 12),
    ("BJ-MY-XWZ", "密云区溪翁庄镇网格", "MY", 9),
)

#: (name, home area code, areas served).
DEMO_TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("东城西城装维班", "BJ-DC-DS", ("BJ-DC-DS", "BJ-XC-DS")),
    ("朝阳海淀装维班", "BJ-CY-WJ", ("BJ-CY-WJ", "BJ-HD-ZGC")),
    ("密云装维班", "BJ-MY-XWZ", ("BJ-MY-XWZ",)),
)

_ALL_KINDS = tuple(Kind.values)
_ALL_SERVICES = tuple(Service.values)
_ALL_ACCESS = tuple(AccessType.values)


@dataclass(frozen=True)
class DemoTechnician:
    username: str
    name: str
    phone: str
    team: str
    kinds: tuple[str, ...] = _ALL_KINDS
    services: tuple[str, ...] = _ALL_SERVICES
    access: tuple[str, ...] = _ALL_ACCESS
    capacity: int = 8


#: Every area has at least one technician who can do everything, so auto-dispatch
#: (R4) always finds someone; the others are specialists.
DEMO_TECHNICIANS: tuple[DemoTechnician, ...] = (
    DemoTechnician("tech1", "王建国", "13801012231", "东城西城装维班"),
    DemoTechnician("tech2", "李志强", "13911024567", "东城西城装维班",
                   kinds=("install", "move"), services=("broadband", "iptv"),
                   access=("ftth", "fttb", "lan")),
    DemoTechnician("tech3", "张海涛", "15001176620", "东城西城装维班", kinds=("repair",),
                   capacity=10),
    DemoTechnician("tech4", "刘洋", "18610235578", "朝阳海淀装维班"),
    DemoTechnician("tech5", "陈静", "13552018843", "朝阳海淀装维班",
                   access=("ftth", "fttb", "lan")),
    DemoTechnician("tech6", "杨磊", "18911307762", "朝阳海淀装维班", kinds=("repair",),
                   access=("ftth", "fttb", "lan"), capacity=10),
    DemoTechnician("tech7", "赵德胜", "13701090315", "密云装维班", capacity=6),
    DemoTechnician("tech8", "孙丽华", "15810463327", "密云装维班", capacity=6),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    does: str


#: Office logins: (username, full name, group or None for the superuser).
DEMO_STAFF: tuple[tuple[str, str, str | None], ...] = (
    ("admin", "系统管理员", None),
    ("dispatcher", "周敏", roles.DISPATCHER),
    ("agent", "吴婷", roles.CALL_CENTRE),
    ("supervisor", "郑国强", roles.SUPERVISOR),
)

STAFF_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "superuser", "everything: users, settings, all data (/admin/)"),
    DemoLogin("dispatcher", "dispatcher",
              "watches the queue, dispatches and reassigns orders in the admin (R4) 调度"),
    DemoLogin("agent", "call centre",
              "takes requests, resolves faults remotely, callbacks, cancels (R2, R19, R30) 客服"),
    DemoLogin("supervisor", "supervisor",
              "reads everything: SLA compliance, breaches, satisfaction; phones masked 班长"),
)


def demo_logins() -> list[DemoLogin]:
    """What the command prints at the end: who to log in as, and what they do."""
    techs = [
        DemoLogin(t.username, "technician",
                  f"own orders on the phone pages (R41): accept, call, book, check in, "
                  f"complete 装维 {t.name}, {t.team}" if i == 0
                  else f"the same: {t.name}, {t.team}")
        for i, t in enumerate(DEMO_TECHNICIANS)
    ]
    return [*STAFF_LOGINS, *techs]


SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
            "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
            "史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤")
#: Frequent surnames first: weight 1/(rank + 8) is close enough to the real spread.
_SURNAME_CUM = list(itertools.accumulate(1 / (i + 8) for i in range(len(SURNAMES))))
GIVEN_NAMES = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "霞", "平", "刚", "桂英", "秀英", "建华", "建国", "志强", "海燕", "晓东",
    "俊杰", "子涵", "雨萱", "浩然", "欣怡", "宇轩", "梓涵", "文博", "淑珍", "玉兰", "国庆",
    "红梅", "春生", "德明", "婷婷", "思远", "佳怡", "一鸣", "秀兰", "桂兰", "建军", "丽娟",
    "晓明", "志刚", "玉梅", "淑英", "振华", "凤英", "宏伟", "雪梅", "立新", "永红", "子轩",
)
#: VIP / key-business customers (R35) are often companies; invented names.
COMPANIES = (
    "北京望京创新科技有限公司", "北京中关村数据服务有限公司", "北京德胜门酒店管理有限公司",
    "北京东四文化传媒有限公司", "北京金融街财富咨询有限公司", "北京知春里口腔诊所",
    "北京溪翁庄农业专业合作社", "北京花家地社区卫生服务站", "北京双榆树小学",
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "176", "177", "178", "180", "181",
    "182", "183", "185", "186", "187", "188", "189", "191", "198", "199",
)
SYMPTOMS: dict[str, tuple[str, ...]] = {
    Service.BROADBAND: (
        "无法上网，光猫 LOS 灯红色闪烁", "网速慢，晚高峰测速不到 50M", "宽带频繁掉线，每天十几次",
        "无线信号弱，卧室连不上", "拨号提示 691 错误", "光猫 PON 灯不亮",
    ),
    Service.FIXED_LINE: (
        "固话无拨号音", "固话杂音大，通话断续", "固话能打出不能接听", "电话线被装修时挖断",
    ),
    Service.IPTV: (
        "IPTV 频繁卡顿、花屏", "IPTV 开机提示网络连接失败", "机顶盒无法登录，提示账号错误",
        "回看节目打不开",
    ),
}
NOTES = (
    "", "", "", "", "", "客户要求上午上门", "小区有门禁，到楼下先打电话", "家中有老人，请轻敲门",
    "客户下班后 18 点以后在家", "楼道弱电井钥匙在物业", "需带长网线约 20 米",
    "客户有狗，上门前电话",
)
CANCEL_REASONS = ("客户已改用其他运营商", "客户搬家，不再需要", "重复工单",
                  "客户自行恢复，不需上门", "客户暂不办理")
REMOTE_RESOLUTIONS = ("重启光猫后恢复", "指导客户重新插拔网线后恢复", "后台重置端口后恢复",
                      "账号欠费停机，缴费后恢复", "机顶盒恢复出厂设置后恢复")
NO_RESOURCE_REASONS = ("分光器端口已满", "楼内无空余交接箱端口", "入户管道堵塞，无法穿线",
                       "小区尚未光纤覆盖")
PARK_REASONS = ("装修中", "客户出差，下周回京", "电脑还没买", "客户要求等物业开通弱电井")
NOBODY_HOME_NOTES = ("10:05 到达，10:20 离开，已留联系卡", "按约到达无人应门，电话关机，已留言",
                     "敲门无人，电话无人接听，已发短信")
CANT_FINISH_REASONS = ("需更换入户光缆", "光猫故障，需申领新设备", "楼道弱电井无法打开，约物业再来")
REWORK_COMMENTS = ("网速还是慢", "装完第二天又断了", "师傅走后 IPTV 还是卡")
REWORK_FIXES = ("更换光猫后测速正常", "重新熔接尾纤，光功率正常", "调整无线信道后客户满意")
FAULT_CAUSES = ("line", "equipment", "external_damage", "weather", "customer_equipment", "other")


def _person_name(rng: random.Random) -> str:
    surname = rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0]
    return surname + rng.choice(GIVEN_NAMES)


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"


def _address(rng: random.Random, district: str | None, area_name: str) -> str:
    templates = DISTRICTS[district][2] if district in DISTRICTS else (area_name + " {no} 号",)
    floor = rng.randint(1, 18)
    return rng.choice(templates).format(
        no=rng.randint(1, 199), bldg=rng.randint(1, 24), unit=rng.randint(1, 6),
        room=f"{floor}{rng.randint(1, 4):02d}", tower=rng.choice("ABCD"))


def _district_of(area: Area) -> str | None:
    """Areas made here are coded BJ-<district>-...; others get a generic address."""
    parts = area.code.split("-")
    return parts[1] if len(parts) >= 3 and parts[1] in DISTRICTS else None


def _access_for(rng: random.Random, area_type: str) -> str:
    if area_type == AreaType.RURAL:  # long copper lines still serve villages
        return rng.choices(("ftth", "xdsl"), weights=(60, 40))[0]
    return rng.choices(("ftth", "fttb", "lan", "xdsl"), weights=(60, 20, 15, 5))[0]


# --- Reference data (both modes) ----------------------------------------------------

@dataclass
class Reference:
    areas: list[Area]
    technicians: list[Technician]
    dispatcher: Any
    agent: Any
    supervisor: Any
    created_users: list[str] = field(default_factory=list)


class _Passwords:
    """PBKDF2 takes ~0.5 s per hash on this kind of machine: hash the demo password once
    and give every demo user the same encoded value (one salt; it is a demo)."""

    def __init__(self) -> None:
        self._encoded: str | None = None

    def encoded(self) -> str:
        if self._encoded is None:
            self._encoded = make_password(DEMO_PASSWORD)
        return self._encoded


def _user(username: str, full_name: str, *, group: str | None, staff: bool,
          superuser: bool = False, passwords: _Passwords, created: list[str]) -> Any:
    """Get or create a demo user. An existing user is left as it is (its password too)."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        # Chinese names are written surname first with no space: keep the whole name in
        # first_name so get_full_name() (used in the event log) shows it the right way.
        user = user_model(username=username, first_name=full_name, is_staff=staff,
                          is_superuser=superuser, password=passwords.encoded())
        user.save()
        created.append(username)
    if group is not None:
        user.groups.add(Group.objects.get(name=group))
    return user


def ensure_reference(passwords: _Passwords | None = None) -> Reference:
    """The demo's areas, teams, technicians and office logins. Creates what is missing
    (safe to run twice); existing users keep their password and are only added to their
    role's group."""
    passwords = passwords or _Passwords()
    created: list[str] = []
    areas = {}
    for code, name, district, _weight in DEMO_AREAS:
        rural = DISTRICTS[district][1]
        areas[code], _ = Area.objects.get_or_create(
            code=code, defaults={"name": name,
                                 "area_type": AreaType.RURAL if rural else AreaType.URBAN})
    staff = {
        username: _user(username, name, group=group, staff=True, superuser=group is None,
                        passwords=passwords, created=created)
        for username, name, group in DEMO_STAFF
    }
    teams = {}
    served = {}
    for name, home, serves in DEMO_TEAMS:
        teams[name], _ = Team.objects.get_or_create(
            name=name, defaults={"area": areas[home], "supervisor": staff["supervisor"]})
        served[name] = [areas[c] for c in serves]
    skills = {s.code: s for s in Skill.objects.all()}
    technicians = []
    for i, spec in enumerate(DEMO_TECHNICIANS, start=1):
        user = _user(spec.username, spec.name, group=roles.TECHNICIAN, staff=False,
                     passwords=passwords, created=created)
        tech = Technician.objects.filter(user=user).first()
        if tech is None:
            tech = Technician.objects.create(
                user=user, employee_no=f"ZW{1000 + i}", phone=spec.phone,
                team=teams[spec.team], daily_capacity=spec.capacity)
            tech.areas.set(served[spec.team])
            tech.skills.set([skills[c] for c in (*spec.kinds, *spec.services)])
            tech.access_types.set([skills[c] for c in spec.access])
        technicians.append(tech)
    return Reference(areas=list(areas.values()), technicians=technicians,
                     dispatcher=staff["dispatcher"], agent=staff["agent"],
                     supervisor=staff["supervisor"], created_users=created)


# --- Default mode: walk orders through the real services -----------------------------

#: How many demo orders end in each state (at least two everywhere; most closed).
DEMO_STATE_COUNTS: dict[str, int] = {
    S.ACCEPTED: 4, S.DISPATCHED: 3, S.TAKEN: 2, S.NO_RESOURCES: 2, S.CONTACTED: 3,
    S.SCHEDULED: 4, S.PARKED: 2, S.PREPARED: 2, S.EN_ROUTE: 2, S.ON_SITE: 2,
    S.NOBODY_HOME: 2, S.ABNORMAL: 2, S.AWAITING_REVISIT: 2, S.SIGNED_OFF: 2,
    S.COMPLETED: 2, S.SURVEY_PENDING: 3, S.REWORK: 2, S.RESOLVED_REMOTELY: 3,
    S.CLOSED: 20, S.CANCELLED: 2,
}
DEMO_CUSTOMERS = 60

#: Minutes between a step and the one before it (scenario step names).
_GAP_MINUTES: dict[str, tuple[int, int]] = {
    "dispatch": (2, 25), "accept": (1, 8), "no_resources": (5, 30), "contact": (3, 18),
    "schedule": (1, 8), "park": (2, 20), "cant_finish": (30, 90), "sign_off": (30, 120),
    "complete": (3, 15), "survey": (1, 3), "unsatisfied": (60, 1440),
    "satisfied": (60, 1800), "remote": (10, 180), "cancel": (10, 600),
}
#: Minutes from the booked visit: kit checked at the depot, on the way, check-in within
#: the R14 window, or nobody home (filed on arrival, R18).
_AT_VISIT_MINUTES: dict[str, tuple[int, int]] = {
    "kit": (-90, -60), "depart": (-50, -30), "check_in": (-10, 8), "nobody_home": (3, 9),
}
#: About one order in ten breaks a promise, so the SLA pages have something to show:
#: the call comes after the R7/R7a window, or the technician arrives late (R14).
_LATE_MINUTES: dict[str, tuple[int, int]] = {"contact": (35, 90), "check_in": (11, 30)}
_LATE_SHARE = 0.08
#: Minutes an order has been in its final state at the moment of the run.
_DWELL_MINUTES: dict[str, tuple[int, int]] = {
    S.ACCEPTED: (1, 30), S.DISPATCHED: (1, 20), S.TAKEN: (1, 20),
    S.NO_RESOURCES: (600, 4000), S.CONTACTED: (1, 60), S.SCHEDULED: (1, 2),
    S.PARKED: (1440, 5 * 1440), S.PREPARED: (1, 2), S.EN_ROUTE: (1, 2), S.ON_SITE: (1, 10),
    S.NOBODY_HOME: (60, 1200), S.ABNORMAL: (60, 2000), S.AWAITING_REVISIT: (60, 1200),
    S.SIGNED_OFF: (1, 5), S.COMPLETED: (1, 5), S.SURVEY_PENDING: (60, 2000),
    S.REWORK: (60, 1200), S.RESOLVED_REMOTELY: (1440, 20 * 1440),
    S.CLOSED: (1440, 30 * 1440), S.CANCELLED: (1440, 20 * 1440),
}
#: ``scenarios`` reaches "abnormal" with one composite step; the demo takes its parts
#: one at a time so the second booking and the second miss happen on their own day.
_SECOND_MISS = ("schedule", "kit", "depart", "nobody_home")


class _SimulatedClock:
    """Stands in for ``fieldops.clock.now`` while the demo walks its orders."""

    def __init__(self) -> None:
        self.at = timezone.now()

    def now(self) -> dt.datetime:
        return self.at


@contextlib.contextmanager
def _simulated_time() -> Iterator[_SimulatedClock]:
    sim = _SimulatedClock()
    real_now = clock.now
    clock.now = sim.now
    try:
        yield sim
    finally:
        clock.now = real_now


@contextlib.contextmanager
def _without_side_effects() -> Iterator[None]:
    """Demo orders must not reach anyone: their customers' numbers are made up and may
    be real people's, and API clients' webhooks must not hear of them. Inside this block
    the services still write their outbox rows (so the history shows what would have
    gone out), but external ones (SMS, e-mail, webhooks) are marked failed with the
    reason before commit, so the outbox flush never sends them; and the ``on_commit``
    callbacks queued here (delivery, the survey task) are dropped. In-app notices to
    staff are kept: they are the dispatcher's and supervisor's SLA alerts. Must run inside
    the caller's transaction, where the callbacks are still pending."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("_without_side_effects() needs an open transaction")
    pending = len(conn.run_on_commit)
    last_note = Notification.objects.aggregate(m=models.Max("pk"))["m"] or 0
    try:
        yield
        Notification.objects.filter(pk__gt=last_note, status=NotificationStatus.PENDING).update(
            status=NotificationStatus.FAILED,
            last_error="Demo data: never sent (made-up recipient).")
    finally:
        del conn.run_on_commit[pending:]


@dataclass
class _DemoOrder:
    target: str
    customer: dict[str, Any]
    kind: str
    channel: str
    steps: list[str]
    gaps: list[float]  # seconds: after the previous step, or from the visit
    created: dt.datetime = field(default_factory=timezone.now)
    planned: list[dt.datetime] = field(default_factory=list)
    dispatch_by_hand: bool = False
    notes: str = ""
    seed: int = 0  # the order's own draws, so they do not depend on the walking order
    #: Minutes in its final state at the run, when not the state's usual ``_DWELL_MINUTES``.
    dwell: tuple[int, int] | None = None


def _spread(rng: random.Random, values: Sequence[str], weights: Sequence[float],
            n: int) -> list[str]:
    """n values drawn by weight, with every value at least once (when n allows)."""
    out = list(values)[:n]
    out += rng.choices(values, weights=weights, k=n - len(out))
    rng.shuffle(out)
    return out


def _demo_customers(rng: random.Random, areas: list[Area]) -> list[dict[str, Any]]:
    by_code = {a.code: a for a in areas}
    codes = [c for c, *_ in DEMO_AREAS]
    area_codes = _spread(rng, codes, [w for *_, w in DEMO_AREAS], DEMO_CUSTOMERS)
    services_ = _spread(rng, _ALL_SERVICES, (65, 15, 20), DEMO_CUSTOMERS)
    classes = _spread(rng, CustomerClass.values, (90, 10), DEMO_CUSTOMERS)
    accesses = [_access_for(rng, by_code[c].area_type) for c in area_codes]
    for i, access in enumerate(_ALL_ACCESS):  # every access type at least once
        if access not in accesses:
            accesses[i] = access
    phones: set[str] = set()
    customers = []
    for i in range(DEMO_CUSTOMERS):
        area = by_code[area_codes[i]]
        phone = _mobile(rng)
        while phone in phones:
            phone = _mobile(rng)
        phones.add(phone)
        company = classes[i] == CustomerClass.VIP and rng.random() < 0.6
        service = services_[i]
        if service == Service.FIXED_LINE:
            number = f"010-6{rng.randrange(10_000_000):07d}"
        else:
            prefix = "KD010" if service == Service.BROADBAND else "ITV010"
            number = f"{prefix}{rng.randrange(100_000_000):08d}"
        customers.append({
            "customer_name": rng.choice(COMPANIES) if company else _person_name(rng),
            "contact_phone": phone,
            "alt_phone": _mobile(rng) if rng.random() < 0.2 else "",
            "customer_class": classes[i],
            "account_number": number,
            "address": _address(rng, _district_of(area), area.name),
            "area": area,
            "service": service,
            "access_type": accesses[i],
        })
    return customers


def _demo_steps(target: str) -> list[str]:
    steps: list[str] = []
    for step in scenarios.path_to(target):
        steps.extend(_SECOND_MISS if step == "second_miss" else [step])
    return steps


def _minutes(rng: random.Random, span: tuple[int, int]) -> float:
    return rng.uniform(*span) * MINUTE


def _plan(order: _DemoOrder, rng: random.Random, now: dt.datetime) -> None:
    """Give every step a moment so the order reaches its state a realistic while ago.

    Times run forward from a trial start; a booked visit is ``scenarios``' "two hours
    ahead, on the hour" (mirrored here), and field steps sit around the visit. The whole
    timeline is then moved by whole hours (which keeps the visits on the hour) so the
    last step lands ``dwell`` before now; an order that ended days ago is moved a few
    hours more if that puts its intake and visits in the daytime.
    """
    gaps = []
    previous = ""
    for step in order.steps:
        if step in _LATE_MINUTES and rng.random() < _LATE_SHARE:
            gaps.append(_minutes(rng, _LATE_MINUTES[step]))
        elif step in _AT_VISIT_MINUTES:
            gaps.append(_minutes(rng, _AT_VISIT_MINUTES[step]))
        elif step == "schedule" and previous == "nobody_home":
            gaps.append(_minutes(rng, (1200, 1500)))  # booked again for the next day
        else:
            gaps.append(_minutes(rng, _GAP_MINUTES[step]))
        previous = step
    order.gaps = gaps
    trial = (now - dt.timedelta(days=40)).replace(microsecond=0) - dt.timedelta(
        seconds=rng.randrange(3600))
    times, visits = _times(trial, order.steps, gaps)
    last = times[-1] if times else trial
    lo, hi = order.dwell or _DWELL_MINUTES[order.target]
    dwell = rng.uniform(lo, hi)
    hours = math.floor((now - dt.timedelta(minutes=dwell) - last) / dt.timedelta(hours=1))
    daytime = [  # whole-hour moves that keep the dwell in range
        extra for extra in range(-23, 24) if lo <= dwell + 60 * extra <= hi
        and 8 <= timezone.localtime(trial + dt.timedelta(hours=hours - extra)).hour < 21
        and all(9 <= timezone.localtime(v + dt.timedelta(hours=hours - extra)).hour < 18
                for v in visits)
    ]
    if daytime:
        hours -= rng.choice(daytime)
    shift = dt.timedelta(hours=hours)
    order.created = trial + shift
    order.planned = [t + shift for t in times]


def _visit_for(booked_at: dt.datetime) -> dt.datetime:
    """Mirror of ``scenarios._visit_window``: two hours ahead, on the hour."""
    return (booked_at + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)


def _times(start: dt.datetime, steps: list[str],
           gaps: list[float]) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """Each step's moment, and the visits booked on the way."""
    out: list[dt.datetime] = []
    visits: list[dt.datetime] = []
    t = start
    for step, gap in zip(steps, gaps, strict=True):
        if step in _AT_VISIT_MINUTES and visits:
            t = max(t + dt.timedelta(minutes=1), visits[-1] + dt.timedelta(seconds=gap))
        else:
            t = t + dt.timedelta(seconds=gap)
        if step == "schedule":
            visits.append(_visit_for(t))
        out.append(t)
    return out, visits


def _demo_plan(rng: random.Random, ref: Reference) -> list[_DemoOrder]:
    customers = _demo_customers(rng, ref.areas)
    targets = [state for state, n in DEMO_STATE_COUNTS.items() for _ in range(n)]
    rng.shuffle(targets)
    # Remote resolution is for repairs (R2); give them repairs before spreading kinds.
    targets.sort(key=lambda s: s != S.RESOLVED_REMOTELY)
    kinds: list[str] = [Kind.REPAIR] * targets.count(S.RESOLVED_REMOTELY)
    kinds += _spread(rng, _ALL_KINDS, (40, 15, 45), len(targets) - len(kinds))
    channels = _spread(rng, Channel.values, (40, 10, 25, 12, 8, 5), len(targets))
    now = timezone.now()
    orders = []
    for i, target in enumerate(targets):
        orders.append(_DemoOrder(target=target, customer={}, kind=kinds[i], channel=channels[i],
                                 steps=_demo_steps(target), gaps=[],
                                 dispatch_by_hand=rng.random() < 0.25,
                                 notes=rng.choice(NOTES), seed=rng.getrandbits(64)))
    # R30: one survey has waited long enough for its callback (24 hours after an SMS the
    # quiet hours may have held back up to 11), so the call-centre's queue is not empty.
    next(o for o in orders if o.target == S.SURVEY_PENDING).dwell = (36 * 60, 48 * 60)
    rng.shuffle(orders)
    # The first 60 orders each bring a new customer; the rest are the second call of a
    # customer whose first order is long closed (a repair or a move, after the install).
    for order, customer in zip(orders, customers, strict=False):
        order.customer = customer
    firsts = [o for o in orders[:len(customers)] if o.target == S.CLOSED]
    repeats = orders[len(customers):]
    for order, first in zip(repeats, rng.sample(firsts, len(repeats)), strict=True):
        order.customer = first.customer
        first.kind = Kind.INSTALL
        if order.kind == Kind.INSTALL:
            order.kind = rng.choice((Kind.REPAIR, Kind.MOVE))
    involved = {id(o) for o in repeats} | {id(o.customer) for o in repeats}
    free = [o for o in orders if o.target != S.RESOLVED_REMOTELY
            and id(o) not in involved and id(o.customer) not in involved]
    for kind in _ALL_KINDS:  # the changes above must not lose a kind
        if all(o.kind != kind for o in orders):
            free.pop().kind = kind
    for order in orders:
        _plan(order, random.Random(order.seed), now)
    # A customer's first order ends days before their next call: move it back by whole
    # days (keeps its times of day and its visits on the hour).
    for order in repeats:
        first = next(o for o in orders if o.customer is order.customer)
        days = 0
        while first.planned[-1] - dt.timedelta(days=days) > order.created - dt.timedelta(days=2):
            days += 1
        first.created -= dt.timedelta(days=days)
        first.planned = [t - dt.timedelta(days=days) for t in first.planned]
    orders.sort(key=lambda o: o.created)
    return orders


def _walk(order: _DemoOrder, ref: Reference, sim: _SimulatedClock) -> WorkOrder:
    rng = random.Random(order.seed + 1)
    c = order.customer
    sim.at = order.created
    self_service = order.channel in (Channel.APP, Channel.WEBSITE)
    intake: dict[str, Any] = {
        "channel": order.channel, "kind": order.kind, "service": c["service"],
        "access_type": c["access_type"], "customer_name": c["customer_name"],
        "contact_phone": c["contact_phone"], "alt_phone": c["alt_phone"],
        "address": c["address"], "area": c["area"], "customer_class": c["customer_class"],
        "account_number": c["account_number"], "notes": order.notes,
    }
    if order.kind == Kind.REPAIR:
        intake["symptoms"] = rng.choice(SYMPTOMS[c["service"]])
        intake["fault_started_at"] = order.created - dt.timedelta(hours=rng.uniform(1, 48))
    else:
        intake["preferred_day"] = timezone.localdate(order.created)
    if order.channel == Channel.HOTLINE:
        intake["external_ref"] = f"10010-{timezone.localdate(order.created):%Y%m%d}-" \
                                 f"{rng.randrange(10_000):04d}"
    if order.kind == Kind.MOVE:
        intake["address"] = _address(rng, _district_of(c["area"]), c["area"].name)
        intake["notes"] = f"移机，原地址：{c['address']}"
    wo = services.work_order_create(by=None if self_service else ref.agent, **intake)

    visit: dt.datetime | None = None
    t = order.created
    for step, planned, gap in zip(order.steps, order.planned, order.gaps, strict=True):
        if step in _AT_VISIT_MINUTES and visit is not None:
            t = max(t + dt.timedelta(minutes=1), visit + dt.timedelta(seconds=gap))
        else:
            t = max(t + dt.timedelta(minutes=1), planned)
        sim.at = t
        technician = None
        if step == "dispatch" and order.dispatch_by_hand:
            candidates = list(selectors.dispatch_candidates(wo))
            technician = rng.choice(candidates) if candidates else None
        # One step at a time (walk_to's own loop, with the clock set between steps).
        wo = scenarios._step(wo, step, technician=technician,
                             dispatcher=ref.dispatcher, agent=ref.agent)
        if step == "schedule":
            visit = (wo.appointments.filter(status=AppointmentStatus.BOOKED)
                     .values_list("start", flat=True).get())
    if wo.state != order.target:
        raise RuntimeError(f"demo order {wo.number} reached {wo.state}, not {order.target}")
    return wo


@dataclass
class DemoResult:
    orders: int
    customers: int
    created_users: list[str]
    seconds: float


def build_demo(*, seed: int = DEFAULT_SEED) -> DemoResult:
    """The default mode: reference data and ~66 orders walked through the services, in
    one transaction."""
    started = time.monotonic()
    rng = random.Random(seed)
    customers_before = Customer.objects.count()
    with transaction.atomic():
        ref = ensure_reference()
        plan = _demo_plan(rng, ref)
        with _without_side_effects(), _simulated_time() as sim:
            for order in plan:
                _walk(order, ref, sim)
        with _without_side_effects():
            # R30: the surveys unanswered for a day are in the callback queue at once,
            # rather than at beat's first sweep.
            callbacks_open_due()
        # The dashboards count the demo at once rather than at beat's first refresh.
        order_facts_refresh_stale()
    return DemoResult(orders=len(plan), customers=Customer.objects.count() - customers_before,
                      created_users=ref.created_users, seconds=time.monotonic() - started)


# --- Scale mode: bulk rows, no services ----------------------------------------------

#: Plain-string copies of the choices for the hot loop (enum attribute access is slow).
_S = SimpleNamespace(**{m.name: m.value for m in State})
_AS = SimpleNamespace(**{m.name: m.value for m in AppointmentStatus})
_PR = SimpleNamespace(**{m.name: m.value for m in Precision})
_K = SimpleNamespace(**{m.name: m.value for m in Kind})
_CC = SimpleNamespace(**{m.name: m.value for m in CustomerClass})
_CHANNELS = tuple(Channel.values)

CUSTOMER_COLS = ("id", "name", "phone", "alt_phone", "customer_class", "created_at")
ACCOUNT_COLS = ("id", "number", "customer_id", "address", "area_id", "service", "access_type")
ORDER_COLS = (
    "id", "kind", "service", "access_type", "channel", "customer_class", "customer_id",
    "account_id", "contact_phone", "address", "area_id", "symptoms", "fault_started_at",
    "preferred_day", "external_ref", "notes", "state", "version", "technician_id",
    "dispatched_at", "resources_confirmed_at", "parked_until", "parked_from",
    "customer_missed_bookings", "our_missed_appointments", "supervisor_flag", "rework_round",
    "completed_at", "closed_at", "cancel_reason", "created_at", "updated_at", "created_by_id",
)
APPOINTMENT_COLS = ("order_id", "start", "end", "precision", "status", "chosen_by_customer",
                    "booked_at", "booked_by_id", "reason", "arrived_at",
                    "arrival_offset_minutes", "late")
TIMER_COLS = ("order_id", "rule_id", "kind", "cycle", "status", "policy_version",
              "target_seconds", "started_at", "consumed_seconds", "running_since", "due_at",
              "next_check_at", "escalation_level", "warned_at", "breached_at", "stopped_at",
              "failures")
ASSIGNMENT_COLS = ("order_id", "technician_id", "assigned_at", "ended_at", "assigned_by_id",
                   "automatic", "reason")
EVENT_COLS = ("order_id", "at", "actor_id", "actor_label", "action", "from_state", "to_state",
              "reason", "payload")
CONTACT_COLS = ("order_id", "technician_id", "at", "channel", "outcome", "note", "sms_sent")
FACT_COLS = (
    "order_id", "day", "created_at", "dispatched_at", "contacted_at", "on_site_at",
    "completed_at", "dispatch_to_contact_s", "dispatch_to_site_s", "site_to_complete_s",
    "paused_customer_s", "paused_resources_s", "contact_outcome", "visit_outcome", "breaches",
    "visits", "arrivals", "late_arrivals", "survey_answers", "satisfied_answers",
    "rework_rounds", "remote", "abnormal", "area_id", "technician_id", "team_id", "kind",
    "customer_class", "account_id", "state", "closed_at", "missed_by_us", "next_visit_at",
    "first_fix", "updated_at",
)
#: R14: arriving more than this off the booked time is late (APPOINTMENT_LATE_AFTER_MINUTES).
_LATE_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class _Rule:
    """An SLA timer rule, flattened for the simulation of the scale mode."""

    pk: int
    kind: str
    target: int
    anchored: bool
    start_on: frozenset[str]
    stop_on: frozenset[str]
    pause_on: frozenset[str]
    resume_on: frozenset[str]
    cancel_on: frozenset[str]
    ladder: tuple[tuple[float, str], ...]
    version: int
    schedule: Any


class _Rows:
    """Writes rows of one table: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

    Columns not listed (a field added to the model later) get the field's default, so
    a new nullable or defaulted field does not break the load; a new required field
    without a default stops it with a clear message.
    """

    def __init__(self, model: type[models.Model], cols: Sequence[str], *, use_copy: bool,
                 batch_size: int) -> None:
        self.model = model
        self.cols = tuple(cols)
        self.use_copy = use_copy
        self.batch_size = batch_size
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(self.cols) - set(by_attname)
        if unknown:
            raise RuntimeError(f"{model.__name__} has no column(s) {sorted(unknown)}")
        extra_fields = [f for name, f in by_attname.items()
                        if name not in self.cols and not f.primary_key]
        for f in extra_fields:
            if not f.has_default() and not f.null:
                raise RuntimeError(f"{model.__name__}.{f.name} is required and has no default:"
                                   f" teach workorders/demo.py its value")
        self.extra_cols = tuple(f.attname for f in extra_fields)
        self.extra_fields = extra_fields
        self.json_at = [i for i, name in enumerate(self.cols + self.extra_cols)
                        if isinstance(by_attname[name], models.JSONField)]
        qn = connection.ops.quote_name
        self.copy_sql = (f"COPY {qn(model._meta.db_table)} "
                         f"({', '.join(qn(c) for c in self.cols + self.extra_cols)}) FROM STDIN")

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self.use_copy:
            self.model._default_manager.bulk_create(
                [self.model(**dict(zip(self.cols, row, strict=True))) for row in rows],
                batch_size=self.batch_size)
            return
        extra = tuple(f.get_default() for f in self.extra_fields)
        with connection.cursor() as cursor, cursor.cursor.copy(self.copy_sql) as copy:
            for row in rows:
                if self.json_at:
                    values = list(row + extra)
                    for i in self.json_at:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                    copy.write_row(values)
                else:
                    copy.write_row(row + extra if extra else row)


class _Ids:
    """Primary keys handed out before insert, so rows can point at each other in one pass.
    PostgreSQL: drawn from the table's sequence. Elsewhere: counted up from max(id)
    (SQLite takes its write lock at BEGIN, so nobody else inserts meanwhile)."""

    def __init__(self, model: type[models.Model], *, postgres: bool) -> None:
        self.model = model
        self.postgres = postgres
        self.pool: list[int] = []
        self.next_id: int | None = None

    def take(self) -> int:
        if self.postgres:
            if not self.pool:
                table = self.model._meta.db_table
                with connection.cursor() as cursor:
                    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                                   "FROM generate_series(1, 5000)", [table])
                    self.pool = [r[0] for r in cursor.fetchall()][::-1]
            return self.pool.pop()
        if self.next_id is None:
            top = self.model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0
            self.next_id = top + 1
        self.next_id += 1
        return self.next_id - 1


@dataclass
class ScaleResult:
    orders: int
    customers: int
    technicians: int
    seconds: float
    method: str
    states: dict[str, int]


# Actors of a step, resolved per order to (user id, label).
_TECH, _DISPATCHER, _AGENT, _SYSTEM, _CUSTOMER = range(5)


class _ScaleGenerator:
    """Simulates orders' lives (seconds since the epoch) and turns them into rows."""

    def __init__(self, rng: random.Random, ref: _ScaleReference, *, now: float, days: int,
                 full_events: bool, use_copy: bool) -> None:
        self.rng = rng
        self.ref = ref
        self.now = now
        self.start = now - days * DAY
        self.full_events = full_events
        self.use_copy = use_copy
        tz = timezone.get_current_timezone()
        # One UTC offset for the run (Asia/Shanghai has no DST; elsewhere a visit may
        # be an hour off around a change, which a benchmark does not mind).
        self.offset = dt.datetime.fromtimestamp(now, tz).utcoffset().total_seconds()  # type: ignore[union-attr]
        self.tz = tz
        self.customers: list[tuple[Any, ...]] = []  # recent customers, for repeat calls
        self.states: dict[str, int] = {}
        self.new_customers = 0
        self.intake_reason = _("First booking at intake (R3)")
        self.rules: dict[tuple[str, str, str, str], list[_Rule]] = {}

    # -- time helpers --
    def _dt(self, ts: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(ts, dt.UTC)

    def _local_day_start(self, ts: float) -> float:
        return ts - ((ts + self.offset) % DAY)

    def _local_hour(self, ts: float) -> int:
        return int(((ts + self.offset) % DAY) // HOUR)

    def _visit(self, earliest: float, day_start: float | None = None) -> float:
        """The first whole hour from ``earliest`` in working hours (9:00-18:00)."""
        r = self.rng.random
        t = earliest
        if day_start is not None:
            t = max(t, day_start + (9 + int(r() * 8)) * HOUR)
        t = math.ceil(t / HOUR) * HOUR  # local offsets are whole hours here
        hour = self._local_hour(t)
        if hour < 9:
            t = self._local_day_start(t) + (9 + int(r() * 3)) * HOUR
        elif hour >= 18:
            t = self._local_day_start(t) + DAY + (9 + int(r() * 3)) * HOUR
        return t

    # -- an order's life --
    def _life(self, t0: float, kind: str, vip: bool, area_type: str, preferred: float,
              force: str | None) -> list[tuple[str, str, str, float, int, Any]]:
        """Every step from intake to the end: (action, from, to, at, actor, data).

        ``force`` takes the branches that lead to that state (used to make sure a small
        run still has every state); otherwise branches are drawn by realistic rates."""
        r = self.rng.random
        want = {
            _S.CANCELLED: {"cancel"}, _S.RESOLVED_REMOTELY: {"remote"},
            _S.NO_RESOURCES: {"no_resources"}, _S.PARKED: {"park"}, _S.NOBODY_HOME: {"miss1"},
            _S.ABNORMAL: {"miss1", "miss2"}, _S.AWAITING_REVISIT: {"cant_finish"},
            _S.REWORK: {"rework"},
        }.get(force or "", set())

        def coin(p: float, branch: str) -> bool:
            return branch in want if force else r() < p

        steps: list[tuple[str, str, str, float, int, Any]] = []
        state = _S.ACCEPTED
        t = t0

        def go(action: str, to: str, at: float, actor: int, data: Any = None) -> None:
            nonlocal state, t
            t = max(at, t + 30)
            steps.append((action, state, to, t, actor, data))
            state = to

        def minutes(lo: float, hi: float) -> float:
            return (lo + r() * (hi - lo)) * MINUTE

        if kind == _K.REPAIR and coin(0.12, "remote"):  # R2, within 4 h (R36)
            go("resolve_remotely", _S.RESOLVED_REMOTELY, t + minutes(10, 240), _AGENT,
               self.rng.choice(REMOTE_RESOLUTIONS))
            return steps
        cancel_at = None
        if coin(0.05, "cancel"):
            cancel_at = self.rng.choice((_S.ACCEPTED, _S.DISPATCHED, _S.TAKEN, _S.CONTACTED,
                                         _S.SCHEDULED))

        def cancelled() -> bool:
            if state != cancel_at:
                return False
            go("cancel", _S.CANCELLED, t + minutes(10, 900), _AGENT,
               self.rng.choice(CANCEL_REASONS))
            return True

        if cancelled():
            return steps
        go("dispatch", _S.DISPATCHED, t + minutes(1, 10 if vip else 30),
           _SYSTEM if r() < 0.75 else _DISPATCHER, None)
        if cancelled():
            return steps
        go("accept", _S.TAKEN, t + minutes(1, 8), _TECH)
        if coin(0.04, "no_resources"):  # R6
            go("report_no_resources", _S.NO_RESOURCES, t + minutes(5, 40), _TECH,
               self.rng.choice(NO_RESOURCE_REASONS))
            go("dispatch", _S.DISPATCHED, t + minutes(1440, 5 * 1440), _DISPATCHER, "again")
            go("accept", _S.TAKEN, t + minutes(1, 8), _TECH)
        go("confirm_resources", _S.TAKEN, t + minutes(2, 15), _TECH)  # R5
        if cancelled():
            return steps
        late = r() < 0.06  # R7/R7a: most calls within 30 min, some late
        go("contact", _S.CONTACTED, t + (minutes(35, 150) if late else minutes(3, 18)), _TECH)
        if cancelled():
            return steps
        if coin(0.05, "park"):  # R12
            until = self._local_day_start(t) + (3 + int(r() * 12)) * DAY
            go("park", _S.PARKED, t + minutes(2, 20), _TECH if r() < 0.6 else _AGENT,
               (self.rng.choice(PARK_REASONS), until))
            go("resume", _S.CONTACTED, until + minutes(8 * 60, 11 * 60),
               _TECH if r() < 0.6 else _AGENT)
        misses = 0
        revisit = False
        first_visit = True
        while True:
            booked = t + (minutes(1, 10) if first_visit else minutes(60, 20 * 60))
            if first_visit and kind != _K.REPAIR:  # on the day agreed at intake (R3)
                visit = self._visit(booked + HOUR, day_start=preferred)
            else:  # a repair within the day (R34)
                visit = self._visit(booked + 2 * HOUR)
            half_day = area_type == AreaType.RURAL and r() < 0.5  # R11
            go("schedule", _S.SCHEDULED, booked, _TECH, (visit, half_day))
            if first_visit and cancelled():
                return steps
            first_visit = False
            go("confirm_kit", _S.PREPARED, visit - minutes(60, 90), _TECH)
            go("depart", _S.EN_ROUTE, visit - minutes(30, 50), _TECH)
            if coin(0.06 if misses == 0 else 0.3, "miss1" if misses == 0 else "miss2"):
                go("nobody_home", _S.NOBODY_HOME, visit + minutes(3, 9), _TECH,  # R18
                   self.rng.choice(NOBODY_HOME_NOTES))
                misses += 1
                if misses >= 2:  # R19
                    go("make_abnormal", _S.ABNORMAL, t, _SYSTEM)
                    if coin(0.6, "abnormal_retry"):
                        go("return_from_abnormal", _S.CONTACTED, t + minutes(120, 2880), _AGENT)
                        misses = 0
                        continue
                    go("close_abnormal", _S.CLOSED, t + minutes(120, 2880), _AGENT)
                    return steps
                continue
            arrive = minutes(-10, 8) if r() < 0.93 else minutes(11, 45)  # R14
            go("check_in", _S.ON_SITE, visit + arrive, _TECH)
            if not revisit and coin(0.05, "cant_finish"):  # R24
                revisit = True
                go("cant_finish", _S.AWAITING_REVISIT, t + minutes(30, 90), _TECH,
                   self.rng.choice(CANT_FINISH_REASONS))
                continue
            break
        go("sign_off", _S.SIGNED_OFF, t + minutes(30, 150), _TECH)
        go("complete", _S.COMPLETED, t + minutes(3, 15), _TECH)
        go("start_survey", _S.SURVEY_PENDING, t + minutes(1, 3), _SYSTEM)
        rounds = 0
        while rounds < (1 if force else 2) and coin(0.08 if rounds == 0 else 0.25, "rework"):
            go("start_rework", _S.REWORK, t + minutes(60, 1800), _CUSTOMER,
               self.rng.choice(REWORK_COMMENTS))
            if r() < 0.9:  # R31: the customer is called back within the day, mostly
                go("log_contact", _S.REWORK, t + minutes(20, 1200), _TECH)
            go("resolve_rework", _S.SURVEY_PENDING, t + minutes(120, 1320), _TECH,  # R31
               self.rng.choice(REWORK_FIXES))
            rounds += 1
        go("close_satisfied", _S.CLOSED, t + minutes(60, 2880), _CUSTOMER)
        return steps

    # -- customers --
    def _customer(self, ids: dict[str, _Ids]) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
        """A returning customer (2 orders in 3), or a new one with its account; a new one's
        rows are written by the caller once the order's creation time is final."""
        rng = self.rng
        r = rng.random
        if self.customers and r() >= 1 / 3:
            return self.customers[int(r() * len(self.customers))], None
        area_i = rng.choices(range(len(self.ref.areas)), cum_weights=self.ref.area_cum)[0]
        area = self.ref.areas[area_i]
        vip = r() < 0.08
        name = rng.choice(COMPANIES) if vip and r() < 0.5 else _person_name(rng)
        phone = _mobile(rng)
        service = rng.choices(_ALL_SERVICES, cum_weights=(65, 80, 100))[0]
        access = _access_for(rng, area.area_type)
        address = _address(rng, _district_of(area), area.name)
        cid = ids["customer"].take()
        aid = ids["account"].take()
        number = {"broadband": "KD", "fixed_line": "GH", "iptv": "ITV"}[service] + f"{aid:09d}"
        klass = _CC.VIP if vip else _CC.STANDARD
        alt = _mobile(rng) if r() < 0.15 else ""
        customer = (cid, aid, name, phone, klass, area_i, address, service, access)
        if len(self.customers) < 50_000:
            self.customers.append(customer)
        else:  # recent customers call again; keep memory bounded
            self.customers[int(r() * len(self.customers))] = customer
        self.new_customers += 1
        return customer, (alt, number)

    # -- one order --
    def order(self, rows: dict[str, list[tuple[Any, ...]]], t0: float, ids: dict[str, _Ids],
              force: str | None = None) -> tuple[float, tuple[Any, ...], list[Any]]:
        """Returns (created, order row without id, child rows without order id)."""
        rng = self.rng
        r = rng.random
        ref = self.ref
        customer, new = self._customer(ids)
        cid, aid, name, phone, klass, area_i, address, service, access = customer
        area = ref.areas[area_i]
        if force == _S.RESOLVED_REMOTELY:
            kind = _K.REPAIR
        elif new is not None:
            kind = _K.INSTALL if r() < 0.85 else _K.REPAIR
        else:
            kind = _K.REPAIR if r() < 0.8 else _K.MOVE
        vip = klass == _CC.VIP
        day0 = self._local_day_start(t0)
        preferred = day0 + (0 if kind == _K.REPAIR else int(r() * 3)) * DAY
        life = self._life(t0, kind, vip, area.area_type, preferred, force)
        if force is not None:
            # Move the whole life so that now falls inside the forced state.
            if force == _S.ACCEPTED:
                k, enter = -1, t0
            else:
                k = next(i for i, step in enumerate(life) if step[2] == force)
                enter = life[k][3]
            leave = life[k + 1][3] if k + 1 < len(life) else enter + 3 * DAY
            shift = self.now - (enter + (0.2 + 0.6 * r()) * (leave - enter))
            t0 += shift
            day0 = self._local_day_start(t0)
            preferred += shift
            life = [(a, f, to, at + shift, who, data) for a, f, to, at, who, data in life]
        life = [s for s in life if s[3] <= self.now]
        channel = rng.choices(_CHANNELS, cum_weights=(40, 50, 75, 87, 95, 100))[0]
        created = self._dt(t0)
        if new is not None:
            alt, number = new
            rows["customer"].append((cid, name, phone, alt, klass, created))
            rows["account"].append((aid, number, cid, address, area.pk, service, access))
        created_by = None if channel in ("app", "website") else ref.agent
        move_to = ""
        if kind == _K.MOVE:
            move_to = _address(rng, _district_of(area), area.name)
        # candidates for the technician: serving the area with the skills for the job
        techs = ref.candidates.get((area.pk, kind, service, access)) or ref.by_area[area.pk]
        tech = techs[int(r() * len(techs))]
        tech_user, tech_label = ref.tech_users[tech]

        def actor(who: int) -> tuple[int | None, str]:
            if who == _TECH:
                return tech_user, tech_label
            if who == _DISPATCHER:
                return ref.dispatcher
            if who == _AGENT:
                return ref.agent_actor
            if who == _CUSTOMER and r() < 0.3:  # R30: manual callback by the call-centre
                return ref.agent_actor
            return None, "system"

        technician = None
        dispatched = None
        resources = None
        parked_until = None
        parked_from = ""
        missed = 0
        rework = 0
        completed = None
        closed = None
        cancel_reason = ""
        preferred_day = dt.datetime.fromtimestamp(preferred + 12 * HOUR, self.tz).date()
        booked_by = created_by
        appts: list[list[Any]] = [[
            self._dt(preferred), self._dt(preferred + DAY), _PR.DAY,
            _AS.BOOKED, True, created, booked_by, self.intake_reason, None, None, None]]
        history: list[tuple[str, float, float | None]] = [("create", t0, None)]
        assigns: list[list[Any]] = []
        contacts: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        create_actor = (created_by, ref.agent_actor[1]) if created_by else (None, "system")
        create_event = (created, create_actor[0], create_actor[1], "create", "", _S.ACCEPTED,
                        "", {"channel": channel, "kind": kind,
                             "preferred_day": preferred_day.isoformat()})
        events.append(create_event)
        last = len(life) - 1
        full = self.full_events
        fromts = dt.datetime.fromtimestamp
        utc = dt.UTC
        for i, (action, from_state, to_state, at_ts, who, data) in enumerate(life):
            at = fromts(at_ts, utc)
            log = full or i == last  # "ends" keeps only the last step's event
            reason = ""
            payload: dict[str, Any] = {}
            if action != "schedule":  # a booking carries its window start (below)
                history.append((action, at_ts, None))
            if action == "dispatch":
                if data == "again" and len(ref.by_area[area.pk]) > 1 and r() < 0.5:
                    tech = techs[int(r() * len(techs))]
                    tech_user, tech_label = ref.tech_users[tech]
                technician, dispatched = tech, at
                automatic = who == _SYSTEM
                for a in assigns:
                    if a[2] is None:
                        a[2] = at
                assigns.append([tech, at, None, None if automatic else ref.dispatcher[0],
                                automatic, ""])
                payload = {"technician": tech, "automatic": automatic}
            elif action == "confirm_resources":
                resources = at
            elif action == "report_no_resources":
                resources = None
                reason = data
            elif action in ("contact", "log_contact"):  # R7; R31 in a rework round
                contacts.append((tech, at, "phone", "reached", "", False))
                payload = {"channel": "phone", "outcome": "reached"}
            elif action == "schedule":
                visit, half_day = data
                if half_day:
                    morning = self._local_hour(visit) < 12
                    day = self._local_day_start(visit)
                    start = day + (9 if morning else 13) * HOUR
                    end = day + (12 if morning else 17) * HOUR
                else:
                    start, end = visit, visit + HOUR
                for ap in appts:
                    if ap[3] == _AS.BOOKED:
                        ap[3] = _AS.CANCELLED
                precision = _PR.HALF_DAY if half_day else _PR.EXACT
                appts.append([self._dt(start), self._dt(end), precision,
                              _AS.BOOKED, True, at, tech_user, "", None, None, None])
                history.append((action, at_ts, start))
                if log:
                    payload = {"start": appts[-1][0].isoformat(),
                               "end": appts[-1][1].isoformat(),
                               "precision": precision, "chosen_by_customer": True}
            elif action == "park":
                reason, until = data
                parked_from = from_state
                parked_until = dt.datetime.fromtimestamp(until + 12 * HOUR, self.tz).date()
                payload = {"until": parked_until.isoformat()} if log else payload
            elif action == "resume":
                parked_from, parked_until = "", None
            elif action == "check_in":
                for ap in appts:
                    if ap[3] == _AS.BOOKED:
                        ap[3] = _AS.KEPT
                        offset = at - ap[0]
                        ap[8], ap[9] = at, int(offset.total_seconds() // 60)
                        if ap[2] == _PR.EXACT:  # R14, as appointments.rules.arrival
                            ap[10] = abs(offset) > _LATE_AFTER
                        else:
                            ap[10] = not (ap[0] - _LATE_AFTER <= at <= ap[1] + _LATE_AFTER)
            elif action == "nobody_home":
                missed += 1
                reason = data
                for ap in appts:
                    if ap[3] in (_AS.BOOKED, _AS.KEPT):
                        ap[3] = _AS.MISSED_BY_CUSTOMER
            elif action == "make_abnormal":
                reason = f"{missed} bookings not kept by the customer (R19)"
            elif action == "return_from_abnormal":
                missed = 0
                reason = "回访：客户同意重新预约"
            elif action == "close_abnormal":
                closed = at
                reason = "回访：客户不再需要"
            elif action == "cant_finish":
                reason = data
                if log:
                    payload = {"promised_at": self._dt(at_ts + DAY).isoformat()}
            elif action == "sign_off":
                payload = {"method": "drawn"}
            elif action == "complete":
                completed = at
                if log:
                    report: dict[str, Any] = {
                        "work_done": "安装光猫并测速" if kind != _K.REPAIR else "故障已修复并测速",
                        "speed_mbps": rng.choice((100, 300, 500, 1000))}
                    if kind == _K.REPAIR:
                        report["fault_cause"] = rng.choice(FAULT_CAUSES)  # R25
                    payload = {"report": report}
            elif action == "start_rework":
                rework += 1
                reason = data
                payload = {"satisfied": False}
            elif action == "resolve_rework":
                reason = data
            elif action == "close_satisfied":
                closed = at
                payload = {"satisfied": True}
            elif action in ("resolve_remotely", "cancel"):
                closed = at
                reason = data
                if action == "cancel":
                    cancel_reason = data
                    for a in assigns:
                        if a[2] is None:
                            a[2] = at
                    for ap in appts:
                        if ap[3] == _AS.BOOKED:
                            ap[3] = _AS.CANCELLED
            if log:
                by_id, by_label = actor(who)
                events.append((at, by_id, by_label, action, from_state, to_state, reason,
                               payload))
        state = life[-1][2] if life else _S.ACCEPTED
        updated = self._dt(life[-1][3]) if life else created
        self.states[state] = self.states.get(state, 0) + 1
        symptoms = rng.choice(SYMPTOMS[service]) if kind == _K.REPAIR else ""
        fault_started = self._dt(t0 - (1 + r() * 47) * HOUR) if kind == _K.REPAIR else None
        external_ref = f"10010-{created:%Y%m%d}-{int(r() * 10000):04d}" \
            if channel == "hotline" else ""
        notes = rng.choice(NOTES)
        if move_to:
            notes = f"移机，原地址：{address}"
            address = move_to
        row = (
            kind, service, access, channel, klass, cid, aid,
            phone, address, area.pk, symptoms, fault_started, preferred_day, external_ref,
            notes, state, 1 + len(life), technician, dispatched, resources, parked_until,
            parked_from, missed, 0, False, rework, completed, closed, cancel_reason, created,
            updated, created_by,
        )
        timers = self._timers(kind, service, klass, area.area_type, history)
        arrivals = [(ap[8], ap[10]) for ap in appts if ap[8] is not None]
        fact = self._fact(created, history, timers, arrivals, row, area.pk, technician)
        return t0, row, [appts, assigns, contacts, events, timers, fact]

    # -- SLA timers, as the engine would have kept them (sla.engine.on_order_event) --
    def _rules(self, kind: str, service: str, klass: str, area_type: str) -> list[_Rule]:
        key = (kind, service, klass, area_type)
        found = self.rules.get(key)
        if found is None:
            from sla.engine import policy_for
            from sla.models import ROUND_THE_CLOCK
            from sla.selectors import schedule_for
            from sla.timers import Anchor

            policy = policy_for(SimpleNamespace(kind=kind, service=service,
                                                customer_class=klass,
                                                area=SimpleNamespace(area_type=area_type)))
            found = []
            for rule in policy.rules.select_related("calendar").all() if policy else []:
                schedule = None
                if (rule.calendar_id is not None and rule.anchor != Anchor.APPOINTMENT_START
                        and rule.calendar.name != ROUND_THE_CLOCK):  # type: ignore[union-attr]
                    schedule = schedule_for(rule.calendar)  # type: ignore[arg-type]
                found.append(_Rule(
                    pk=rule.pk, kind=rule.kind, target=rule.target_minutes * 60,
                    anchored=rule.anchor == Anchor.APPOINTMENT_START,
                    start_on=frozenset(rule.start_on), stop_on=frozenset(rule.stop_on),
                    pause_on=frozenset(rule.pause_on), resume_on=frozenset(rule.resume_on),
                    cancel_on=frozenset(rule.cancel_on),
                    ladder=tuple((step["percent"], step.get("event", "escalated"))
                                 for step in rule.ladder),
                    version=policy.version if policy else 1, schedule=schedule))
            self.rules[key] = found
        return found

    def _timers(self, kind: str, service: str, klass: str, area_type: str,
                history: list[tuple[str, float, float | None]]) -> list[list[Any]]:
        """Timer rows (TIMER_COLS without the order id), simulated over the order's
        events with the engine's rules: start, stop, pause, resume, cancel, and every
        ladder step fired at its true time; open timers are left as the sweep leaves
        them at the moment of the run."""
        rules = self._rules(kind, service, klass, area_type)
        if not rules:
            return []
        from sla import calendars

        def used(t: list[Any], rule: _Rule, at: float) -> float:
            if t[4] != "armed":
                return t[8]
            if rule.schedule is None:
                return t[8] + (at - t[9])
            return t[8] + calendars.business_time_between(
                rule.schedule, self._dt(t[9]), self._dt(at)).total_seconds()

        def moment(t: list[Any], rule: _Rule, seconds: float) -> float:
            remaining = max(seconds - t[8], 0)
            if rule.schedule is None or remaining == 0:
                return t[9] + remaining
            return calendars.add_business_time(
                rule.schedule, self._dt(t[9]), dt.timedelta(seconds=remaining)).timestamp()

        def fire(t: list[Any], rule: _Rule, now: float) -> None:
            while t[4] == "armed" and t[12] < len(rule.ladder):
                percent, event = rule.ladder[t[12]]
                reached = moment(t, rule, t[6] * percent / 100)
                if reached > now:
                    break
                if event == "warned" and t[13] is None:
                    t[13] = reached
                if event == "breached" and t[14] is None:
                    t[14] = reached
                t[12] += 1

        def plan(t: list[Any], rule: _Rule) -> None:
            t[10] = moment(t, rule, t[6])
            t[11] = (moment(t, rule, t[6] * rule.ladder[t[12]][0] / 100)
                     if t[12] < len(rule.ladder) else None)

        def close(t: list[Any], rule: _Rule, status: str, at: float) -> None:
            fire(t, rule, at)
            t[8] = used(t, rule, at)
            t[4], t[9], t[11], t[15] = status, None, None, at

        timers: list[list[Any]] = []
        open_: dict[str, tuple[list[Any], _Rule]] = {}
        cycles: dict[str, int] = {}
        for action, at, booked in history:
            for rule in rules:
                current = open_.get(rule.kind)
                if current is not None:
                    t = current[0]
                    if action in rule.cancel_on or action in rule.stop_on:
                        close(t, rule, "cancelled" if action in rule.cancel_on else "stopped",
                              at)
                        del open_[rule.kind]
                        continue
                    if action in rule.pause_on and t[4] == "armed":
                        fire(t, rule, at)
                        t[8] = used(t, rule, at)
                        t[4], t[9], t[11] = "paused", None, None
                        continue
                    if action in rule.resume_on and t[4] == "paused":
                        t[4], t[9] = "armed", at
                        plan(t, rule)
                        continue
                    if action not in rule.start_on:
                        continue
                    close(t, rule, "cancelled", at)
                    del open_[rule.kind]
                elif action not in rule.start_on:
                    continue
                target = rule.target
                if rule.anchored:
                    if booked is None:
                        continue
                    target = max(int(booked + target - at), 0)
                cycles[rule.kind] = cycles.get(rule.kind, 0) + 1
                # rule, kind, cycle, status, version, target, started, used, running since,
                # due, next check, level, warned, breached, stopped, failures
                t = [rule.pk, rule.kind, cycles[rule.kind], "armed", rule.version, target,
                     at, 0.0, at, None, None, 0, None, None, None, 0]
                t.insert(0, None)  # keeps the indexes above one-based like TIMER_COLS
                plan(t, rule)
                timers.append(t)
                open_[rule.kind] = (t, rule)
        for t, rule in open_.values():  # what the sweep has fired by now
            fire(t, rule, self.now)
            if t[4] == "armed":
                plan(t, rule)
        dt_ = self._dt
        return [[t[1], t[2], t[3], t[4], t[5], t[6], dt_(t[7]), round(t[8]),
                 dt_(t[9]) if t[9] is not None else None,
                 dt_(t[10]) if t[10] is not None else None,
                 dt_(t[11]) if t[11] is not None else None, t[12],
                 dt_(t[13]) if t[13] is not None else None,
                 dt_(t[14]) if t[14] is not None else None,
                 dt_(t[15]) if t[15] is not None else None, 0] for t in timers]

    def _fact(self, created: dt.datetime, history: list[tuple[str, float, float | None]],
              timers: list[list[Any]], arrivals: list[tuple[Any, Any]],
              row: tuple[Any, ...], area_id: int, technician: int | None) -> tuple[Any, ...]:
        """The order's dashboard facts (FACT_COLS without the order id), computed by the
        same function the event hook uses."""
        from dashboards import facts

        values = facts.compute(facts.History(
            created_at=created,
            events=[(action, self._dt(at)) for action, at, _b in history],
            timers=[(t[1], t[3], t[13]) for t in timers], arrivals=arrivals))
        values.update({
            "area_id": area_id, "technician_id": technician,
            "team_id": self.ref.team_of.get(technician) if technician else None,
            "kind": row[0], "customer_class": row[4], "account_id": row[6],
            "state": row[15], "closed_at": row[27], "missed_by_us": row[23],
            "next_visit_at": None, "updated_at": row[30],
            # repeat visits across orders are linked after the load (link_repeat_visits)
            "first_fix": values["completed_at"] is not None and values["visits"] <= 1
            and values["rework_rounds"] == 0,
        })
        return tuple(values[name] for name in FACT_COLS[1:])


@dataclass
class _ScaleReference:
    areas: list[Area]
    area_cum: list[int]
    by_area: dict[int, list[int]]
    candidates: dict[tuple[int, str, str, str], list[int]]
    tech_users: dict[int, tuple[int, str]]
    team_of: dict[int, int | None]
    agent: int
    agent_actor: tuple[int, str]
    dispatcher: tuple[int, str]


def _ensure_scale_reference(technicians: int, ref: Reference) -> int:
    """Benchmarks need as many technicians as a real operator would have for that
    volume, or every technician holds hundreds of open orders and auto-dispatch finds
    nobody below capacity. Adds technicians ``t00001``... (one team per area) and
    grid areas (~25 technicians each) until there are ``technicians`` in all. They
    share the demo password; it is hashed once."""
    user_model = get_user_model()
    existing = Technician.objects.count()
    missing = technicians - existing
    if missing <= 0:
        return 0
    rng = random.Random(technicians)
    skills = {s.code: s for s in Skill.objects.all()}
    districts = list(DISTRICTS)
    want_areas = max(0, technicians // 25 - len(ref.areas))
    areas = list(Area.objects.all())
    made = [a for a in areas if re.fullmatch(r"BJ-[A-Z]+-G\d+", a.code)]
    for k in range(len(made), want_areas):
        district = districts[k % len(districts)]
        name, rural, _templates = DISTRICTS[district]
        area, _ = Area.objects.get_or_create(
            code=f"BJ-{district}-G{k // len(districts) + 1:02d}",
            defaults={"name": f"{name}第{k // len(districts) + 1}网格",
                      "area_type": AreaType.RURAL if rural else AreaType.URBAN})
        areas.append(area)
    areas = list(Area.objects.order_by("pk"))
    teams = {}
    for area in areas:
        teams[area.pk], _ = Team.objects.get_or_create(
            name=f"{area.name}装维班", defaults={"area": area, "supervisor": ref.supervisor})
    encoded = make_password(DEMO_PASSWORD)
    taken = set(user_model.objects.filter(username__startswith="t0")
                .values_list("username", flat=True))
    users: list[Any] = []
    n = 0
    while len(users) < missing:
        n += 1
        username = f"t{n:05d}"
        if username not in taken:
            users.append(user_model(username=username, first_name=_person_name(rng),
                                    password=encoded))
    user_model.objects.bulk_create(users, batch_size=1000)
    users = list(user_model.objects.filter(username__in=[u.username for u in users]))
    group = Group.objects.get(name=roles.TECHNICIAN)
    user_model.groups.through.objects.bulk_create(
        [user_model.groups.through(user_id=u.pk, group_id=group.pk) for u in users])
    per_area = {a.pk: Technician.objects.filter(areas=a).count() for a in areas}
    techs = []
    for i, user in enumerate(users):
        area = areas[i % len(areas)]
        techs.append(Technician(user=user, employee_no=f"ZS{user.username[1:]}",
                                phone=_mobile(rng), team=teams[area.pk], daily_capacity=8))
    Technician.objects.bulk_create(techs, batch_size=1000)
    techs = list(Technician.objects.filter(user__in=users).order_by("pk"))
    through_areas = Technician.areas.through
    through_skills = Technician.skills.through
    through_access = Technician.access_types.through
    area_rows, skill_rows, access_rows = [], [], []
    for i, tech in enumerate(techs):
        area = areas[i % len(areas)]
        area_rows.append(through_areas(technician_id=tech.pk, area_id=area.pk))
        for code in (*_ALL_KINDS, *_ALL_SERVICES):
            skill_rows.append(through_skills(technician_id=tech.pk, skill_id=skills[code].pk))
        if per_area[area.pk] == 0 or rng.random() < 0.25:
            access = _ALL_ACCESS  # the area's first technician can do every line
        elif area.area_type == AreaType.RURAL:
            access = ("ftth", "xdsl")
        else:
            access = ("ftth", "fttb", "lan")
        per_area[area.pk] += 1
        for code in access:
            access_rows.append(through_access(technician_id=tech.pk, skill_id=skills[code].pk))
    through_areas.objects.bulk_create(area_rows, batch_size=5000)
    through_skills.objects.bulk_create(skill_rows, batch_size=5000)
    through_access.objects.bulk_create(access_rows, batch_size=5000)
    return len(techs)


def _scale_reference(ref: Reference) -> _ScaleReference:
    areas = list(Area.objects.order_by("pk"))
    techs = list(Technician.objects.filter(is_active=True).select_related("user")
                 .prefetch_related("areas", "skills", "access_types"))
    by_area: dict[int, list[int]] = {a.pk: [] for a in areas}
    candidates: dict[tuple[int, str, str, str], list[int]] = {}
    tech_users = {}
    team_of: dict[int, int | None] = {}
    for tech in techs:
        tech_users[tech.pk] = (tech.user_id, tech.display_name)
        team_of[tech.pk] = tech.team_id
        codes = {s.code for s in tech.skills.all()}
        access = {s.code for s in tech.access_types.all()}
        for area in tech.areas.all():
            by_area[area.pk].append(tech.pk)
            for kind in _ALL_KINDS:
                for service in _ALL_SERVICES:
                    if kind in codes and service in codes:
                        for a in access:
                            candidates.setdefault((area.pk, kind, service, a), []).append(tech.pk)
    areas = [a for a in areas if by_area[a.pk]]  # orders only where someone works
    if not areas:
        raise RuntimeError("No technician serves any area; cannot place orders.")
    weights = [len(by_area[a.pk]) for a in areas]
    cum = list(itertools.accumulate(weights))
    label = ref.agent.get_full_name() or ref.agent.get_username()
    dlabel = ref.dispatcher.get_full_name() or ref.dispatcher.get_username()
    return _ScaleReference(areas=areas, area_cum=cum, by_area=by_area, candidates=candidates,
                           tech_users=tech_users, agent=ref.agent.pk,
                           agent_actor=(ref.agent.pk, label),
                           dispatcher=(ref.dispatcher.pk, dlabel), team_of=team_of)


def _created_times(rng: random.Random, n: int, start: float, end: float,
                   offset: float) -> list[float]:
    """n creation times in [start, end), busier by day than at night, sorted."""
    hour_weight = (0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0, 1.0, 1.0,
                   0.8, 0.8, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2)
    out: list[float] = []
    span = end - start
    r = rng.random
    while len(out) < n:
        t = start + r() * span
        if r() < hour_weight[int(((t + offset) % DAY) // HOUR)]:
            out.append(t)
    out.sort()
    return out


class _BatchWriter:
    """Writes each batch of rows in its own transaction.

    On PostgreSQL, when the caller holds no transaction, a background thread with its
    own connection writes batch k while the main thread computes batch k+1: the server
    ingests (and updates indexes) on one core while Python generates on the other.
    Inside a caller's transaction (tests) everything stays on the caller's connection.
    """

    TABLES = ("customer", "account", "order", "appointment", "assignment", "contact",
              "event", "timer", "fact")

    def __init__(self, writers: dict[str, _Rows], *, postgres: bool, threaded: bool) -> None:
        self.writers = writers
        self.postgres = postgres
        self.threaded = threaded
        self.written = 0  # orders committed
        self.error: BaseException | None = None
        if threaded:
            self.queue: queue.Queue[dict[str, list[tuple[Any, ...]]] | None] = \
                queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="demo-data-writer",
                                           daemon=True)
            self.thread.start()

    def _write(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        with transaction.atomic():
            if self.postgres:  # demo data: losing the last batch in a crash is fine
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for name in self.TABLES:
                self.writers[name].write(rows[name])
        self.written += len(rows["order"])

    def _run(self) -> None:
        try:
            while (rows := self.queue.get()) is not None:
                if self.error is None:  # after a failure, drain so put() never blocks
                    try:
                        self._write(rows)
                    except BaseException as exc:
                        self.error = exc
        finally:
            connection.close()

    def put(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        if not self.threaded:
            self._write(rows)
            return
        self.raise_error()
        self.queue.put(rows)

    def close(self) -> None:
        if self.threaded:
            self.queue.put(None)
            self.thread.join()

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def build_scale(*, orders: int, days: int = 90, seed: int = DEFAULT_SEED,
                events: str = "ends", technicians: int | None = None,
                batch_size: int = 10_000, method: str = "auto",
                progress: Callable[[int, int, float], None] | None = None) -> ScaleResult:
    """The scale mode: ``orders`` orders written in bulk, bypassing the services (see
    the module docstring). ``method``: "copy" (PostgreSQL only), "bulk" or "auto"."""
    if orders < 1 or days < 1:
        raise ValueError("orders and days must be at least 1")
    if events not in ("ends", "full"):
        raise ValueError("events is 'ends' or 'full'")
    started = time.monotonic()
    postgres = connection.vendor == "postgresql"
    use_copy = postgres if method == "auto" else method == "copy"
    if use_copy and not postgres:
        raise ValueError("COPY needs PostgreSQL")
    rng = random.Random(seed)
    with transaction.atomic():
        ref = ensure_reference()
        wanted = technicians if technicians is not None else round(orders / days / 6)
        added = _ensure_scale_reference(wanted, ref)
    sref = _scale_reference(ref)
    gen = _ScaleGenerator(rng, sref, now=timezone.now().timestamp(), days=days,
                          full_events=events == "full", use_copy=use_copy)
    writers = {
        "customer": _Rows(Customer, CUSTOMER_COLS, use_copy=use_copy, batch_size=2000),
        "account": _Rows(ServiceAccount, ACCOUNT_COLS, use_copy=use_copy, batch_size=2000),
        "order": _Rows(WorkOrder, ORDER_COLS, use_copy=use_copy, batch_size=1000),
        "appointment": _Rows(Appointment, APPOINTMENT_COLS, use_copy=use_copy,
                             batch_size=2000),
        "assignment": _Rows(Assignment, ASSIGNMENT_COLS, use_copy=use_copy, batch_size=2000),
        "contact": _Rows(ContactAttempt, CONTACT_COLS, use_copy=use_copy, batch_size=2000),
        "event": _Rows(WorkOrderEvent, EVENT_COLS, use_copy=use_copy, batch_size=2000),
        "timer": _Rows(Timer, TIMER_COLS, use_copy=use_copy, batch_size=2000),
        "fact": _Rows(OrderFact, FACT_COLS, use_copy=use_copy, batch_size=2000),
    }
    ids = {"customer": _Ids(Customer, postgres=postgres),
           "account": _Ids(ServiceAccount, postgres=postgres),
           "order": _Ids(WorkOrder, postgres=postgres)}
    # A small run still shows every state: the newest orders are placed in each state.
    per_state = min(2, orders // (len(State) * 5))
    forced = [s for s in State.values for _ in range(per_state)]
    natural = orders - len(forced)
    batches = max(1, math.ceil(natural / batch_size))
    done = 0
    writer = _BatchWriter(writers, postgres=postgres,
                          threaded=postgres and not connection.in_atomic_block)
    try:
        for b in range(batches):
            n = natural * (b + 1) // batches - natural * b // batches
            span = (gen.now - gen.start) / batches
            lo = gen.start + b * span
            times = _created_times(rng, n, lo, lo + span, gen.offset)
            rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in writers}
            drafts = [gen.order(rows, t, ids) for t in times]
            if b == batches - 1:
                drafts += [gen.order(rows, gen.now - 3 * DAY, ids, force=s) for s in forced]
                drafts.sort(key=lambda d: d[0])
            for _t, row, children in drafts:
                oid = ids["order"].take()
                rows["order"].append((oid, *row))
                appts, assigns, contacts, evts, timers, fact = children
                rows["appointment"].extend((oid, *a) for a in appts)
                rows["assignment"].extend((oid, *a) for a in assigns)
                rows["contact"].extend((oid, *c) for c in contacts)
                rows["event"].extend((oid, *e) for e in evts)
                rows["timer"].extend((oid, *t) for t in timers)
                rows["fact"].append((oid, *fact))
            done += len(drafts)
            writer.put(rows)
            if progress is not None:
                progress(writer.written, orders, time.monotonic() - started)
    finally:
        writer.close()
    writer.raise_error()
    if progress is not None and writer.threaded:
        progress(writer.written, orders, time.monotonic() - started)
    link_repeat_visits()  # first-time fix across orders of the same account; the rollup
    if postgres:
        with connection.cursor() as cursor:
            for model in (Customer, ServiceAccount, WorkOrder, Appointment, Assignment,
                          ContactAttempt, WorkOrderEvent, Timer, OrderFact):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return ScaleResult(orders=done, customers=gen.new_customers, technicians=added,
                       seconds=time.monotonic() - started,
                       method="COPY" if use_copy else "bulk_create", states=gen.states)

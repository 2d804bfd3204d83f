"""The demo office's reference data: areas, teams, technicians, office logins and the
Chinese names, numbers and addresses the demo customers are made of."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from fieldops import roles
from technicians.models import Area, AreaType, Skill, Team, Technician
from workorders.models import (
    AccessType,
    Kind,
    Service,
    State,
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
              "watches the queue, dispatches and reassigns orders in the admin (R4), reads "
              "the SLA dashboards of every demo area 调度"),
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
    for area in areas.values():  # the demo dispatcher runs every area (their dashboards)
        area.dispatchers.add(staff["dispatcher"])
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

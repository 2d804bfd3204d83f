#!/usr/bin/env python3
"""Phones coming back online (issue 16): every technician's queue of steps done offline,
replayed through ``POST /api/v1/field/steps/`` against the app served as in production.

    .venv/bin/python bench/offline_sync.py [--technicians 200] [--concurrency 24]
                                           [--workers 4] [--resend 0.1] [--seed 16]
                                           [--reuse] [--keep] [--recreate]

As in production: gunicorn (``--workers`` sync workers, production settings), a Celery
worker and beat beside it, PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``, see
``bench/where.py``; unset, a scratch database of its own, dropped at the end unless
``--keep``). The app's machinery is ``where.start_app``, shared with ``api_ratio.py``.

Prepared through the real services (``demo.reference``, ``demo.scale``'s technicians,
``workorders.services.work_order_create`` and ``demo.scenarios.walk_to``): ``--technicians``
technicians ``t00001``..., each with two orders of the day taken to *prepared* (dispatched,
accepted, contacted, booked, kit confirmed) three and two hours ago. Each technician's
phone queued 12 steps offline, 6 per order: on my way, check-in with the door photo and the
address's position, the customer's consent, an installation photo, a speed-test photo,
the report; 6 photos per queue, real JPEGs of about 100 KB each, all different.

Each technician logs in on the technician pages (their own session, the CSRF cookie), then
the phones come back online: ``--concurrency`` technicians at once (the others wait their
turn, as phones do through a morning), each queue sent in order, one request per step, the
first step of an order with the version the page showed and the next ones chained with
``after``; the phone's times are earlier than now, by a clock ``±10 min`` off the server's
(one offset per technician). A share of steps (``--resend``) is sent a second time after
its answer, as when the answer was lost: it must answer ``duplicate`` and change nothing.

Measured: each technician's time to sync the whole queue (first request to last answer,
resends included). Checked on the database afterwards: every applied step has one event
(``PhoneStep.event``), no (order, action) has more events than applied steps for it, and no
order has more photos than its applied photo steps; anything more is counted in
``duplicates`` (must be 0). Refusals are counted (``rejected``) with their messages.

Last line: ``offline_sync technicians=.. steps=.. sync_p95_s=.. steps_per_s=.. rejected=..
duplicates=..`` (``steps`` = queued steps, resends not counted; ``steps_per_s`` = steps
applied or refused per second of wall time over the whole sync).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import api_load  # noqa: E402
import where  # noqa: E402

ROOT = where.ROOT
STEPS_PER_ORDER = 6
ORDERS_PER_TECHNICIAN = 2
PHOTO_BYTES = 100_000
URL = "/api/v1/field/steps/"


def say(message: str) -> None:
    where.say(f"offline_sync: {message}")


#: Run by ``manage.py shell`` on the bench database: the technicians and their orders,
#: through the real services, then one JSON line per technician.
PREPARE = """
import datetime as dt, json
from fieldops import clock
from demo import scenarios
from demo.reference import DEMO_PASSWORD, ensure_reference
from demo.scale import _ensure_scale_reference
from planning.models import OrderLocation
from technicians.models import Technician
from workorders import services
from workorders.models import AccessType, Channel, Kind, Service, State

n = %(technicians)d
ref = ensure_reference()
ours = Technician.objects.filter(user__username__startswith="t0")
_ensure_scale_reference(Technician.objects.count() - ours.count() + n, ref)
techs = list(ours.select_related("user").prefetch_related("areas").order_by("user__username")[:n])
now = clock.now()
out = []
for i, tech in enumerate(techs):
    orders = []
    for k, hours in enumerate((3, 2)):
        with clock.happened(now - dt.timedelta(hours=hours)):
            order = services.work_order_create(
                by=ref.agent, channel=Channel.HOTLINE, kind=Kind.INSTALL,
                service=Service.BROADBAND, access_type=AccessType.FTTH,
                customer_name=f"离线客户{i}-{k}", contact_phone=f"139{i:04d}{k:04d}",
                address=f"北京市东城区离线路 {i + 1} 号 {k + 1} 单元", area=tech.areas.all()[0],
                preferred_day=clock.today_local())
            order = scenarios.walk_to(order, State.PREPARED, technician=tech,
                                      dispatcher=ref.dispatcher, agent=ref.agent)
        here = OrderLocation.objects.filter(order_id=order.pk).first()
        orders.append({"id": order.pk, "version": order.version,
                       "latitude": here.latitude if here else 39.9087,
                       "longitude": here.longitude if here else 116.3975})
    out.append({"username": tech.user.username, "orders": orders})
print("PREPARED " + json.dumps({"password": DEMO_PASSWORD, "technicians": out}))
"""

#: The database afterwards: refusals, and any effect beyond one per applied step.
CHECK = """
import json
from collections import Counter
from workorders.models import PhoneStep, Photo, WorkOrderEvent
ids = %(orders)s
steps = PhoneStep.objects.filter(order_id__in=ids)
applied = steps.filter(status="applied").select_related("event")
no_event = [str(s.client_id) for s in applied if s.event_id is None]
expected = Counter((s.order_id, s.event.action) for s in applied if s.event_id is not None)
actions = {a for _, a in expected}
actual = Counter(WorkOrderEvent.objects.filter(order_id__in=ids, action__in=actions)
                 .values_list("order_id", "action"))
extra_events = sum(max(0, actual[key] - expected[key]) for key in actual)
photo_steps = Counter(s.order_id for s in applied if s.step in ("check-in", "photo"))
photos = Counter(Photo.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
extra_photos = sum(max(0, photos[o] - photo_steps[o]) for o in photos)
refused = Counter(s.message for s in steps.filter(status="refused"))
print("CHECKED " + json.dumps({
    "phone_steps": steps.count(), "applied": applied.count(), "no_event": len(no_event),
    "extra_events": extra_events, "extra_photos": extra_photos,
    "events": sum(actual.values()), "photos": sum(photos.values()),
    "refused": refused.most_common(5)}, ensure_ascii=False))
"""


# --- The phones' photos: real JPEGs of about 100 KB, each different ------------------------

def _photo_quality(base: Any) -> int:
    """The JPEG quality that puts ``base`` nearest ``PHOTO_BYTES``."""
    low, high = 5, 95
    while low < high:
        middle = (low + high + 1) // 2
        out = io.BytesIO()
        base.save(out, "JPEG", quality=middle)
        if out.tell() <= PHOTO_BYTES:
            low = middle
        else:
            high = middle - 1
    return low


class Photos:
    """A camera-like picture (gradients and noise), and a different copy of it per call
    (a coloured mark and a number drawn on it), encoded at about 100 KB."""

    def __init__(self, seed: int) -> None:
        from PIL import Image, ImageDraw

        rng = random.Random(seed)
        self.base = Image.effect_noise((800, 600), 40).convert("RGB")
        draw = ImageDraw.Draw(self.base)
        for _ in range(60):
            x, y = rng.randint(0, 780), rng.randint(0, 580)
            draw.rectangle([x, y, x + rng.randint(20, 200), y + rng.randint(20, 150)],
                           outline=(rng.randint(0, 255), rng.randint(0, 255),
                                    rng.randint(0, 255)), width=3)
        self.quality = _photo_quality(self.base)
        self.rng = rng

    def take(self) -> bytes:
        from PIL import ImageDraw

        img = self.base.copy()
        draw = ImageDraw.Draw(img)
        colour = tuple(self.rng.randint(0, 255) for _ in range(3))
        x, y = self.rng.randint(0, 700), self.rng.randint(0, 500)
        draw.rectangle([x, y, x + 90, y + 90], fill=colour)
        draw.text((x + 5, y + 5), uuid.uuid4().hex[:12], fill=(255, 255, 255))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=self.quality)
        return out.getvalue()


# --- One phone's queue ------------------------------------------------------------------

@dataclass
class Queued:
    order: int
    step: str
    done: dt.datetime          # the true time the technician did it (server clock)
    fields: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    version: int | None = None
    after: uuid.UUID | None = None
    resend: bool = False


def queue_of(technician: dict[str, Any], photos: Photos, rng: random.Random,
             now: dt.datetime, resend: float) -> list[Queued]:
    """The 12 steps a technician did offline over the last ~80 minutes, in order."""
    steps: list[Queued] = []
    minutes = [80, 72, 66, 60, 56, 50, 40, 32, 26, 20, 15, 8]  # before now, step by step
    for k, order in enumerate(technician["orders"]):
        where_ = {"latitude": f"{order['latitude']:.6f}",
                  "longitude": f"{order['longitude']:.6f}"}
        plan: list[tuple[str, dict[str, str], dict[str, bytes]]] = [
            ("depart", dict(where_), {}),
            ("check-in", {**where_, "accuracy": "12"}, {"photo": photos.take()}),
            ("consent", {"risk": "drilling", "description": "墙面打孔走线 drill for the cable",
                         "customer_name": "张先生", "agreed": "yes"}, {}),
            ("photo", {"kind": "installation", "caption": "光猫安装 ONU installed"},
             {"image": photos.take()}),
            ("photo", {"kind": "speed_test", "caption": "测速 speed test"},
             {"image": photos.take()}),
            ("report", {"work_done": "安装光猫并测速 ONU installed, speed tested",
                        "download_mbps": "480", "upload_mbps": "45", "onu_activated": "on",
                        "materials": "光缆 20 m"}, {}),
        ]
        previous: Queued | None = None
        for j, (name, fields, files) in enumerate(plan):
            done = now - dt.timedelta(minutes=minutes[k * STEPS_PER_ORDER + j],
                                      seconds=rng.randint(0, 50))
            step = Queued(order=order["id"], step=name, done=done, fields=fields, files=files,
                          resend=rng.random() < resend)
            if previous is None:
                step.version = order["version"]
            else:
                step.after = previous.client_id
            steps.append(step)
            previous = step
    return steps


@dataclass
class Outcome:
    seconds: float = 0.0
    answers: Counter[str] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)
    resent: int = 0
    resent_applied_again: int = 0   # a resend that did not answer "duplicate"
    errors: list[str] = field(default_factory=list)
    per_step: dict[str, list[float]] = field(default_factory=dict)  # seconds per request


class Phone:
    """A technician's phone talking to the app as it does in production: through the TLS
    proxy (``X-Forwarded-Proto: https``, so the app sets its cookies ``Secure``; they are
    kept here and sent back as the browser would over TLS)."""

    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.http = requests.Session()
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-Forwarded-Proto": "https", "Referer": f"https://{self.host}/tech/",
                   **kwargs.pop("headers", {})}
        if method == "POST":
            headers.setdefault("X-CSRFToken", self.cookies.get("csrftoken", ""))
        answer = self.http.request(method, f"{self.base}{path}", headers=headers,
                                   cookies=self.cookies, timeout=120, allow_redirects=False,
                                   **kwargs)
        self.http.cookies.clear()
        self.cookies.update({c.name: c.value for c in answer.cookies if c.value})
        return answer

    @property
    def host(self) -> str:
        return self.base.split("://", 1)[1]


def login(base: str, username: str, password: str) -> Phone:
    """A technician's own session on the technician pages (the CSRF cookie first)."""
    phone = Phone(base)
    phone.send("GET", "/tech/login/").raise_for_status()
    answer = phone.send("POST", "/tech/login/",
                        data={"username": username, "password": password,
                              "csrfmiddlewaretoken": phone.cookies["csrftoken"]})
    if answer.status_code != 302 or "sessionid" not in phone.cookies:
        raise RuntimeError(f"{username} could not log in: HTTP {answer.status_code}")
    return phone


def sync(phone: Phone, queue: list[Queued], offset: dt.timedelta) -> Outcome:
    """Send ``queue`` in order, one request per step, as the phone does when it is back
    online; its clock is ``offset`` off the server's."""
    outcome = Outcome()

    def post(step: Queued) -> dict[str, Any]:
        data = {"client_id": str(step.client_id), "order": str(step.order), "step": step.step,
                "phone_at": (step.done + offset).isoformat(),
                "phone_sent_at": (dt.datetime.now(dt.UTC) + offset).isoformat(),
                **step.fields}
        if step.after is not None:
            data["after"] = str(step.after)
        else:
            data["version"] = str(step.version)
        files = {name: (f"{name}.jpg", content, "image/jpeg")
                 for name, content in step.files.items()}
        answer = phone.send("POST", URL, data=data, files=files or None,
                            headers={"Accept-Language": "en"})
        try:
            body: dict[str, Any] = answer.json()
        except ValueError:
            body = {"status": f"HTTP {answer.status_code}", "message": answer.text[:200]}
        return body

    started = time.perf_counter()
    for step in queue:
        sent = time.perf_counter()
        body = post(step)
        outcome.per_step.setdefault(step.step, []).append(time.perf_counter() - sent)
        status = str(body.get("status"))
        outcome.answers[status] += 1
        if status == "refused":
            outcome.refusals.append(f"{step.step}: {body.get('code')}: {body.get('message')}")
        elif status != "applied":
            outcome.errors.append(f"{step.step}: {status}: {body.get('message', body)}")
        if step.resend:  # the answer was lost: the phone sends the step again
            outcome.resent += 1
            again = post(step)
            if status == "applied" and again.get("status") != "duplicate":
                outcome.resent_applied_again += 1
    outcome.seconds = time.perf_counter() - started
    return outcome


def _wait_until_up(base: str, timeout: float = 90) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/tech/login/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.95 + 0.5) - 1, 0)]


def _shell(env: dict[str, str], code: str, prefix: str) -> Any:
    out = api_load._manage(env, "shell", "-c", code, capture=True)
    line = next(x for x in reversed(out.splitlines()) if x.startswith(prefix + " "))
    return json.loads(line[len(prefix) + 1:])


def orchestrate(args: argparse.Namespace) -> None:
    target = where.target(f"fieldops_bench_offline_{os.getpid()}")
    where.announce("offline_sync", target)
    env = where.app_env(target)
    # The photos it stores and the collected assets (production serves hashed names).
    scratch = Path(tempfile.gettempdir()) / f"offline_sync_{os.getpid()}"
    env["MEDIA_ROOT"], env["STATIC_ROOT"] = str(scratch / "media"), str(scratch / "static")
    if args.reuse and where.exists(target):
        made = False  # the technicians are kept; each run gives them new orders
    else:
        made = where.prepare(target, recreate=args.recreate)
    app: list[Any] = []
    rng = random.Random(args.seed)
    outcomes: list[Outcome] = []
    try:
        api_load._manage(env, "migrate", "--noinput", "-v", "0")
        api_load._manage(env, "collectstatic", "--noinput", "-v", "0")
        started = time.monotonic()
        say(f"preparing {args.technicians} technicians and their orders through the services")
        prepared = _shell(env, PREPARE % {"technicians": args.technicians}, "PREPARED")
        technicians = prepared["technicians"]
        say(f"prepared in {time.monotonic() - started:.0f} s")
        port = api_load._free_port()
        base = f"http://127.0.0.1:{port}"
        app = where.start_app(env, port, args.workers, "offline_sync")
        _wait_until_up(base)
        say(f"gunicorn up on {base} ({args.workers} sync workers); logging everyone in")
        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            sessions = list(pool.map(lambda t: login(base, t["username"],
                                                     prepared["password"]), technicians))
        photos = Photos(args.seed)
        now = dt.datetime.now(dt.UTC)
        queues = [queue_of(t, photos, rng, now, args.resend) for t in technicians]
        offsets = [dt.timedelta(seconds=rng.randint(-600, 600)) for _ in technicians]
        sizes = [len(c) for q in queues for s in q for c in s.files.values()]
        say(f"{sum(len(q) for q in queues)} steps queued, {len(sizes)} photos of "
            f"{min(sizes) // 1000}-{max(sizes) // 1000} KB; phones back online, "
            f"{args.concurrency} at once")
        sync_started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            outcomes = list(pool.map(lambda i: sync(sessions[i], queues[i], offsets[i]),
                                     range(len(technicians))))
        wall = time.perf_counter() - sync_started
        orders = [o["id"] for t in technicians for o in t["orders"]]
        checked = _shell(env, CHECK % {"orders": json.dumps(orders)}, "CHECKED")
    finally:
        where.stop_app(app)
        if made and not args.keep:
            where.drop(target)
            say(f"dropped {target.database}")
        shutil.rmtree(scratch, ignore_errors=True)

    answers: Counter[str] = Counter()
    for outcome in outcomes:
        answers.update(outcome.answers)
    refusals = Counter(r for o in outcomes for r in o.refusals)
    errors = [e for o in outcomes for e in o.errors]
    seconds = [o.seconds for o in outcomes]
    steps = sum(len(q) for q in queues)
    resent = sum(o.resent for o in outcomes)
    again = sum(o.resent_applied_again for o in outcomes)
    duplicates = (again + checked["extra_events"] + checked["extra_photos"]
                  + checked["no_event"])
    rejected = answers["refused"] + len(errors)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the "
          f"end; {args.workers} sync gunicorn workers; {args.concurrency} phones at once")
    print(f"answers: {dict(answers)}; resent {resent} (answered other than duplicate: "
          f"{again})")
    print(f"per technician's queue: median {sorted(seconds)[len(seconds) // 2]:.2f} s, "
          f"p95 {_p95(seconds):.2f} s, max {max(seconds):.2f} s; wall {wall:.1f} s")
    print(f"database: {checked['phone_steps']} phone steps, {checked['applied']} applied, "
          f"{checked['events']} events, {checked['photos']} photos; applied without an "
          f"event {checked['no_event']}, extra events {checked['extra_events']}, extra "
          f"photos {checked['extra_photos']}")
    per_step: dict[str, list[float]] = {}
    for outcome in outcomes:
        for name, values in outcome.per_step.items():
            per_step.setdefault(name, []).extend(values)
    print("per request, median / p95 ms: " + ", ".join(
        f"{name} {sorted(v)[len(v) // 2] * 1000:.0f}/{_p95(v) * 1000:.0f}"
        for name, v in per_step.items()))
    for message, n in refusals.most_common(5):
        print(f"refused x{n}: {message}")
    for message in errors[:5]:
        print(f"error: {message}")
    print(f"offline_sync technicians={len(technicians)} steps={steps} "
          f"sync_p95_s={_p95(seconds):.2f} steps_per_s={steps / wall:.1f} "
          f"rejected={rejected} duplicates={duplicates}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--technicians", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=24,
                        help="technicians syncing at once (each one's steps in order)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--resend", type=float, default=0.1,
                        help="share of steps sent twice (a lost answer)")
    parser.add_argument("--seed", type=int, default=16)
    where.add_scale_options(parser)
    args = parser.parse_args()
    if not (1 <= args.technicians <= 5000 and 1 <= args.concurrency <= 256
            and 0 <= args.resend <= 1):
        parser.error("technicians in [1, 5000], concurrency in [1, 256], resend in [0, 1]")
    orchestrate(args)


if __name__ == "__main__":
    main()

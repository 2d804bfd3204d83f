"""Local HTTP servers that play Alibaba Cloud's and Tencent Cloud's SMS APIs, for the
official SDKs to talk to: each records the requests it got and answers what the real
gateway answers (the shapes of dysmsapi 2017-05-25 and sms 2021-01-11), or the refusal a
test asked for."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeGateway:
    """Serves on 127.0.0.1 from a thread; ``refusals`` answer the next sends, in order."""

    requests: list[Request] = field(default_factory=list)
    refusals: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    serials: Any = field(default_factory=lambda: itertools.count(1001))
    #: As the real gateway labels its answers (Tencent's SDK reads errors only from
    #: exactly "application/json").
    content_type = "application/json;charset=utf-8"

    def __enter__(self) -> Self:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, dict(parse_qsl(parts.query)),
                                  {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length))
                gateway.requests.append(request)
                status, answer = gateway.answer(request)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", gateway.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def sent(self) -> list[Request]:
        return [r for r in self.requests if self.action(r) == "SendSms"]

    def action(self, request: Request) -> str:
        raise NotImplementedError


class FakeAliyun(FakeGateway):
    """Dysmsapi 2017-05-25 as the SDK calls it (ACS3 signature, RPC style): the action in
    the ``x-acs-action`` header, the parameters in the query string, JSON answers whose
    ``Code`` is "OK" or the refusal (HTTP 200 for business refusals, 4xx for ours)."""

    def __init__(self) -> None:
        super().__init__()
        #: BizId -> (phone, OutId, SendStatus 1 waiting / 2 failed / 3 delivered, ErrCode)
        self.messages: dict[str, list[Any]] = {}

    def action(self, request: Request) -> str:
        return request.headers.get("x-acs-action", "")

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        rid = {"RequestId": f"req-{len(self.requests)}"}
        if self.action(request) == "SendSms":
            if self.refusals:
                status, body = self.refusals.pop(0)
                return status, {**rid, **body}
            biz_id = f"{next(self.serials)}^0"
            self.messages[biz_id] = [request.query["PhoneNumbers"],
                                     request.query.get("OutId", ""), 1, ""]
            return 200, {**rid, "Code": "OK", "Message": "OK", "BizId": biz_id}
        if self.action(request) == "QuerySendDetails":
            phone, out_id, status, err = self.messages.get(request.query["BizId"],
                                                           ["", "", 0, ""])
            details = [] if not status else [{
                "PhoneNum": phone, "SendStatus": status, "ErrCode": err or "DELIVERED",
                "TemplateCode": "SMS_1", "Content": "…", "OutId": out_id,
                "SendDate": "2026-11-23 17:00:00", "ReceiveDate": "2026-11-23 17:00:05"}]
            return 200, {**rid, "Code": "OK", "Message": "OK", "TotalCount": len(details),
                         "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}}
        return 404, {**rid, "Code": "InvalidAction.NotFound", "Message": "no such action"}


class FakeTencent(FakeGateway):
    """sms 2021-01-11 as the SDK calls it (TC3 signature): the action in the
    ``X-TC-Action`` header, a JSON body, JSON answers under ``Response`` with an ``Error``
    for refused requests and a ``Code`` per number ("Ok" or the refusal)."""

    content_type = "application/json"

    def __init__(self) -> None:
        super().__init__()
        #: Receipts the gateway holds until they are pulled (each is handed out once).
        self.receipts: list[dict[str, Any]] = []

    def action(self, request: Request) -> str:
        return request.headers.get("x-tc-action", "")

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        rid = {"RequestId": f"req-{len(self.requests)}"}
        if self.action(request) == "SendSms":
            body = request.json
            phone = body["PhoneNumberSet"][0]
            if self.refusals:
                status, refusal = self.refusals.pop(0)
                if "Error" in refusal:
                    return status, {"Response": {**rid, **refusal}}
                return status, {"Response": {**rid, "SendStatusSet": [{
                    "SerialNo": "", "PhoneNumber": phone, "Fee": 0,
                    "SessionContext": body.get("SessionContext", ""), "IsoCode": "CN",
                    **refusal}]}}
            serial = f"3369:{next(self.serials)}"
            return 200, {"Response": {**rid, "SendStatusSet": [{
                "SerialNo": serial, "PhoneNumber": phone, "Fee": 1,
                "SessionContext": body.get("SessionContext", ""), "Code": "Ok",
                "Message": "send success", "IsoCode": "CN"}]}}
        if self.action(request) == "PullSmsSendStatus":
            limit = request.json["Limit"]
            handed, self.receipts = self.receipts[:limit], self.receipts[limit:]
            return 200, {"Response": {**rid, "PullSmsSendStatusSet": handed}}
        return 200, {"Response": {**rid, "Error": {"Code": "InvalidAction",
                                                   "Message": "no such action"}}}

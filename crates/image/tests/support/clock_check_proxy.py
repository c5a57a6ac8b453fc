"""AWS's request time check, in front of moto (which has none), for the clock skew tests.

AWS refuses a SigV4 request whose time (X-Amz-Date) is more than five minutes from its own clock
(IAM User Guide, "Elements of an AWS API request signature": the signature expires five minutes after
the time stamp; "Troubleshoot signature errors"). The EBS direct APIs (restJson1) answer such a
request with HTTP 403 and the error type InvalidSignatureException, and every answer carries the
server's clock in its Date header (RFC 9110 section 6.6.1).

This proxy keeps a clock --offset seconds from this machine's, refuses requests that clock would
refuse, and forwards the others to moto unchanged, giving every answer its own Date. It listens on
127.0.0.1 only. GET /custody-test/refused answers how many requests it refused.

    python clock_check_proxy.py --port P --upstream 127.0.0.1:Q --offset SECONDS
"""
import argparse
import calendar
import email.utils
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True)
parser.add_argument("--offset", type=int, required=True)
args = parser.parse_args()
host, _, port = args.upstream.rpartition(":")
assert host == "127.0.0.1", "the proxy forwards to 127.0.0.1 only"

refused = 0
lock = threading.Lock()
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


def amz_time(value):
    try:
        return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))
    except (TypeError, ValueError):
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, headers, body, now):
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Date", email.utils.formatdate(now, usegmt=True))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def any(self):
        global refused
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.time() + args.offset
        if self.path == "/custody-test/refused":
            self.answer(200, [("Content-Type", "application/json")], json.dumps(refused).encode(), now)
            return
        signed_at = amz_time(self.headers.get("X-Amz-Date"))
        if signed_at is None or abs(signed_at - now) > 300:
            with lock:
                refused += 1
            stamp = lambda t: time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
            message = (
                f"Signature expired: {self.headers.get('X-Amz-Date')} is now earlier than "
                f"{stamp(now - 300)} ({stamp(now)} - 5 min.)"
            )
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "InvalidSignatureException"),
                       ("x-amzn-RequestId", "clock-check-proxy")]
            self.answer(403, headers, json.dumps({"message": message}).encode(), now)
            return
        upstream = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        self.answer(response.status, kept, data, now)

    do_GET = do_PUT = do_POST = do_DELETE = any


ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()

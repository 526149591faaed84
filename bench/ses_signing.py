"""Amazon SES: a SigV4-signed request built by the send side, or boto3's ``sesv2`` client?

Run ``.venv/bin/python bench/ses_signing.py``. It measures, each in a fresh interpreter, the
import and set-up cost of both (botocore's signer alone; ``import boto3`` and a ``sesv2``
client) and the peak memory; then, against the local fake SES (which checks every signature
with botocore), the cost of preparing and signing one SendEmail request, and of a call through
emailhook's HTTP transport against a call of boto3's client (its retries off, as the outbox
needs). The choice and its reasons: ``src/emailhook/providers/amazon_ses/send.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CALLS = 300
PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
SETUPS = {
    "botocore's signer": "import botocore.auth, botocore.awsrequest, botocore.credentials",
    "boto3 sesv2 client": (
        "import boto3; boto3.client('sesv2', region_name='eu-west-1',"
        " aws_access_key_id='a', aws_secret_access_key='b')"
    ),
}


def _setup(code: str) -> tuple[float, float]:
    """Return the best of three (seconds, peak MB) of ``code`` in a fresh interpreter."""
    runs = []
    for _ in range(3):
        timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
        out = subprocess.run(
            [sys.executable, "-c", f"{timed}\n{PEAK}"], capture_output=True, text=True, check=True
        ).stdout.split()
        runs.append((float(out[0]), int(out[1]) / 1024))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    # first, while this process is small: a forked child's peak memory counts its parent's
    for name, code in SETUPS.items():
        seconds, peak = _setup(code)
        print(f"{name}: {seconds * 1000:.0f} ms to import and set up, {peak:.0f} MB peak")
    _calls()


def _calls() -> None:
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "src")]
    import boto3
    import botocore.config

    from emailhook.adapters.http_send import HttpSender
    from emailhook.domain.sending.message import OutgoingMessage, Recipient
    from emailhook.providers.amazon_ses.send import AmazonSESSend
    from emailhook.providers.sending import SendConfig
    from support.fake_senders import FakeAmazonSES

    messages = [
        OutgoingMessage(f"m{n}", "shop@example.com", Recipient(f"r{n}@example.com"), "Hi", "Hey")
        for n in range(CALLS)
    ]
    with FakeAmazonSES(access_key="AKIDBENCH", secret_key="s", region="eu-west-1") as fake:
        side, sender = AmazonSESSend(), HttpSender(5.0)
        config = SendConfig(
            fake.url, "s", extra={"region": "eu-west-1", "access_key_id": "AKIDBENCH"}
        )
        started = time.perf_counter()
        for message in messages:
            side.prepare([message], config)
        signing = (time.perf_counter() - started) / CALLS
        started = time.perf_counter()
        for message in messages:
            assert sender(side.prepare([message], config)).status == 200
        ours = (time.perf_counter() - started) / CALLS
        sender.close()
        client = boto3.client(
            "sesv2",
            region_name="eu-west-1",
            endpoint_url=fake.url,
            aws_access_key_id="AKIDBENCH",
            aws_secret_access_key="s",
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
        )
        started = time.perf_counter()
        for message in messages:
            client.send_email(
                FromEmailAddress=message.from_email,
                Destination={"ToAddresses": [message.to.email]},
                Content={
                    "Simple": {
                        "Subject": {"Data": "Hi", "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": "Hey", "Charset": "UTF-8"}},
                    }
                },
                EmailTags=[{"Name": "emailhook_id", "Value": message.public_id}],
            )
        theirs = (time.perf_counter() - started) / CALLS
    print(f"prepare and sign one SendEmail: {signing * 1e6:.0f} us")
    print(
        f"a call, emailhook's HTTP transport: {ours * 1000:.2f} ms; boto3: {theirs * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()

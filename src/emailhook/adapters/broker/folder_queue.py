"""The embedded default's queue: kombu's folder transport, with messages written atomically.

kombu's ``filesystem://`` writes a message straight into the folder that consumers list; a
consumer can pick a file up before its writer has finished, read nothing, and stop the worker
with a JSONDecodeError (seen under load in the fault suite). Here each message is written to a
sibling folder first and renamed into place: a consumer sees a whole message or none.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

#: where messages are written before they are renamed into the queue folder
STAGING = "staging"


class Channel(filesystem.Channel):
    # (kombu declares _put twice, with different signatures: this one is the folder transport's)
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # The file name kombu's consumer expects: time first, so that listing keeps order.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        staging = folder.parent / STAGING
        staging.mkdir(exist_ok=True)
        staged = staging / name
        try:
            with staged.open("wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(staged, folder / name)  # atomic on one file system
        except OSError as error:
            staged.unlink(missing_ok=True)
            raise ChannelError(f"cannot add a message to {folder}") from error


class Transport(filesystem.Transport):
    Channel = Channel

"""`hotline worker`: one stream worker process. Run several (processes or machines) with the same
settings to share the raw topic's partitions; see README "Scale-out"."""
from __future__ import annotations

import logging
import sys

from streams.settings import Settings

log = logging.getLogger("hotline.worker")


def run_worker(settings: Settings, model: str | None = None) -> int:
    from faust.worker import Worker

    from agents.app import make_app
    from streams.adapters.kafka import ensure_topics
    from streams.text.items import load_classifier

    if settings.uses_dev_secret:
        print("hotline worker: WARNING: HOTLINE_CALLER_HASH_KEY is not set; caller hashes use the public "
              "development key and can be reversed by enumerating phone numbers", file=sys.stderr)
    ensure_topics(settings)
    predictor = load_classifier(model or settings.item_model)
    predictor.predict(["预热"])  # load jieba and the model before joining the group, not during a batch
    app = make_app(settings, predictor)
    worker = Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
    return 0

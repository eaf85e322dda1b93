"""CoMNIST collector: HTTP handlers for drawings, contributors and stats, and the S3-event handler.

Handlers stay thin: they parse the request, call a plain function in ``chalicelib`` and turn
:class:`ApiError` into a JSON answer ``{"error": message}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Rate, Response
from chalice.app import CloudWatchEvent, S3Event, SQSEvent

from chalicelib import config, events, intake, origin, stats
from chalicelib.stage import (
    drawings_bucket_name,
    refit_rate_hours,
    rescore_queue_name,
    sweep_rate_hours,
)
from chalicelib.storage import StorageUnavailable
from chalicelib.validation import (
    ApiError,
    parse_json_object,
    validate_contributor,
    validate_drawing,
)

app = Chalice(app_name="comnist-collector")
app.log.setLevel(logging.INFO)
# The API takes and gives JSON only. Chalice counts application/octet-stream as binary and
# `chalice deploy` refuses a route whose content types differ in binary support, so no type is
# binary here: an octet-stream body reaches the handler, which refuses it with its own message.
app.api.binary_types = []

# Every content type reaches the handler, which refuses all but JSON with its own clear message.
ANY_CONTENT_TYPE = [
    "application/json",
    "text/plain",
    "text/html",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/octet-stream",
]
# Chalice's own refusals, worded as the handlers word theirs.
CHALICE_REFUSALS = {
    "UnsupportedMediaType": "Content-Type must be application/json",
    "MethodNotAllowedError": "this method is not allowed on this route",
}
STATS_MAX_AGE = 30
# A scheduled run stops sending rescore batches this long before Lambda's limit; the next resumes.
SAFETY_MARGIN_MS = 60_000
# The late count runs first, for at most this long: it is never starved by the refit, and never
# starves it (a refit of 1,000 drawings a letter takes under half of the 900 s).
COUNT_BUDGET_MS = 120_000
# The refit decodes the drawings its sample cache lacks for at most this long, then fits: a
# sample too large to decode in one run is decoded over several, and fitted by the run that
# finishes it. A refit from nothing at 1,000 drawings a letter (59,000), decoding included,
# takes about 7.2 minutes on the function's 1.7 vCPU (modelled from 369 s on two CPUs,
# benchmarks/scheduled_loop_bench.py), so it fits one run beside the late count.
DECODE_BUDGET_MS = 240_000
# Rescore invocations running at once, at most: the event source mapping's maximum concurrency.
RESCORE_CONCURRENCY = 20


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def answer(handler: Callable[[], tuple[int, Any]]) -> Response:
    """Run ``handler`` and render its ``(status, body)`` or its :class:`ApiError` as JSON."""
    try:
        status, body = handler()
    except ApiError as error:
        return json_response(error.status, {"error": error.message}, error.headers)
    return json_response(status, body)


def json_body() -> dict[str, Any]:
    request = app.current_request
    return parse_json_object(request.raw_body, request.headers.get("content-type"))


@app.middleware("http")
def one_refusal_form(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Refusals that Chalice makes itself (a 415, a 405) in the API's form ``{"error": ...}``."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        message = CHALICE_REFUSALS.get(str(body["Code"]), str(body["Message"]))
        response.body = json.dumps({"error": message}, ensure_ascii=False)
        response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


@app.middleware("http")
def only_through_cloudfront(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """A stage with an origin secret answers only what its CloudFront distribution forwards."""
    if origin.refused(event.headers or {}, config.origin_secret()):
        return json_response(403, {"error": "this API answers through the site's address only"})
    return get_response(event)


@app.middleware("http")
def allow_site_origins(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """CORS for the configured site origins only."""
    response = get_response(event)
    origin = (event.headers or {}).get("origin")
    if origin and origin.rstrip("/") in config.allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        # The site backs off by the collector's Retry-After; a cross-origin page may only read it if exposed.
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


@app.route("/drawings", methods=["OPTIONS"])
@app.route("/contributors", methods=["OPTIONS"])
def preflight() -> Response:
    origin = app.current_request.headers.get("origin", "")
    if origin.rstrip("/") not in config.allowed_origins():
        return json_response(403, {"error": "this origin may not call the CoMNIST API"})
    return Response(
        body="",
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


@app.route("/drawings", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_drawing() -> Response:
    def handle() -> tuple[int, Any]:
        drawing = validate_drawing(json_body())
        country = origin.viewer_country(app.current_request.headers, config.origin_secret())
        return intake.submit_drawing(
            config.drawings_store(), drawing, country=country, per_hour=config.session_cap()
        )

    return answer(handle)


@app.route("/contributors", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_contributor() -> Response:
    def handle() -> tuple[int, Any]:
        contributor = validate_contributor(json_body())
        return intake.submit_contributor(config.contributors_store(), contributor)

    return answer(handle)


@app.route("/stats", methods=["GET"])
def get_stats() -> Response:
    try:
        body = stats.public_stats(config.drawings_store(), config.community_goal())
    except StorageUnavailable:
        error = intake.unavailable()
        return json_response(error.status, {"error": error.message}, error.headers)
    return json_response(200, body, {"Cache-Control": f"public, max-age={STATS_MAX_AGE}"})


@app.on_s3_event(
    bucket=drawings_bucket_name(), events=["s3:ObjectCreated:*"], prefix="drawings/", suffix=".png"
)
def on_new_drawing(event: S3Event) -> dict[str, Any]:
    """Score and tag each new drawing PNG."""
    result = events.process_new_drawing(config.drawings_store(), event.key)
    app.log.info("tagged %s", json.dumps(result, ensure_ascii=False))
    return result


@app.schedule(Rate(refit_rate_hours(), unit=Rate.HOURS))
def refit_and_rescore(event: CloudWatchEvent) -> dict[str, Any]:
    """Count drawings left uncounted, refit what changed, send the rescore out to the queue."""
    from chalicelib import queues, sanitizing

    # The event's own context: a scheduled function's app never sees a request, so it has none.
    context = event.context

    def remaining_ms() -> float:
        return context.get_remaining_time_in_millis() if context is not None else float("inf")

    started = remaining_ms()
    store = config.drawings_store()
    recounted = stats.count_uncounted(
        store, intake.utc_now(), lambda: started - remaining_ms() > COUNT_BUDGET_MS
    )
    stats.rebuild_summary(store)
    refit_started = remaining_ms()
    outcome = sanitizing.refit_outcome(
        store, should_stop=lambda: refit_started - remaining_ms() > DECODE_BUDGET_MS
    )
    sent = sanitizing.enqueue_rescore(
        store, queues.rescore_sender(store), should_stop=lambda: remaining_ms() < SAFETY_MARGIN_MS
    )
    version = outcome.model.version if outcome.model is not None else None
    if not outcome.complete:
        refit = f"unchanged, {outcome.decoded} drawings decoded for the next refit"
    elif outcome.refitted:
        refit = f"refitted {', '.join(outcome.refitted)}"
    else:
        refit = "unchanged"
    app.log.info(
        "model %s (%s), %d counted late, rescore %s",
        version or "none",
        refit,
        recounted,
        json.dumps(sent),
    )
    return {
        "model": version,
        "refitted": outcome.refitted,
        "refit_complete": outcome.complete,
        "rescore": sent,
        "counted_late": recounted,
    }


@app.on_sqs_message(
    queue=rescore_queue_name(), batch_size=1, maximum_concurrency=RESCORE_CONCURRENCY
)
def rescore_drawings(event: SQSEvent) -> dict[str, int]:
    """Re-tag one batch of drawings with the model in force (sent by ``refit_and_rescore``)."""
    from chalicelib import sanitizing

    counts: dict[str, int] = {}
    for record in event:
        for status, n in sanitizing.rescore_batch(
            config.drawings_store(), json.loads(record.body)
        ).items():
            counts[status] = counts.get(status, 0) + n
    app.log.info("rescored %s", json.dumps(counts))
    return counts


@app.schedule(Rate(sweep_rate_hours(), unit=Rate.HOURS))
def sweep_orphans(event: CloudWatchEvent) -> dict[str, Any]:
    """Remove the claims and records that failed or abandoned uploads left without a drawing."""
    from chalicelib import sweep

    context = event.context

    def should_stop() -> bool:
        return context is not None and context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS

    removed = sweep.sweep_orphans(config.drawings_store(), should_stop=should_stop)
    app.log.info("swept %s", json.dumps(removed))
    return removed

"""One request's life as a generation job: a validated `decide`/`generate` request becomes an
engine request (`make_job`), and the trace it produced becomes its terminal event
(`final_event`, or `refusal` when the engine would not take it)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from npc_brain.npc.decision import DecisionPlan, plan_decision
from npc_brain.nrm.engine import GenRequest
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.nrm.trace import Answer, TraceError, TraceParser, prompt_ids
from npc_brain.sidecar.front_door import Envelope
from npc_brain.sidecar.protocol import (
    AnswerEvent,
    DecideRequest,
    DecisionEvent,
    ErrorCode,
    Event,
    GenerateRequest,
    ProtocolError,
    error_event,
)


@dataclass
class Job:
    """One accepted decide/generate request from receipt to its terminal event."""

    envelope: Envelope
    request_id: int | str
    gen: GenRequest
    received: float  # time.perf_counter() when the server read the request
    plan: DecisionPlan | None = None  # decide only
    parser: TraceParser = field(default_factory=TraceParser)
    clamped: bool = False  # max_tokens was cut to fit the model's context
    handle: int | None = None
    tokens: int = 0
    text: list[str] = field(default_factory=list)

    @property
    def client(self) -> bytes:
        return self.envelope[0]

    def latency_ms(self) -> float:
        return round((time.perf_counter() - self.received) * 1000.0, 3)


def make_job(
    request: DecideRequest | GenerateRequest,
    tok: Tokenizer,
    max_len: int,
    envelope: Envelope,
    received: float,
) -> Job:
    """Turn a validated request into a generation job; semantic problems are ProtocolErrors."""
    rid = request.id
    plan = key = None
    if isinstance(request, DecideRequest):
        # An NPC thinking again mostly repeats its prompt (npc_brain.nrm.prefix_cache).
        key = f"{b''.join(envelope[:1]).hex()}/{request.npc.id}"
        try:
            plan = plan_decision(request.npc, list(request.actions), dict(request.aliases))
        except ValueError as exc:
            raise ProtocolError(ErrorCode.INVALID_FIELD, f"actions: {exc}", rid) from None
    ids = prompt_ids(tok, plan.prompt if plan else request.prompt)
    if len(ids) >= max_len:
        raise ProtocolError(
            ErrorCode.PROMPT_TOO_LONG,
            f"the prompt is {len(ids)} tokens; the model's context is {max_len}",
            rid,
        )
    # Clamped so the format constraint closes the answer before the context ends.
    budget = min(request.max_tokens, max_len - len(ids))
    gen = GenRequest(
        prompt_ids=ids,
        max_new_tokens=budget,
        temperature=request.temperature,
        top_k=request.top_k,
        seed=request.seed,
        answer_options=plan.options if plan else None,
        enforce_format=True,
        max_steps=request.max_steps,
        thought_rules=plan.rules if plan else None,
        prefix_key=key,
    )
    return Job(envelope, rid, gen, received, plan, clamped=budget < request.max_tokens)


def final_event(job: Job, reason: str | None) -> Event:
    """The terminal event of a job whose generation ended: its decision, answer or error."""
    result = job.parser.result
    raw = "".join(job.text)
    rid = job.request_id
    if not isinstance(result, Answer):
        detail = result.message if isinstance(result, TraceError) else "no answer"
        return error_event(
            ErrorCode.NO_ANSWER, f"generation ended ({reason or 'stopped'}): {detail}", rid
        )
    steps = list(result.steps)
    if job.plan is None:
        return AnswerEvent(
            id=rid,
            text=result.text,
            steps=steps,
            raw=raw,
            tokens=job.tokens,
            latency_ms=job.latency_ms(),
        )
    try:
        action, target = job.plan.read(result.text)
    except ValueError as exc:
        return error_event(ErrorCode.NO_ANSWER, str(exc), rid)
    return DecisionEvent(
        id=rid,
        action=action,
        target=target,
        steps=steps,
        raw=result.text,
        tokens=job.tokens,
        latency_ms=job.latency_ms(),
    )


def refusal(job: Job, reason: str) -> Event:
    """The error for a job the engine would not take (its token budget cannot fit a trace)."""
    if job.clamped:
        prompt = len(job.gen.prompt_ids)
        message = f"the prompt ({prompt} tokens) leaves too little of the model's context to answer"
        return error_event(ErrorCode.PROMPT_TOO_LONG, message, job.request_id)
    return error_event(ErrorCode.INVALID_FIELD, f"max_tokens: {reason}", job.request_id)

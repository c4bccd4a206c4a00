"""SMS rendering of engine messages, and GSM-7 length accounting for SMS budgets."""

from __future__ import annotations

from ureport.channels.segments import sms_segments
from ureport.flows.model import Ask, Flow, SendMsgAction
from ureport.flows.session import MsgOut, Prompt

SMS_SINGLE_GSM7 = 160


def render_sms(msg: MsgOut) -> str:
    """The SMS text of a message: a question with choices gets one numbered line per choice."""
    if msg.prompt is None or not msg.prompt.choices:
        return msg.text
    lines = [msg.text, *(f"{number}. {label}" for number, label in enumerate(msg.prompt.choices, 1))]
    return "\n".join(lines)


def gsm7_length(text: str) -> int | None:
    """Septets the text takes in GSM-7, or None when it needs UCS-2 (70 characters per SMS)."""
    segments = sms_segments(text)
    return segments.units if segments.encoding == "GSM-7" else None


def every_sms(flow: Flow, language: str) -> list[str]:
    """Every SMS the flow can send in a language: messages, questions, and questions with their hint."""
    out: list[str] = [flow.text(texts, language) for texts in flow.messages.values()]
    for node in flow.nodes.values():
        out += [flow.text(a.text, language) for a in node.actions if isinstance(a, SendMsgAction)]
        if isinstance(node.router, Ask):
            question = node.router.question
            labels = tuple(flow.text(c.label, language) for c in question.categories)
            asked = flow.text(question.text, language)
            hint = flow.text(question.hint, language)
            for retry in (False, True):
                prompt = Prompt(
                    node_id=question.node_id,
                    type=question.type,
                    question="",
                    choices=labels,
                    hint=hint,
                    retry=retry,
                )
                text = f"{hint}\n{asked}" if retry and hint else asked
                out.append(render_sms(MsgOut(text=text, prompt=prompt)))
    return out


def long_messages(flow: Flow) -> list[str]:
    """One line per SMS of the flow that takes more than one part, for poll authors to shorten."""
    notes = []
    for language in flow.languages:
        for text in dict.fromkeys(every_sms(flow, language)):
            segments = sms_segments(text)
            if segments.parts > 1:
                first_line = text.split("\n", 1)[0][:50]
                notes.append(f"{language}: {segments.parts} SMS parts ({segments.encoding}): {first_line!r}")
    return notes

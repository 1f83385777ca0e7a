"""Token estimates for when no tokenizer is at hand (nothing downloads at run time).

About four characters a token for English text, as OpenAI documents, plus the per-message framing
their chat format adds. Estimates are used for admission and for cancelled streams, and are marked
as estimates wherever they are recorded.
"""

from __future__ import annotations

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3


def tokens_for_chars(chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def estimate_prompt_tokens(chars: int, messages: int) -> int:
    return tokens_for_chars(chars) + TOKENS_PER_MESSAGE * messages + TOKENS_PER_REPLY

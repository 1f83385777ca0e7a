"""Translation between the OpenAI Chat Completions and Anthropic Messages wire formats, both ways."""

from domain.anthropic.errors import TranslationError, UpstreamStreamError
from domain.anthropic.inbound_request import anthropic_request_to_openai
from domain.anthropic.inbound_response import openai_response_to_anthropic
from domain.anthropic.inbound_stream import OpenAIToAnthropicStream
from domain.anthropic.outbound_request import openai_request_to_anthropic
from domain.anthropic.outbound_response import anthropic_response_to_openai
from domain.anthropic.outbound_stream import AnthropicToOpenAIStream

__all__ = [
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "TranslationError",
    "UpstreamStreamError",
    "anthropic_request_to_openai",
    "anthropic_response_to_openai",
    "openai_request_to_anthropic",
    "openai_response_to_anthropic",
]

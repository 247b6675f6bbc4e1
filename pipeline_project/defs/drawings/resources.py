"""The drawings domain's resource: the summarizer (an interface; local and deterministic by default).

DRAWINGS_SUMMARIZER    local (default) | openai: an LLM behind any OpenAI-compatible chat-completions
                       endpoint (a hosted API, vLLM, llama.cpp's server, Ollama's /v1 ...)
DRAWINGS_LLM_URL       e.g. http://127.0.0.1:8000/v1 (the endpoint's base URL)
DRAWINGS_LLM_MODEL     the model name the endpoint expects
DRAWINGS_LLM_API_KEY_ENV  the name of the environment variable holding the key (default OPENAI_API_KEY)

The LLM sees only the facts (regions, places, text removed/added) and writes the words; when it
fails or times out the page keeps the local summary, marked as such, so a summary is never lost.
To plug in another summarizer, subclass DrawingSummarizer and override `summarize`.
"""

from __future__ import annotations

import json
import os

import dagster as dg

from pipeline_project.defs.drawings.summary import LocalSummarizer, PageFacts, Summary
from pipeline_project.lib.settings import env_float, env_str

PROMPT = ("You summarise changes between two revisions of one construction drawing sheet for a reviewer. "
          "From the JSON facts, write a one-line headline (start with the sheet id), then one line per "
          "change starting with '- '. Mention the place on the sheet and quote changed text exactly. "
          "Do not invent changes.")


class DrawingSummarizer(dg.ConfigurableResource):
    """Turns a page's change facts into a headline and lines."""

    engine: str = "local"
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key_env: str = "OPENAI_API_KEY"
    timeout_seconds: float = 60.0

    @classmethod
    def from_env(cls) -> "DrawingSummarizer":
        return cls(engine=env_str("DRAWINGS_SUMMARIZER", "local"), llm_url=env_str("DRAWINGS_LLM_URL", ""),
                   llm_model=env_str("DRAWINGS_LLM_MODEL", ""),
                   llm_api_key_env=env_str("DRAWINGS_LLM_API_KEY_ENV", "OPENAI_API_KEY"),
                   timeout_seconds=env_float("DRAWINGS_LLM_TIMEOUT", 60.0))

    @property
    def name(self) -> str:
        return self.engine

    def summarize(self, facts: PageFacts) -> Summary:
        local = LocalSummarizer().summarize(facts)
        if self.engine == "local" or facts.change_type != "compared" or not facts.regions:
            return local
        if self.engine != "openai":
            raise ValueError(f"unknown DRAWINGS_SUMMARIZER {self.engine!r}: use 'local' or 'openai'")
        try:
            text = self._ask_llm(facts)
        except Exception as exc:  # the endpoint is down, slow or answers nonsense: keep the local words
            return Summary(local.headline, local.text, f"local (LLM unavailable: {type(exc).__name__})")
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return Summary(lines[0], "\n".join(lines), f"openai:{self.llm_model}")

    def _ask_llm(self, facts: PageFacts) -> str:
        import httpx

        if not self.llm_url:
            raise ValueError("DRAWINGS_LLM_URL is not set")
        key = os.environ.get(self.llm_api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        body = {"model": self.llm_model, "temperature": 0,
                "messages": [{"role": "system", "content": PROMPT},
                             {"role": "user", "content": json.dumps(facts.as_dict())}]}
        reply = httpx.post(self.llm_url.rstrip("/") + "/chat/completions", json=body, headers=headers,
                           timeout=self.timeout_seconds)
        reply.raise_for_status()
        content = reply.json()["choices"][0]["message"]["content"]
        if not isinstance(content, str) or not content.strip():
            raise ValueError("empty answer")
        return content


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"drawing_summarizer": DrawingSummarizer.from_env()})

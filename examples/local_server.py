"""A model on a local OpenAI-compatible server: vLLM, llama.cpp's server, Ollama, LM Studio...

Point ``LiteLLMModel`` at the server with the ``openai/`` prefix and ``api_base``::

    LiteLLMModel("openai/qwen2.5-coder", api_base="http://127.0.0.1:8000/v1")   # vLLM
    LiteLLMModel("ollama/qwen2.5-coder")                                        # Ollama's own API

Live: ``CODEACT_API_BASE=http://127.0.0.1:8000/v1 CODEACT_MODEL=openai/<name>``. Offline, this
example starts a tiny OpenAI-compatible server of its own on 127.0.0.1 that answers with saved
replies, so the whole HTTP path (LiteLLM, retries, token usage) runs for real.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from codeact import CodeAgent, LiteLLMModel

REPLIES = json.loads((Path(__file__).parent / "runs" / "local_server.json").read_text())


class ReplayServer(BaseHTTPRequestHandler):
    """Answers ``POST /v1/chat/completions`` with the next saved reply, in OpenAI's format."""

    replies = iter(REPLIES["model_outputs"])

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        message = {"role": "assistant", "content": next(self.replies)}
        body = json.dumps(
            {
                "id": "chatcmpl-local",
                "object": "chat.completion",
                "created": 0,
                "model": "local-model",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    api_base, model_id = os.environ.get("CODEACT_API_BASE"), os.environ.get("CODEACT_MODEL")
    server = None
    if not (api_base and model_id):
        server = ThreadingHTTPServer(("127.0.0.1", 0), ReplayServer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        api_base, model_id = f"http://127.0.0.1:{server.server_port}/v1", "openai/local-model"
        print(f"No CODEACT_API_BASE/CODEACT_MODEL: serving saved replies at {api_base}.")
    with CodeAgent(LiteLLMModel(model_id, api_base=api_base), sandbox="local") as agent:
        result = agent.run("What is the sum of the squares of 1 to 10?")
    print(result)
    if server is not None:
        server.shutdown()


if __name__ == "__main__":
    main()

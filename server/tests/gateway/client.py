"""One request through the gateway with the official OpenAI Python client.

Run by server/tests/integration/gateway.rs with the venv's python (scripts/setup.sh --test).
Everything comes from the environment, never the command line (the key is a secret):
  GDL_BASE_URL  the deployment's base URL (http://127.0.0.1:PORT/serve/ID/v1)
  GDL_KEY       a deployment key
  GDL_CASE      chat_stream | completion | models
Prints one JSON line: {"ok": true, ...} with what came back, or {"ok": false, "error":
the exception's class, "status", "code", "type", "message"} when the client raised.
"""

import json
import os
import sys

import openai


def run(client: openai.OpenAI, case: str) -> dict:
    if case == "chat_stream":
        stream = client.chat.completions.create(
            model="any",
            messages=[{"role": "user", "content": "Say hello"}],
            max_tokens=12,
            stream=True,
            stream_options={"include_usage": True},
        )
        text, chunks, usage = "", 0, None
        for chunk in stream:
            chunks += 1
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            if chunk.usage is not None:
                usage = chunk.usage.model_dump()
        return {"ok": True, "text": text, "chunks": chunks, "usage": usage}
    if case == "completion":
        answer = client.completions.create(
            model="any", prompt="Once upon a time", max_tokens=8
        )
        return {
            "ok": True,
            "text": answer.choices[0].text,
            "finish_reason": answer.choices[0].finish_reason,
            "usage": answer.usage.model_dump() if answer.usage else None,
        }
    if case == "models":
        return {"ok": True, "models": [m.id for m in client.models.list()]}
    raise SystemExit(f"unknown GDL_CASE {case!r}")


def main() -> None:
    client = openai.OpenAI(
        base_url=os.environ["GDL_BASE_URL"],
        api_key=os.environ["GDL_KEY"],
        max_retries=0,
        timeout=60,
    )
    try:
        result = run(client, os.environ["GDL_CASE"])
    except openai.APIStatusError as e:
        result = {
            "ok": False,
            "error": type(e).__name__,
            "status": e.status_code,
            "code": e.code,
            "type": e.type,
            "message": e.message,
        }
    except openai.APIError as e:
        result = {
            "ok": False,
            "error": type(e).__name__,
            "status": None,
            "code": e.code,
            "type": e.type,
            "message": e.message,
        }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()

"""charlm serve's machinery (charlm.api.serve starts it):
batch.py       continuous batching: Stream, Engine (one thread per model)
completion.py  one completion request: its streams, whole or streamed
protocol.py    OpenAI's completions dialect: requests checked, answers shaped
app.py         the Starlette application: routes, the API key, limits, errors
page.html      the writing page
"""

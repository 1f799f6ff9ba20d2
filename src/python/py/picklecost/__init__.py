"""The Python side of picklecost, run inside the site's own interpreter.

- `generators`: one adapter per generator (detect, load a stage, pages, payloads, render one
  page) and `--loader module:function` as one more adapter;
- `payloads`: the generic per-page payload (a plain view of selected page attributes);
- `walk`, `attribution`, `explain`: why a payload is big or unpicklable;
- `transports`: a thread, sub-interpreters and processes carrying payloads;
- `env`: facts about the running interpreter.

Embedded in the binary, these modules are served from memory by a meta-path finder (nothing is
read from or written to disk); in the tests they are imported from `src/python/py`.
"""

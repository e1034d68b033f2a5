"""Execute a notebook with nbclient (ipykernel) and render the executed copy as a Markdown page.

    python docs/notebooks/run_notebook.py NOTEBOOK EXECUTED_COPY [MARKDOWN_PAGE]

Fails (exit 1) on the first cell that raises, printing the cell's error. The Markdown page (for the
documentation site) holds the markdown cells, the code, the text outputs and the PNG figures as
data URIs; links written relative to the notebook's folder (``../x.md``) are made relative to the
docs root, where the page is written.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

TIMEOUT_S = 300   # per cell


def execute(source: Path, executed: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(notebook, timeout=TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(source.parent)}})
    client.execute()
    executed.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, executed)
    return notebook


def _text_output(output) -> str | None:
    if output.output_type == "stream":
        return output.text if output.name == "stdout" else None   # warnings stay in the executed notebook
    if output.output_type in ("execute_result", "display_data") and "image/png" not in output.get("data", {}):
        return output.get("data", {}).get("text/plain")
    return None


def to_markdown(notebook: nbformat.NotebookNode, source_name: str) -> str:
    lines = [f"<!-- generated from docs/notebooks/{source_name} by docs/notebooks/run_notebook.py -->", ""]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            lines += [cell.source.replace("](../", "]("), ""]
            continue
        if cell.cell_type != "code":
            continue
        lines += ["```python", cell.source, "```", ""]
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png") if "data" in output else None
            if png:
                lines += [f"![figure](data:image/png;base64,{png.replace(chr(10), '')})", ""]
                continue
            text = _text_output(output)
            if text:
                lines += ["```text", text.rstrip("\n"), "```", ""]
    lines += [f"The notebook itself: [{source_name}](notebooks/{source_name}).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    source, executed = Path(argv[0]), Path(argv[1])
    start = time.perf_counter()
    try:
        notebook = execute(source, executed)
    except CellExecutionError as error:
        print(f"{source}: a cell failed:\n{error}", file=sys.stderr)
        return 1
    print(f"executed {source} in {time.perf_counter() - start:.1f} s -> {executed}")
    if len(argv) == 3:
        Path(argv[2]).write_text(to_markdown(notebook, source.name), encoding="utf-8")
        print(f"wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

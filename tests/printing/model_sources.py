"""Every model the printer must handle: models/*.vmp and the code blocks of
the language contract (LANGUAGE.md), found afresh on each run so that models
added by others are covered once merged."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LANGUAGE = [ROOT.parent.parent / "shared" / "LANGUAGE.md", ROOT / "shared" / "LANGUAGE.md",
            Path("/work/shared/LANGUAGE.md")]


def language_blocks() -> list:
    """(id, source) of every ``` block of LANGUAGE.md that is a model."""
    path = next((p for p in LANGUAGE if p.exists()), None)
    if path is None:
        return []
    blocks, current, inside = [], [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if inside:
                blocks.append("\n".join(current) + "\n")
            inside, current = not inside, []
            continue
        current.append(line)
    out = []
    for i, text in enumerate(blocks):
        name = re.search(r"^model (\w+)", text, re.M)
        if name and "~" in text:
            out.append((f"LANGUAGE.md:{name.group(1)}", text))
    return out


def model_files() -> list:
    return [(f"models/{p.stem}", p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "models").glob("*.vmp"))]


def all_models() -> list:
    return model_files() + language_blocks()

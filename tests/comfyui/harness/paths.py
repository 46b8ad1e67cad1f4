"""Where the checkout under test keeps what the real-ComfyUI tests read."""
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[3]
CANVAS_DIR = PACKAGE_ROOT / "example_workflows"
API_DIR = CANVAS_DIR / "api"
SHIPPED_NAMES = sorted(p.stem for p in API_DIR.glob("*.json"))

"""Where the repository and its test data are, for tests at any depth of tests/."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTENT = REPO_ROOT / "content"
TEST_DATA = REPO_ROOT / "tests" / "data"

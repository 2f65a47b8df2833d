"""`programme create FOLDER` copies a folder from outside as data: no links, no special files,
bounded sizes, and an all-or-nothing copy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from handlers.programmes import folder as programme_folder
from handlers.programmes.folder import FolderError, check_folder, copy_folder, export, install
from storage.models import Programme
from tests.stories.test_cli import peerbot
from tests.unit.features.test_programmes import ROOT, nordic_folder


@pytest.fixture
def content(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(ROOT / "content", copy)
    return copy


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the folder the coordinator was given (think /etc/shadow)."""
    path = tmp_path / "outside" / "shadow"
    path.parent.mkdir()
    path.write_text("root:$6$secret-hash:19000:0:99999:7:::\n", encoding="utf-8")
    return path


def test_a_link_to_a_file_outside_is_refused_and_nothing_is_copied(
    tmp_path: Path, content: Path, secret: Path
) -> None:
    folder = nordic_folder(tmp_path)
    (folder / "notes.txt").symlink_to(secret)
    spec, problems = check_folder(folder, content)
    assert spec is None
    assert problems == [
        f"{folder / 'notes.txt'}: a symbolic link; copy the file itself into the folder"
    ]
    with pytest.raises(FolderError, match="symbolic link"):
        install(folder, content, "nordic")
    assert not (content / "programmes" / "nordic").exists()
    assert "secret-hash" not in "".join(
        p.read_text(errors="ignore") for p in content.rglob("*") if p.is_file()
    )


def test_a_link_to_a_directory_is_refused_and_no_half_folder_is_left(
    tmp_path: Path, content: Path
) -> None:
    big = tmp_path / "elsewhere"
    big.mkdir()
    (big / "data.bin").write_bytes(b"x" * 1000)
    folder = nordic_folder(tmp_path)
    (folder / "faq" / "more").symlink_to(big, target_is_directory=True)
    spec, problems = check_folder(folder, content)
    assert spec is None and problems == [
        f"{folder / 'faq' / 'more'}: a symbolic link; copy the file itself into the folder"
    ]
    with pytest.raises(FolderError):
        install(folder, content, "nordic")
    assert sorted(p.name for p in (content / "programmes").iterdir()) == ["demo"]
    assert not [p for p in content.iterdir() if p.name.startswith(".")]


def test_the_folder_given_may_not_itself_be_a_link(tmp_path: Path, content: Path) -> None:
    folder = nordic_folder(tmp_path)
    link = tmp_path / "via-link"
    link.symlink_to(folder, target_is_directory=True)
    assert check_folder(link, content) == (
        None,
        [f"{link}: a symbolic link; give the folder itself"],
    )


def test_special_files_and_oversized_files_are_refused(
    tmp_path: Path, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = nordic_folder(tmp_path)
    os.mkfifo(folder / "pipe")
    (folder / "huge.md").write_bytes(b"a" * (programme_folder.MAX_FILE_BYTES + 1))
    _, problems = check_folder(folder, content)
    assert problems == [
        f"{folder / 'huge.md'}: {programme_folder.MAX_FILE_BYTES + 1} bytes; a content file may "
        f"have at most {programme_folder.MAX_FILE_BYTES} bytes",
        f"{folder / 'pipe'}: not a regular file (a device, pipe or socket)",
    ]
    (folder / "pipe").unlink()
    (folder / "huge.md").unlink()
    monkeypatch.setattr(programme_folder, "MAX_TOTAL_BYTES", 100)
    _, problems = check_folder(folder, content)
    assert (
        len(problems) == 1
        and "bytes in all; a programme folder may have at most 100" in (problems[0])
    )


def test_a_failed_copy_leaves_the_installed_programme_as_it_was(
    tmp_path: Path, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = nordic_folder(tmp_path)
    target = install(folder, content, "nordic")
    before = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    (folder / "faq" / "second.yaml").write_text("[]\n", encoding="utf-8")
    copied: list[Path] = []
    real = programme_folder._copy_file

    def fail_on_the_third(source: Path, to: Path) -> None:
        if len(copied) == 2:
            raise OSError(28, "No space left on device")
        copied.append(source)
        real(source, to)

    monkeypatch.setattr(programme_folder, "_copy_file", fail_on_the_third)
    with pytest.raises(FolderError, match="No space left on device"):
        install(folder, content, "nordic")
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == before
    assert not [p for p in content.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    install(folder, content, "nordic")  # a copy that works replaces it whole
    assert (target / "faq" / "second.yaml").is_file()


def test_copy_folder_never_follows_a_link_swapped_in_after_the_check(
    tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "notes.txt").write_text("harmless", encoding="utf-8")
    monkeypatch.setattr(programme_folder, "unsafe_entries", lambda _folder: [])
    (folder / "notes.txt").unlink()
    (folder / "notes.txt").symlink_to(secret)  # swapped between the check and the copy
    with pytest.raises(FolderError):
        copy_folder(folder, tmp_path / "dst")
    assert not (tmp_path / "dst").exists()


def test_export_refuses_a_link_in_an_installed_folder(
    tmp_path: Path, content: Path, secret: Path
) -> None:
    folder = nordic_folder(tmp_path)
    target = install(folder, content, "nordic")
    (target / "notes.txt").symlink_to(secret)  # placed on the server by hand
    with pytest.raises(FolderError, match="symbolic link"):
        export(Programme(slug="nordic", name="Nordic cohort"), content, tmp_path / "out")
    assert not (tmp_path / "out" / "notes.txt").exists()


def test_programme_create_explains_the_refusal(
    tmp_path: Path, content: Path, secret: Path, database_url: str
) -> None:
    folder = nordic_folder(tmp_path)
    (folder / "notes.txt").symlink_to(secret)
    env = {
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "PEERBOT_CONTENT_DIR": str(content),
    }
    done = peerbot("programme", "create", str(folder), env=env)
    assert done.returncode == 1
    assert "notes.txt: a symbolic link" in done.stderr and "nothing was created" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (content / "programmes" / "nordic").exists()

